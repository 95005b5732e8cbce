"""The rendered readiness probe, run as the kubelet would: ready only while a version is AVAILABLE.

The exec command is taken from ``kubectl kustomize k8s/base`` and run with bash against a server
on 127.0.0.1 (the port swapped for the test's): the development REST server (AVAILABLE) passes,
a status endpoint that answers 200 with a LOADING or END version fails, and so does no server.
"""

import json
import shutil
import socket
import subprocess
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest

from tests.helpers.kustomize import render, serving_container

pytestmark = pytest.mark.skipif(not shutil.which("bash"), reason="the probe is a bash command")


def probe_command(target_port: int) -> list[str]:
    command = serving_container(render("k8s/base"))["readinessProbe"]["exec"]["command"]
    assert "/dev/tcp/127.0.0.1/8501" in command[-1]
    return [*command[:-1], command[-1].replace("/8501", f"/{target_port}")]


def run_probe(target_port: int) -> int:
    return subprocess.run(probe_command(target_port), timeout=10, check=False).returncode


def status_server(state: str) -> HTTPServer:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802
            body = json.dumps(
                {"model_version_status": [{"version": "2", "state": state, "status": {}}]},
                indent=1,
            ).encode()
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = HTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def test_probe_passes_on_an_available_model(port):  # noqa: F811
    assert run_probe(port) == 0


@pytest.mark.parametrize("state", ["LOADING", "UNLOADING", "END"])
def test_probe_fails_while_no_version_is_available(state):
    server = status_server(state)
    try:
        assert run_probe(server.server_address[1]) != 0
    finally:
        server.shutdown()
    assert run_probe_on(state="AVAILABLE") == 0  # the same fake passes once AVAILABLE


def run_probe_on(state: str) -> int:
    server = status_server(state)
    try:
        return run_probe(server.server_address[1])
    finally:
        server.shutdown()


def test_probe_fails_without_a_server():
    with socket.socket() as free:
        free.bind(("127.0.0.1", 0))
        unused = free.getsockname()[1]
    assert run_probe(unused) != 0
