"""A fake Kubeflow Pipelines REST API (v2beta1) on 127.0.0.1 that records every request.

It answers the endpoints ``kfp.Client`` calls to submit a run or a recurring run: healthz,
experiments list/create, runs create and recurringruns create, and runs get, which answers the
states in ``run_states`` one per call (the last one repeats). Requests are kept as
``(method, path, query, json_body, headers)`` (header names lower-cased) so tests can assert
exactly what would reach a cluster, credentials included.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

FORM = "application/x-www-form-urlencoded"


@dataclass
class Recorded:
    method: str
    path: str
    query: dict[str, list[str]]
    body: Any
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class FakeKfp:
    requests: list[Recorded] = field(default_factory=list)
    experiments: dict[str, dict[str, Any]] = field(default_factory=dict)
    run_states: list[str] = field(default_factory=lambda: ["SUCCEEDED"])
    url: str = ""

    def answer(self, method: str, path: str, query: dict[str, list[str]], body: Any, headers=None):
        self.requests.append(Recorded(method, path, query, body, headers or {}))
        if (method, path) == ("GET", "/apis/v2beta1/healthz"):
            return 200, {"multi_user": False}
        if (method, path) == ("GET", "/apis/v2beta1/experiments"):
            wanted = json.loads(query["filter"][0])["predicates"][0]["stringValue"]
            found = [e for e in self.experiments.values() if e["display_name"] == wanted]
            return 200, {"experiments": found, "total_size": len(found)} if found else {}
        if (method, path) == ("POST", "/apis/v2beta1/experiments"):
            experiment = {**body, "experiment_id": f"exp-{len(self.experiments) + 1}"}
            self.experiments[experiment["experiment_id"]] = experiment
            return 200, experiment
        if (method, path) == ("POST", "/apis/v2beta1/runs"):
            return 200, {**body, "run_id": "run-123", "state": "PENDING"}
        if (method, path) == ("GET", "/apis/v2beta1/runs/run-123"):
            state = self.run_states.pop(0) if len(self.run_states) > 1 else self.run_states[0]
            return 200, {"run_id": "run-123", "display_name": "r", "state": state}
        if (method, path) == ("POST", "/apis/v2beta1/recurringruns"):
            return 200, {**body, "recurring_run_id": "rr-7", "status": "ENABLED"}
        return 404, {"error": f"fake KFP does not implement {method} {path}", "code": 5}


def serve(fake: Any) -> ThreadingHTTPServer:
    """Serves ``fake.answer`` on 127.0.0.1 as JSON and sets ``fake.url`` (this fake and Vertex's).

    A form-encoded body (an OAuth token request) reaches ``answer`` parsed by ``parse_qs``, any
    other body parsed as JSON; header names are lower-cased.
    """

    class Handler(BaseHTTPRequestHandler):
        def _handle(self) -> None:
            parts = urlsplit(self.path)
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            form = self.headers.get("Content-Type", "").startswith(FORM)
            body = (parse_qs(raw.decode()) if form else json.loads(raw)) if raw else None
            headers = {key.lower(): value for key, value in self.headers.items()}
            status, payload = fake.answer(
                self.command, parts.path, parse_qs(parts.query), body, headers
            )
            data = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        do_GET = do_POST = do_DELETE = _handle

        def log_message(self, *args: object) -> None:  # keep pytest output quiet
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    fake.url = f"http://127.0.0.1:{server.server_address[1]}"
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server
