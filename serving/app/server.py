"""The web app's server: static page + a JSON proxy to TF Serving (whose REST API has no CORS).

Routes: ``GET /`` (the page; ``?autostart=1`` listens without a click), ``GET /static/<file>``
(files shipped in this package, no build step), ``GET /api/config`` (class names, window, hop,
upload limit), ``GET /healthz`` (process alive, for probes) and ``POST /api/classify`` (a WAV
file as the body → the prediction as ``predict`` prints it: class, probabilities and every
further output of the served signature). A body over the limit is refused with 413, a missing
length with 411, an empty or non-audio body with 400, a WAV the model rejects with 400 and the
server's message, and an unreachable TF Serving with 503; errors are ``{"error", "message"}``.
Runs on the standard library's ``ThreadingHTTPServer`` with one shared light client (gRPC or
REST), so it imports no TensorFlow.
"""

import json
import logging
import mimetypes
import shutil
from dataclasses import dataclass
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib import resources
from urllib.parse import urlsplit

from components.audio.labels import CLASS_NAMES
from serving.status import ServingError

AUDIO_TYPES = (
    "audio/wav",
    "audio/x-wav",
    "audio/wave",
    "audio/vnd.wave",
    "application/octet-stream",
)
DRAIN_LIMIT = 64 * 2**20  # read (and drop) at most this much of a refused body


@dataclass(frozen=True)
class AppConfig:
    """Web app settings.

    Attributes:
        max_upload_bytes: Largest accepted request body.
        window_s: Seconds of audio the page sends per prediction (the model's clip length).
        hop_s: Seconds between the page's predictions while listening.
    """

    max_upload_bytes: int = 32 * 2**20
    window_s: float = 5.0
    hop_s: float = 1.0


def static_files() -> dict[str, bytes]:
    """The page's files by name, read from the installed package."""
    folder = resources.files("serving.app") / "static"
    return {entry.name: entry.read_bytes() for entry in folder.iterdir() if entry.is_file()}


class _Handler(BaseHTTPRequestHandler):
    client: object
    config: AppConfig
    files: dict[str, bytes]
    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:  # noqa: N802
        path = urlsplit(self.path).path
        if path in ("/", "/index.html"):
            self._send(HTTPStatus.OK, self.files["index.html"], "text/html; charset=utf-8")
        elif path.startswith("/static/") and path.removeprefix("/static/") in self.files:
            name = path.removeprefix("/static/")
            kind = mimetypes.guess_type(name)[0] or "application/octet-stream"
            self._send(HTTPStatus.OK, self.files[name], kind)
        elif path == "/api/config":
            self._json(
                HTTPStatus.OK,
                {
                    "class_names": list(CLASS_NAMES),
                    "window_s": self.config.window_s,
                    "hop_s": self.config.hop_s,
                    "max_upload_bytes": self.config.max_upload_bytes,
                },
            )
        elif path == "/healthz":
            self._json(HTTPStatus.OK, {"status": "ok"})
        else:
            self._error(HTTPStatus.NOT_FOUND, "NOT_FOUND", f"no such resource {path}")

    def do_POST(self) -> None:  # noqa: N802
        if urlsplit(self.path).path != "/api/classify":
            self._error(HTTPStatus.NOT_FOUND, "NOT_FOUND", f"no such resource {self.path}")
            return
        body = self._body()
        if body is None:
            return
        try:
            [prediction] = self.client.predict_wav([body])
        except ServingError as error:
            status = 503 if error.code in ("UNAVAILABLE", "DEADLINE_EXCEEDED") else None
            self._error(status or error.http_status, error.code, error.message)
            return
        self._json(HTTPStatus.OK, prediction.to_json(CLASS_NAMES))

    def _body(self) -> bytes | None:
        """The request body, or None after answering why it is refused."""
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            self._error(HTTPStatus.LENGTH_REQUIRED, "INVALID_ARGUMENT", "send a Content-Length")
            return None
        try:
            length = int(self.headers["Content-Length"])
        except (TypeError, ValueError):
            self._error(HTTPStatus.LENGTH_REQUIRED, "INVALID_ARGUMENT", "send a Content-Length")
            return None
        if length > self.config.max_upload_bytes:
            self._drain(length)
            limit_mb = self.config.max_upload_bytes / 2**20
            self._error(
                HTTPStatus.REQUEST_ENTITY_TOO_LARGE,
                "INVALID_ARGUMENT",
                f"upload of {length} bytes is over the limit of {limit_mb:g} MiB",
            )
            return None
        kind = self.headers.get("Content-Type", "application/octet-stream").split(";")[0].strip()
        body = self.rfile.read(length) if length > 0 else b""
        if kind.lower() not in AUDIO_TYPES:
            self._error(
                HTTPStatus.BAD_REQUEST, "INVALID_ARGUMENT", f"expected a WAV body, got {kind}"
            )
            return None
        if not body:
            self._error(HTTPStatus.BAD_REQUEST, "INVALID_ARGUMENT", "empty body")
            return None
        return body

    def _drain(self, length: int) -> None:
        """Reads a refused body so the client sees the answer, or closes on a huge one."""
        if length > DRAIN_LIMIT:
            self.close_connection = True
            return
        shutil.copyfileobj(_Limited(self.rfile, length), _Discard())

    def _json(self, status: int, payload: dict) -> None:
        self._send(status, json.dumps(payload).encode(), "application/json")

    def _error(self, status: int, code: str, message: str) -> None:
        self._json(status, {"error": code, "message": message})

    def _send(self, status: int, data: bytes, content_type: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Cache-Control", "no-store")
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args) -> None:  # noqa: A002 - BaseHTTPRequestHandler API
        logging.debug("app: " + format, *args)


class _Limited:
    def __init__(self, stream, length: int):
        self.stream, self.left = stream, length

    def read(self, size: int = -1) -> bytes:
        size = self.left if size < 0 else min(size, self.left)
        data = self.stream.read(size) if size else b""
        self.left -= len(data)
        return data


class _Discard:
    def write(self, data: bytes) -> int:
        return len(data)


def make_server(
    client, config: AppConfig, port: int = 8080, host: str = "127.0.0.1"
) -> ThreadingHTTPServer:
    """The app's HTTP server (call ``serve_forever``); ``port`` 0 picks a free one.

    Args:
        client: A ``serving.client`` client (gRPC or REST) to TF Serving, shared by all threads.
        config: Limits and timing.
        port: TCP port.
        host: Interface; ``0.0.0.0`` inside a pod.
    """
    attributes = {"client": client, "config": config, "files": static_files()}
    handler = type("Handler", (_Handler,), attributes)
    server = ThreadingHTTPServer((host, port), handler)
    server.daemon_threads = True
    logging.debug("app: static files %s", sorted(attributes["files"]))
    return server
