"""The REST half of the development server: TF Serving's ``/v1/models`` JSON API on 127.0.0.1.

Implements what clients of TF Serving's port 8501 use, each for the version a path names
(``/versions/<v>``, ``/labels/<label>``, or neither: the highest loaded): ``GET
/v1/models/<name>[...]`` (the versions' states, ``AVAILABLE`` or ``LOADING``, which the Kubernetes
readiness probe and ``promote`` read), ``GET /v1/models/<name>[...]/metadata`` (TF Serving's
shape: ``{"model_spec", "metadata": {"signature_def": ...}}``, plus, as the gRPC side does, a
``model_card`` entry when the version has one) and ``POST /v1/models/<name>[...]:predict``
with the row format (``{"instances": [...]}``; a string input is sent as ``{"b64": "..."}``) or
the columnar format (``{"inputs": ...}``), answering ``{"predictions": [...]}`` or
``{"outputs": ...}``, and ``{"error": message}`` with TF Serving's HTTP status on failure. Like
``grpc_api.py`` it is a DEVELOPMENT stand-in over the same ``ModelRepository``.

Every request is bounded: a body needs a valid ``Content-Length`` (411 without one, 400 when it
is not a number) of at most ``RestLimits.max_body_bytes`` (413, checked before reading); a body
that is not a JSON object, bad base64 or values of the wrong type or shape are 400; each socket
has a read timeout (a client that stalls mid-body gets 408); and requests run on a fixed pool
of threads, with connections beyond ``max_pending`` answered 503 at once. Every failure is a
JSON ``{"error": ...}`` reply, never a dropped connection. With a ``ServerSecurity`` it speaks
TLS (the handshake runs on the worker thread, so a stalled client never holds the accept loop;
a failed handshake is logged) and answers 401 to a request without the bearer token.
"""

import base64
import binascii
import json
import logging
import re
import socket
import ssl
import threading
import urllib.parse
from concurrent import futures
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, HTTPServer

import numpy as np
from google.protobuf import json_format
from tensorflow_serving.apis import get_model_metadata_pb2

from components.artifacts.signature import DEFAULT_SIGNATURE
from serving.dev_server import BANNER
from serving.dev_server.repository import ModelRepository
from serving.dev_server.security import UNAUTHENTICATED_MESSAGE, ServerSecurity
from serving.limits import MAX_MESSAGE_BYTES
from serving.status import ServingError

_PATH = re.compile(
    r"^/v1/models/(?P<name>[^/:]+)(?:/versions/(?P<version>\d+)|/labels/(?P<label>[^/:]+))?"
    r"(?P<metadata>/metadata)?(?P<verb>:\w+)?$"
)


@dataclass(frozen=True)
class RestLimits:
    """Bounds of the REST server.

    Attributes:
        max_body_bytes: Largest request body (the gRPC message limit, so both APIs agree).
        timeout_s: Socket read timeout per request.
        workers: Threads serving requests.
        max_pending: Connections accepted at once (running plus queued); more get 503.
    """

    max_body_bytes: int = MAX_MESSAGE_BYTES
    timeout_s: float = 10.0
    workers: int = 8
    max_pending: int = 64


