"""GCS publish under faults and concurrency: nothing half-written is left or interleaved.

gcp-storage-emulator (0.x, the one the deploy tests use) ignores generation preconditions, so
``ifGenerationMatch=0`` would pass unchecked there. These tests put a small proxy in front of
it that enforces that one precondition as GCS documents it (the write fails with 412 when the
object exists), atomically (one lock around check and write), and forwards everything else.
"""

import http.client
import json
import re
import threading
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from components.deploy import publish

MODEL = "household_sounds"


def _enforcing_proxy(emulator: str) -> ThreadingHTTPServer:
    upstream = urllib.parse.urlsplit(emulator)
    lock = threading.Lock()

    class Proxy(BaseHTTPRequestHandler):
        def _forward(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            url = urllib.parse.urlsplit(self.path)
            query = urllib.parse.parse_qs(url.query)
            if query.get("ifGenerationMatch") == ["0"]:
                with lock:
                    if self._exists(url.path, body):
                        return self._send(412, b'{"error": {"code": 412}}', {})
                    return self._send(*self._upstream(body))
            return self._send(*self._upstream(body))

        do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = _forward  # noqa: N815

        def _destination(self, path: str, body: bytes) -> tuple[str, str]:
            copy = re.search(r"/copyTo/b/([^/]+)/o/(.+)$", path)
            if copy:
                return copy[1], urllib.parse.unquote(copy[2])
            bucket = re.search(r"/b/([^/]+)/o$", path)[1]
            return bucket, json.loads(re.search(rb"\{.*?\}", body, re.S)[0])["name"]

        def _exists(self, path: str, body: bytes) -> bool:
            bucket, name = self._destination(path, body)
            connection = http.client.HTTPConnection(upstream.hostname, upstream.port, timeout=30)
            connection.request("GET", f"/storage/v1/b/{bucket}/o/{urllib.parse.quote(name, '')}")
            status = connection.getresponse().status
            connection.close()
            return status == 200

        def _upstream(self, body: bytes) -> tuple[int, bytes, dict]:
            connection = http.client.HTTPConnection(upstream.hostname, upstream.port, timeout=30)
            headers = {k: v for k, v in self.headers.items() if k.lower() != "host"}
            connection.request(self.command, self.path, body=body or None, headers=headers)
            response = connection.getresponse()
            data = response.read()
            kept = {
                k: v
                for k, v in response.getheaders()
                if k.lower() not in ("transfer-encoding", "content-length", "connection")
            }
            connection.close()
            return response.status, data, kept

        def _send(self, status: int, data: bytes, headers: dict) -> None:
            self.send_response(status)
            for key, value in headers.items():
                self.send_header(key, value)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Proxy)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


@pytest.fixture
def gcs(gcs_emulator, monkeypatch):  # noqa: F811
    from google.cloud import storage

    proxy = _enforcing_proxy(gcs_emulator)
    monkeypatch.setenv("STORAGE_EMULATOR_HOST", f"http://127.0.0.1:{proxy.server_address[1]}")
    client = storage.Client()
    for blob in client.list_blobs("models"):
        blob.delete()
    yield client
    proxy.shutdown()


@pytest.fixture
def export(tmp_path):
    directory = tmp_path / "export"
    (directory / "variables").mkdir(parents=True)
    (directory / "variables" / "variables.index").write_bytes(b"index")
    (directory / "variables" / "variables.data-00000-of-00001").write_bytes(b"data" * 100)
    (directory / "saved_model.pb").write_bytes(b"graph")
    return str(directory)


def names(client) -> list[str]:
    return sorted(blob.name for blob in client.list_blobs("models"))


def test_the_proxy_enforces_the_precondition(gcs):
    from google.api_core import exceptions

    blob = gcs.bucket("models").blob("x")
    blob.upload_from_string(b"1", if_generation_match=0)
    with pytest.raises(exceptions.PreconditionFailed):
        blob.upload_from_string(b"2", if_generation_match=0)
    assert blob.download_as_bytes() == b"1"


def test_a_deploy_that_loses_the_claim_writes_nothing(gcs, export):
    # Another deploy has claimed version 7 and not copied anything yet: the race window in
    # which a listing of 7/ is still empty.
    claim = gcs.bucket("models").blob(f"serving/{MODEL}/.claim-7")
    claim.upload_from_string(b"", if_generation_match=0)
    with pytest.raises(publish.VersionExistsError, match="being published"):
        publish.publish(export, "gs://models/serving", MODEL, version=7)
    assert names(gcs) == [claim.name]


def test_concurrent_deploys_publish_whole_versions_or_nothing(gcs, export):
    results, errors = [], []

    def deploy():
        try:
            results.append(publish.publish(export, "gs://models/serving", MODEL, version=9))
        except publish.VersionExistsError as error:
            errors.append(error)

    threads = [threading.Thread(target=deploy) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert len(results) + len(errors) == 4 and len(results) >= 1
    version = [n for n in names(gcs) if n.startswith(f"serving/{MODEL}/9/")]
    assert len(version) == 3 and not [n for n in names(gcs) if ".staging-" in n]
    # Exactly one deploy wrote each object: with the claim, only one ever got to copy.
    assert len(results) == 1


def test_a_failure_mid_copy_cleans_up_everything_it_wrote(gcs, export, monkeypatch):
    from google.cloud.storage import Bucket

    copies = []
    real_copy = Bucket.copy_blob

    def copy_then_fail(self, *args, **kwargs):
        copies.append(args)
        if len(copies) == 2:
            raise ConnectionError("network went away")
        return real_copy(self, *args, **kwargs)

    monkeypatch.setattr(Bucket, "copy_blob", copy_then_fail)
    with pytest.raises(ConnectionError):
        publish.publish(export, "gs://models/serving", MODEL, version=11)
    assert names(gcs) == [], "no staging, no partial version, no claim"
    monkeypatch.setattr(Bucket, "copy_blob", real_copy)  # the network is back
    publish.publish(export, "gs://models/serving", MODEL, version=11)  # retry works
    assert len([n for n in names(gcs) if n.startswith(f"serving/{MODEL}/11/")]) == 3
