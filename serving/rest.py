"""The REST half of the development server: TF Serving's ``/v1/models`` JSON API on 127.0.0.1.

Implements what clients of TF Serving's port 8501 use: ``GET /v1/models/<name>`` (version status,
which the Kubernetes readiness probe calls), ``GET /v1/models/<name>[/versions/<v>]/metadata``
(TF Serving's shape: ``{"model_spec", "metadata": {"signature_def": ...}}``, plus, as the gRPC
side does, a ``model_card`` entry when the version has one) and
``POST /v1/models/<name>[/versions/<v>]:predict``
with the row format (``{"instances": [...]}``; a string input is sent as ``{"b64": "..."}``) or
the columnar format (``{"inputs": ...}``), answering ``{"predictions": [...]}`` or
``{"outputs": ...}``, and ``{"error": message}`` with TF Serving's HTTP status on failure. Like
``dev_server.py`` it is a DEVELOPMENT stand-in over the same ``ModelRepository``.
"""

import base64
import json
import logging
import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import numpy as np
from google.protobuf import json_format
from tensorflow_serving.apis import get_model_metadata_pb2

from components.artifacts.signature import DEFAULT_SIGNATURE
from serving.dev_server import BANNER, ModelRepository
from serving.status import ServingError

_PATH = re.compile(
    r"^/v1/models/(?P<name>[^/:]+)(?:/versions/(?P<version>\d+))?"
    r"(?P<metadata>/metadata)?(?P<verb>:\w+)?$"
)


def _decode(value):
    if isinstance(value, dict) and set(value) == {"b64"}:
        return base64.b64decode(value["b64"])
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
    if ("instances" in body) == ("inputs" in body):
        raise ServingError("INVALID_ARGUMENT", 'body needs exactly one of "instances", "inputs"')
    if "instances" in body:
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
        flat = np.array(column, dtype=object)
        is_bytes = flat.size and all(isinstance(v, bytes | str) for v in flat.reshape(-1))
        try:
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


class _Handler(BaseHTTPRequestHandler):
    repository: ModelRepository

    def do_GET(self) -> None:  # noqa: N802
        match = _PATH.match(self.path)
        try:
            if not match or match["verb"]:
                raise ServingError("NOT_FOUND", f"no such resource {self.path}")
            version = int(match["version"]) if match["version"] else None
            model = self.repository.model(match["name"], version)
        except ServingError as error:
            self._reply(error.http_status, {"error": error.message})
            return
        if match["metadata"]:
            self._reply(200, _metadata(model))
            return
        status = {"error_code": "OK", "error_message": ""}
        self._reply(
            200,
            {
                "model_version_status": [
                    {"version": str(model.version), "state": "AVAILABLE", "status": status}
                ]
            },
        )

    def do_POST(self) -> None:  # noqa: N802
        match = _PATH.match(self.path)
        try:
            if not match or match["metadata"] or match["verb"] != ":predict":
                raise ServingError("NOT_FOUND", f"no such resource {self.path}")
            body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))))
            version = int(match["version"]) if match["version"] else None
            signature_name = body.get("signature_name", "")
            model = self.repository.model(match["name"], version)
            signature = model.loaded.signatures.get(signature_name or DEFAULT_SIGNATURE)
            names = sorted(signature.structured_input_signature[1]) if signature else [""]
            inputs = parse_inputs(body, names)
            _, outputs = self.repository.predict(match["name"], version, signature_name, inputs)
        except json.JSONDecodeError as error:
            self._reply(400, {"error": f"malformed JSON: {error}"})
            return
        except ServingError as error:
            self._reply(error.http_status, {"error": error.message})
            return
        if "instances" in body:
            columns = {key: _encode(value) for key, value in outputs.items()}
            rows = [
                dict(zip(columns, values, strict=True))
                for values in zip(*columns.values(), strict=True)
            ]
            self._reply(200, {"predictions": rows})
        else:
            self._reply(200, {"outputs": {key: _encode(v) for key, v in outputs.items()}})

    def _reply(self, status: int, payload: dict) -> None:
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args) -> None:  # noqa: A002 - BaseHTTPRequestHandler API
        logging.debug("rest: " + format, *args)


def serve(
    repository: ModelRepository, port: int = 0, host: str = "127.0.0.1"
) -> tuple[ThreadingHTTPServer, int]:
    """Starts the REST server in a daemon thread.

    Returns:
        ``(server, bound_port)``; stop it with ``server.shutdown()``.
    """
    handler = type("Handler", (_Handler,), {"repository": repository})
    server = ThreadingHTTPServer((host, port), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    bound = server.server_address[1]
    logging.warning("%s: REST API on http://%s:%d/v1/models/", BANNER, host, bound)
    return server, bound
