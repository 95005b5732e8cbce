"""A fake Vertex AI REST API (v1 pipelineJobs) on 127.0.0.1, with the two neighbours it needs.

``google-cloud-aiplatform`` submitting a PipelineJob over REST makes three kinds of request, and
this one fake (served by ``fake_kfp.serve``) answers them all, recording each
``(method, path, query, body, headers)``:
the OAuth token exchange of Application Default Credentials (a service-account key file, with
a key made for the test, whose ``token_uri`` points here: google-auth sends it a signed JWT, and
the fake checks the signature), the Cloud Storage lookup of the pipeline root's bucket
(``STORAGE_EMULATOR_HOST`` points here; the bucket exists), and the Vertex calls: create a
pipeline job, then get it, answering the states in ``job_states`` one per get (the last one
repeats). The bucket belongs to project number ``PROJECT_NUMBER``; the Resource Manager lookup
by which aiplatform checks that against the project is a gRPC API not served here, so the tests
replace that one function with ``FakeVertex.project_number``, which records its calls.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass, field
from typing import Any

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from tests.helpers.fake_kfp import Recorded

TOKEN = "ya29.fake-access-token"
PROJECT_NUMBER = "123456789"


@dataclass
class FakeVertex:
    requests: list[Recorded] = field(default_factory=list)
    jobs: dict[str, dict[str, Any]] = field(default_factory=dict)
    job_states: list[str] = field(default_factory=lambda: ["PIPELINE_STATE_SUCCEEDED"])
    project_lookups: list[str] = field(default_factory=list)
    url: str = ""
    key: rsa.RSAPrivateKey = field(
        default_factory=lambda: rsa.generate_private_key(public_exponent=65537, key_size=2048)
    )

    def credentials_file(self, path: str) -> str:
        """Writes a service-account key file (``$GOOGLE_APPLICATION_CREDENTIALS``) for here."""
        pem = self.key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        info = {
            "type": "service_account",
            "project_id": "proj-1",
            "private_key_id": "fake-key",
            "private_key": pem.decode(),
            "client_email": "submitter@proj-1.iam.gserviceaccount.com",
            "client_id": "1",
            "token_uri": f"{self.url}/token",
        }
        with open(path, "w", encoding="utf-8") as stream:
            json.dump(info, stream)
        return path

    def project_number(self, project_id: str, credentials: Any = None) -> str:
        """Stands in for ``resource_manager_utils.get_project_number``: proj-1's number."""
        self.project_lookups.append(project_id)
        if project_id != "proj-1":
            raise LookupError(f"fake Resource Manager: no project {project_id}")
        return PROJECT_NUMBER

    def signed_by_the_key(self, assertion: str) -> dict[str, Any]:
        """The JWT's claims if its RS256 signature is the key's; raises otherwise."""
        header, claims, signature = (
            base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)) for part in assertion.split(".")
        )
        signed = assertion.rsplit(".", 1)[0].encode()
        self.key.public_key().verify(signature, signed, padding.PKCS1v15(), hashes.SHA256())
        return json.loads(claims)

    def answer(self, method: str, path: str, query: dict, body: Any, headers: dict[str, str]):
        self.requests.append(Recorded(method, path, query, body, headers))
        if (method, path) == ("POST", "/token"):
            self.signed_by_the_key(body["assertion"][0])
            return 200, {"access_token": TOKEN, "expires_in": 3600, "token_type": "Bearer"}
        if method == "GET" and path.startswith("/storage/v1/b/"):
            bucket = {"name": path.split("/")[4], "projectNumber": PROJECT_NUMBER}
            return 200, {**bucket, "kind": "storage#bucket"}
        if method == "POST" and path.endswith("/pipelineJobs"):
            name = f"{path.removeprefix('/v1/')}/{query['pipelineJobId'][0]}"
            self.jobs[name] = {**body, "name": name, "state": "PIPELINE_STATE_PENDING"}
            return 200, self.jobs[name]
        name = path.removeprefix("/v1/")
        if method == "GET" and name in self.jobs:
            state = self.job_states.pop(0) if len(self.job_states) > 1 else self.job_states[0]
            self.jobs[name]["state"] = state
            return 200, self.jobs[name]
        return 404, {"error": {"code": 404, "message": f"fake Vertex: no {method} {path}"}}