class _BadRequest(Exception):
    """A request refused before it reaches the model: HTTP status and message."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status
        self.message = message


def _decode(value):
    if isinstance(value, dict) and set(value) == {"b64"}:
        if not isinstance(value["b64"], str):
            raise ServingError("INVALID_ARGUMENT", '"b64" must be a base64 string')
        try:
            return base64.b64decode(value["b64"], validate=True)
        except (binascii.Error, ValueError) as error:
            raise ServingError("INVALID_ARGUMENT", f"bad base64: {error}") from None
    if isinstance(value, dict):
        return {key: _decode(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_decode(item) for item in value]
    return value


def _encode(value: np.ndarray):
    if value.dtype.kind == "O":  # strings keep their shape, as TF Serving's JSON does
        return np.vectorize(lambda item: item.decode("utf-8", "replace"), otypes=[object])(
            value
        ).tolist()
    return value.tolist()


def parse_inputs(body: dict, input_names: list[str]) -> dict[str, np.ndarray]:
    """Request JSON (row or columnar format) → input name → array.

    Raises:
        ServingError: ``INVALID_ARGUMENT`` for a malformed body.
    """
    if not isinstance(body, dict) or ("instances" in body) == ("inputs" in body):
        raise ServingError("INVALID_ARGUMENT", 'body needs exactly one of "instances", "inputs"')
    if "instances" in body:
        if not isinstance(body["instances"], list):
            raise ServingError("INVALID_ARGUMENT", '"instances" must be a list')
        rows = [_decode(row) for row in body["instances"]]
        if len(input_names) == 1 and not all(isinstance(row, dict) for row in rows):
            columns = {input_names[0]: rows}
        elif all(isinstance(row, dict) for row in rows):
            columns = {key: [row.get(key) for row in rows] for key in rows[0]} if rows else {}
        else:
            raise ServingError("INVALID_ARGUMENT", "instances must all be objects or all values")
    else:
        inputs = _decode(body["inputs"])
        columns = inputs if isinstance(inputs, dict) else {input_names[0]: inputs}
    arrays = {}
    for key, column in columns.items():
        try:
            flat = np.array(column, dtype=object)
            is_bytes = flat.size and all(isinstance(v, bytes | str) for v in flat.reshape(-1))
            arrays[key] = flat if is_bytes else np.asarray(column, dtype=np.float32)
        except (TypeError, ValueError) as error:
            raise ServingError("INVALID_ARGUMENT", f"input {key!r}: {error}") from None
    return arrays


def _metadata(model) -> dict:
    """TF Serving's REST metadata answer, with the version's model card where it has one."""
    signatures = get_model_metadata_pb2.SignatureDefMap(signature_def=model.signature_defs)
    as_json = json_format.MessageToDict(signatures, preserving_proto_field_name=True)
    metadata = {"signature_def": as_json}
    card = model.card_json()
    if card is not None:
        metadata["model_card"] = json.loads(card)
    spec = {"name": model.name, "signature_name": "", "version": str(model.version)}
    return {"model_spec": spec, "metadata": metadata}


def _choice(match: re.Match) -> tuple[int | None, str | None]:
    """The version (or label) a request path names."""
    version = int(match["version"]) if match["version"] else None
    return version, urllib.parse.unquote(match["label"]) if match["label"] else None


class _Handler(BaseHTTPRequestHandler):
    repository: ModelRepository
    limits: RestLimits
    security: ServerSecurity
    protocol_version = "HTTP/1.0"  # one request per connection: the pool never idles on keep-alive

    def _authorized(self) -> bool:
        """Whether the request carries the token; answers 401 when it does not.

        A refused request's body (within the size limit) is read first, so that the client,
        still sending it, gets the answer rather than a reset connection.
        """
        if self.security.authorized(self.headers.get("Authorization")):
            return True
        declared = self.headers.get("Content-Length", "0").strip()
        if declared.isdigit() and int(declared) <= self.limits.max_body_bytes:
            self.rfile.read(int(declared))
        else:
            self.close_connection = True
        self._reply(401, {"error": UNAUTHENTICATED_MESSAGE}, {"WWW-Authenticate": "Bearer"})
        return False

    def do_GET(self) -> None:  # noqa: N802
        if not self._authorized():
            return
        match = _PATH.match(self.path)
        try:
            if not match or match["verb"]:
                raise ServingError("NOT_FOUND", f"no such resource {self.path}")
            version, label = _choice(match)
            if match["metadata"]:
                self._reply(200, _metadata(self.repository.model(match["name"], version, label)))
                return
            states = self.repository.version_states(match["name"])
            if label is not None:
                version = self.repository.label_version(match["name"], label)
            if version is not None:
                if version not in states:
                    raise ServingError(
                        "NOT_FOUND", f"Could not find version {version} of model {match['name']}"
                    )
                states = {version: states[version]}
        except ServingError as error:
            self._reply(error.http_status, {"error": error.message})
            return
        status = {"error_code": "OK", "error_message": ""}
        self._reply(
            200,
            {
                "model_version_status": [
                    {"version": str(number), "state": state, "status": status}
                    for number, state in states.items()
                ]
            },
        )

    def do_POST(self) -> None:  # noqa: N802
        if not self._authorized():
            return
        match = _PATH.match(self.path)
        try:
            if not match or match["metadata"] or match["verb"] != ":predict":
                raise ServingError("NOT_FOUND", f"no such resource {self.path}")
            body = self._json_body()
            reply = self._predict(match, body)
        except _BadRequest as error:
            self._reply(error.status, {"error": error.message})
        except ServingError as error:
            self._reply(error.http_status, {"error": error.message})
        except TimeoutError:  # the headers arrived, the body did not
            self.close_connection = True
            self._reply(408, {"error": "request body not received in time"})
        except Exception as error:  # a bug must still answer, and the server keeps serving
            logging.exception("rest: unexpected failure")
            self._reply(500, {"error": f"internal error: {type(error).__name__}"})
        else:
            self._reply(200, reply)

    def _json_body(self) -> object:
        """The request body as JSON, its size checked against the limit before it is read."""
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            raise _BadRequest(411, "chunked bodies are not accepted: send Content-Length")
        declared = self.headers.get_all("Content-Length") or []
        if not declared:
            raise _BadRequest(411, "Content-Length required")
        if len(set(declared)) != 1 or not declared[0].strip().isdigit():
            raise _BadRequest(400, f"bad Content-Length {', '.join(declared)!r}")
        length = int(declared[0])
        if length > self.limits.max_body_bytes:
            self.close_connection = True
            raise _BadRequest(
                413, f"body of {length} bytes exceeds the limit of {self.limits.max_body_bytes}"
            )
        data = self.rfile.read(length)
        if len(data) != length:
            raise _BadRequest(400, f"body ended after {len(data)} of {length} bytes")
        try:
            return json.loads(data)
        except (json.JSONDecodeError, UnicodeDecodeError, RecursionError) as error:
            raise _BadRequest(400, f"malformed JSON: {error}") from None

    def _predict(self, match: re.Match, body: object) -> dict:
        if not isinstance(body, dict):
            raise ServingError("INVALID_ARGUMENT", "the body must be a JSON object")
        signature_name = body.get("signature_name", "")
        if not isinstance(signature_name, str):
            raise ServingError("INVALID_ARGUMENT", '"signature_name" must be a string')
        model = self.repository.model(match["name"], *_choice(match))
        signature = model.loaded.signatures.get(signature_name or DEFAULT_SIGNATURE)
        names = sorted(signature.structured_input_signature[1]) if signature else [""]
        inputs = parse_inputs(body, names)
        _, outputs = self.repository.predict(match["name"], model.version, signature_name, inputs)
        if "instances" in body:
            columns = {key: _encode(value) for key, value in outputs.items()}
            rows = [
                dict(zip(columns, values, strict=True))
                for values in zip(*columns.values(), strict=True)
            ]
            return {"predictions": rows}
        return {"outputs": {key: _encode(v) for key, v in outputs.items()}}

    def _reply(self, status: int, payload: dict, headers: dict[str, str] | None = None) -> None:
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args) -> None:  # noqa: A002 - BaseHTTPRequestHandler API
        logging.debug("rest: " + format, *args)


_BUSY_BODY = json.dumps({"error": "server busy, retry with backoff"}).encode()
_BUSY = (
    b"HTTP/1.0 503 Service Unavailable\r\nContent-Type: application/json\r\n"
    b"Content-Length: %d\r\n\r\n%s" % (len(_BUSY_BODY), _BUSY_BODY)
)


class _PooledHTTPServer(HTTPServer):
    """An HTTP server whose requests run on a fixed thread pool, with a cap on waiting ones."""

    daemon_threads = True

    def __init__(
        self,
        address: tuple[str, int],
        handler: type,
        limits: RestLimits,
        tls: ssl.SSLContext | None = None,
    ):
        super().__init__(address, handler)
        self.pool = futures.ThreadPoolExecutor(limits.workers, thread_name_prefix="rest")
        self.slots = threading.BoundedSemaphore(limits.max_pending)
        self.timeout_s = limits.timeout_s
        if tls is not None:  # handshakes happen on first use, on the worker (see _serve_one)
            self.socket = tls.wrap_socket(
                self.socket, server_side=True, do_handshake_on_connect=False
            )

    def process_request(self, request: socket.socket, client_address: tuple) -> None:
        if not self.slots.acquire(blocking=False):
            try:
                request.settimeout(self.timeout_s)  # a TLS handshake happens in sendall
                request.sendall(_BUSY)
            finally:
                self.shutdown_request(request)
            return
        self.pool.submit(self._serve_one, request, client_address)

    def _serve_one(self, request: socket.socket, client_address: tuple) -> None:
        try:
            if isinstance(request, ssl.SSLSocket):
                request.settimeout(self.timeout_s)
                try:
                    request.do_handshake()
                except (ssl.SSLError, OSError) as error:
                    logging.info("rest: TLS handshake with %s failed: %s", client_address, error)
                    return
            self.finish_request(request, client_address)
        except Exception:  # noqa: BLE001 - a broken connection must not end the worker
            self.handle_error(request, client_address)
        finally:
            self.shutdown_request(request)
            self.slots.release()

    def server_close(self) -> None:
        super().server_close()
        self.pool.shutdown(wait=False, cancel_futures=True)


def serve(
    repository: ModelRepository,
    port: int = 0,
    host: str = "127.0.0.1",
    limits: RestLimits = RestLimits(),
    security: ServerSecurity = ServerSecurity(),
) -> tuple[HTTPServer, int]:
    """Starts the REST server in a daemon thread (HTTPS when ``security`` has a certificate).

    Returns:
        ``(server, bound_port)``; stop it with ``server.shutdown()``.
    """
    # StreamRequestHandler puts ``timeout`` on every accepted socket.
    attributes = {
        "repository": repository,
        "limits": limits,
        "security": security,
        "timeout": limits.timeout_s,
    }
    handler = type("Handler", (_Handler,), attributes)
    tls = security.ssl_context() if security.tls else None
    server = _PooledHTTPServer((host, port), handler, limits, tls)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    bound = server.server_address[1]
    scheme = "https" if security.tls else "http"
    logging.warning("%s: REST API on %s://%s:%d/v1/models/", BANNER, scheme, host, bound)
    return server, bound
