"""A GCS emulator on 127.0.0.1 that Beam, google-cloud-storage and ``tf.io.gfile`` all reach.

``gcp-storage-emulator`` serves the GCS JSON API over plain HTTP. google-cloud-storage (and so
Beam's ``gcsio``, which is built on it) goes there when ``STORAGE_EMULATOR_HOST`` is set.
TensorFlow's GCS file system has no endpoint setting (its hosts ``www.googleapis.com`` and
``storage.googleapis.com`` are compiled in), but its libcurl honours ``HTTPS_PROXY`` and
``CURL_CA_BUNDLE`` and it takes a bearer token from ``GOOGLE_AUTH_TOKEN_FOR_TESTING``. So
``gcs_emulator`` also starts a proxy on 127.0.0.1 that accepts ``CONNECT`` for those two hosts
only, terminates TLS with a certificate from a throw-away CA (the bundle curl is pointed at) and
forwards each request to the emulator. Three emulator gaps are bridged there, visibly: a
zero-byte ``uploadType=media`` upload (TF's directory markers) crashes the emulator, so it is
re-sent as the equivalent one-part ``multipart`` upload; the emulator builds resumable upload
``Location`` URLs from the request's ``Host`` with ``http://``, which are sent back as
``https://`` so curl comes back through the proxy; and it has no ``storageLayout`` endpoint,
which TF asks before a rename (a hierarchical-namespace bucket renames folders natively), so
the proxy answers it as GCS does for a flat bucket. The proxy runs in a process of its own
(``python -m tests.helpers.gcs EMULATOR_PORT FOLDER``): in the test's process, a TensorFlow call
that holds the GIL while curl waits would starve it. Nothing here leaves 127.0.0.1.
"""

import http.client
import json
import re
import socket
import ssl
import subprocess
import sys
import threading
import urllib.parse
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler
from pathlib import Path

from tests.helpers.ports import free_port, wait_until_listening

TF_GCS_HOSTS = ("www.googleapis.com", "storage.googleapis.com")
_HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "content-length", "expect"}


def _certificates(folder: Path) -> tuple[Path, Path, Path]:
    """A CA and a leaf certificate for ``TF_GCS_HOSTS``, valid for a day: (ca, cert, key)."""
    from tests.helpers.tls import make_ca

    ca = make_ca(folder, "gcs")
    leaf = ca.issue(TF_GCS_HOSTS[0], server=True, hosts=TF_GCS_HOSTS)
    return ca.cert, leaf.cert, leaf.key


def _forwarder(emulator_port: int) -> type[BaseHTTPRequestHandler]:
    class Forward(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep the tunnel open between requests, as curl expects

        def _forward(self) -> None:
            body = self._body()
            if re.fullmatch(r"/storage/v1/b/[^/]+/storageLayout", self.path.split("?")[0]):
                return self._reply(200, _storage_layout(self.path.split("/")[4]), {})
            headers = {k: v for k, v in self.headers.items() if k.lower() not in _HOP_BY_HOP}
            path = self.path
            query = urllib.parse.parse_qs(urllib.parse.urlsplit(path).query)
            if self.command == "POST" and query.get("uploadType") == ["media"] and not body:
                path, body, headers["Content-Type"] = _as_multipart(path, query["name"][0])
            upstream = http.client.HTTPConnection("127.0.0.1", emulator_port, timeout=60)
            upstream.request(self.command, path, body=body, headers=headers)
            response = upstream.getresponse()
            data = response.read()
            upstream.close()
            headers = {
                key: value.replace("http://", "https://", 1) if key.lower() == "location" else value
                for key, value in response.getheaders()
                if key.lower() not in _HOP_BY_HOP
            }
            self._reply(response.status, data, headers)

        def _reply(self, status: int, data: bytes, headers: dict) -> None:
            self.send_response(status)
            for key, value in headers.items():
                self.send_header(key, value)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def _body(self) -> bytes:
            # curl may send both headers; then the body is chunked (RFC 9112 6.3).
            if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
                chunks = []
                while size := int(self.rfile.readline().split(b";")[0].strip() or b"0", 16):
                    chunks.append(self.rfile.read(size))
                    self.rfile.readline()
                while self.rfile.readline().strip():  # trailers, then the blank line
                    pass
                return b"".join(chunks)
            length = int(self.headers.get("Content-Length") or 0)
            return self.rfile.read(length) if length else b""

        do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = _forward  # noqa: N815

        def log_message(self, *args) -> None:
            pass

    return Forward


def _storage_layout(bucket: str) -> bytes:
    layout = {
        "kind": "storage#storageLayout",
        "bucket": bucket,
        "location": "US",
        "locationType": "multi-region",
        "hierarchicalNamespace": {"enabled": False},
    }
    return json.dumps(layout).encode()


def _as_multipart(path: str, name: str) -> tuple[str, bytes, str]:
    boundary = "emptyobjectboundary"
    meta = json.dumps({"name": name})
    body = (
        f"--{boundary}\r\nContent-Type: application/json\r\n\r\n{meta}\r\n"
        f"--{boundary}\r\nContent-Type: application/octet-stream\r\n\r\n\r\n--{boundary}--\r\n"
    ).encode()
    split = urllib.parse.urlsplit(path)
    query = urllib.parse.parse_qs(split.query)
    query["uploadType"] = ["multipart"]
    query.pop("name", None)
    path = f"{split.path}?{urllib.parse.urlencode(query, doseq=True)}"
    return path, body, f"multipart/related; boundary={boundary}"


def serve_tls_proxy(emulator_port: int, folder: Path) -> tuple[socket.socket, Path]:
    """Starts the CONNECT + TLS proxy in threads; returns its listening socket and CA bundle."""
    ca, cert, key = _certificates(folder)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    handler = _forwarder(emulator_port)
    listener = socket.create_server(("127.0.0.1", 0))

    def tunnel(client: socket.socket) -> None:
        with client:
            head = b""
            while b"\r\n\r\n" not in head:
                chunk = client.recv(4096)
                if not chunk:
                    return
                head += chunk
            method, target, _ = head.split(b"\r\n", 1)[0].decode("latin-1").split(" ", 2)
            if method != "CONNECT" or target.rsplit(":", 1)[0] not in TF_GCS_HOSTS:
                client.sendall(b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n")
                return
            client.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
            try:
                with context.wrap_socket(client, server_side=True) as tls:
                    handler(tls, ("127.0.0.1", 0), None)
            except (OSError, ssl.SSLError):
                pass  # the client hung up

    def accept() -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return  # closed
            threading.Thread(target=tunnel, args=(client,), daemon=True).start()

    threading.Thread(target=accept, daemon=True).start()
    return listener, ca


@contextmanager
def gcs_emulator(folder: Path, bucket: str = "data") -> Iterator[dict[str, str]]:
    """Runs the emulator (in memory) and the TLS proxy; yields the environment that reaches them.

    The caller sets the returned variables (``monkeypatch.setenv``), which also carry to
    subprocesses such as Beam's worker processes.
    """
    port = free_port()
    command = [sys.executable, "-m", "gcp_storage_emulator", "start", "--host", "127.0.0.1"]
    server = subprocess.Popen(
        [*command, "--port", str(port), "--in-memory", "--default-bucket", bucket],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    wait_until_listening(port, server, 30, "gcp-storage-emulator")
    proxy_process = subprocess.Popen(
        [sys.executable, "-m", "tests.helpers.gcs", str(port), str(folder)],
        stdout=subprocess.PIPE,
        text=True,
        cwd=Path(__file__).resolve().parents[2],
    )
    proxy_port, ca = proxy_process.stdout.readline().split()
    proxy = f"http://127.0.0.1:{proxy_port}"
    environment = {
        "STORAGE_EMULATOR_HOST": f"http://127.0.0.1:{port}",
        "HTTPS_PROXY": proxy,
        "https_proxy": proxy,
        "NO_PROXY": "127.0.0.1,localhost",
        "no_proxy": "127.0.0.1,localhost",
        "CURL_CA_BUNDLE": str(ca),
        "GOOGLE_AUTH_TOKEN_FOR_TESTING": "emulator",  # TF's GCS file system: no metadata server
        "GOOGLE_CLOUD_PROJECT": "test",
    }
    try:
        yield environment
    finally:
        for process in (proxy_process, server):
            process.terminate()
            process.wait(10)


@contextmanager
def emulated_gcs(folder: Path, monkeypatch) -> Iterator:
    """``gcs_emulator``, its environment set for the test (``monkeypatch``); yields a client."""
    from google.cloud import storage

    (folder / "tls").mkdir()
    with gcs_emulator(folder / "tls") as environment:
        for key, value in environment.items():
            monkeypatch.setenv(key, value)
        yield storage.Client()


if __name__ == "__main__":
    _listener, _ca = serve_tls_proxy(int(sys.argv[1]), Path(sys.argv[2]))
    print(_listener.getsockname()[1], _ca, flush=True)
    threading.Event().wait()  # until terminated
