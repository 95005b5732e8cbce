"""The REST development server bounds every request: real sockets on 127.0.0.1, a tiny model.

Each malformed request gets its HTTP status and a JSON ``{"error": ...}`` body (never a dropped
connection or a 500), oversized and stalled bodies are refused, a full pool answers 503, and the
server keeps serving good requests afterwards.
"""

import base64
import json
import socket
import time

import pytest
import tensorflow as tf

from serving.dev_server.repository import ModelRepository, load_model
from tests.helpers.tiny_model import LIMITS, NAME, TinyModel


def exchange(port: int, raw: bytes, pause: float = 0.0) -> tuple[int, dict]:
    """Sends ``raw`` on a fresh connection and reads the reply until the server closes it."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as connection:
        connection.sendall(raw)
        time.sleep(pause)
        reply = b""
        while chunk := connection.recv(65536):
            reply += chunk
    assert reply, "the server dropped the connection without an answer"
    head, _, body = reply.partition(b"\r\n\r\n")
    return int(head.split()[1]), json.loads(body)


def post(port: int, body: bytes, path: str = f"/v1/models/{NAME}:predict", headers: str = ""):
    if "Content-Length" not in headers:
        headers += f"Content-Length: {len(body)}\r\n"
    return exchange(port, f"POST {path} HTTP/1.1\r\nHost: x\r\n{headers}\r\n".encode() + body)


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def test_a_good_request_is_answered(port):
    status, reply = post(port, json.dumps({"instances": [{"b64": b64(b"abcd")}]}).encode())
    assert (status, reply) == (200, {"predictions": [{"length": 4}]})


@pytest.mark.parametrize(
    "body",
    [
        b"{not json",
        b"\xff\xfe\x00garbage",
        b"[1, 2]",
        b'"just a string"',
        b"[" * 2000 + b"]" * 2000,  # nesting past the parser's recursion limit, within the size
        json.dumps({"instances": [{"b64": "%%% not base64"}]}).encode(),
        json.dumps({"instances": [{"b64": 12}]}).encode(),
        json.dumps({"instances": {"b64": b64(b"x")}}).encode(),
        json.dumps({"instances": [], "inputs": []}).encode(),
        json.dumps({"signature_name": 3, "instances": ["x"]}).encode(),
        json.dumps({"signature_name": "waveform", "instances": [[1, 2, 3, 4], [1, 2]]}).encode(),
        json.dumps({"signature_name": "waveform", "instances": [[1, 2, 3]]}).encode(),
        json.dumps({"signature_name": "waveform", "instances": [["a", "b", "c", "d"]]}).encode(),
        json.dumps(
            {"signature_name": "waveform", "inputs": {"waveform": [[{}, 1, 2, 3]]}}
        ).encode(),
        json.dumps({"signature_name": "nope", "instances": ["x"]}).encode(),
    ],
    ids=lambda body: body[:48].decode("latin-1"),
)
def test_malformed_bodies_are_400_with_a_json_error(port, body):
    status, reply = post(port, body)
    assert status == 400 and isinstance(reply["error"], str) and reply["error"]


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ("", 411),  # no Content-Length at all (the helper adds none when told not to)
        ("Content-Length: abc\r\n", 400),
        ("Content-Length: -5\r\n", 400),
        ("Content-Length: 3\r\nContent-Length: 4\r\n", 400),
        ("Transfer-Encoding: chunked\r\nContent-Length: 4\r\n", 411),
        (f"Content-Length: {LIMITS.max_body_bytes + 1}\r\n", 413),
    ],
)
def test_bad_or_missing_content_length_and_oversized_bodies(port, headers, expected):
    head = f"POST /v1/models/{NAME}:predict HTTP/1.1\r\nHost: x\r\n{headers}\r\n".encode()
    status, reply = exchange(port, head + (b"{}" if "Length: 3" in headers else b""))
    assert status == expected and reply["error"]


def test_a_stalled_body_times_out_with_408(port):
    head = f"POST /v1/models/{NAME}:predict HTTP/1.1\r\nContent-Length: 100\r\n\r\n{{".encode()
    started = time.monotonic()
    status, reply = exchange(port, head)
    assert status == 408 and reply["error"]
    assert time.monotonic() - started < LIMITS.timeout_s + 5


def test_a_full_pool_answers_503_and_recovers(port):
    stalled = []
    for _ in range(LIMITS.max_pending):
        connection = socket.create_connection(("127.0.0.1", port), timeout=10)
        connection.sendall(
            f"POST /v1/models/{NAME}:predict HTTP/1.1\r\nContent-Length: 9\r\n\r\n".encode()
        )
        stalled.append(connection)
    time.sleep(0.1)
    try:
        status, reply = exchange(port, f"GET /v1/models/{NAME} HTTP/1.1\r\n\r\n".encode())
        assert status == 503 and "busy" in reply["error"]
    finally:
        for connection in stalled:
            connection.close()
    deadline = time.monotonic() + 10
    while True:
        status, reply = exchange(port, f"GET /v1/models/{NAME} HTTP/1.1\r\n\r\n".encode())
        if status == 200 or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert reply["model_version_status"][0]["state"] == "AVAILABLE"


def test_the_server_keeps_serving_after_every_failure(port):
    for _ in range(3):
        post(port, b"{broken")
    body = {"signature_name": "waveform", "instances": [[1, 2, 3, 4]]}
    assert post(port, json.dumps(body).encode()) == (200, {"predictions": [{"total": 10.0}]})


def test_grpc_malformed_tensor_and_oversized_message_are_refused(port, tmp_path):
    """The gRPC half: a TensorProto that does not hold together is INVALID_ARGUMENT (not
    UNKNOWN), a message over ``MAX_MESSAGE_BYTES`` is RESOURCE_EXHAUSTED, and it keeps serving."""
    import grpc
    from tensorflow_serving.apis import predict_pb2, prediction_service_pb2_grpc

    from serving.dev_server import grpc_api
    from serving.limits import MAX_MESSAGE_BYTES

    model = TinyModel()
    tf.saved_model.save(
        model, str(tmp_path / NAME / "1"), signatures={"serving_default": model.wav}
    )
    repository = ModelRepository([load_model(str(tmp_path), NAME)])
    server, bound = grpc_api.serve(repository)
    options = [("grpc.max_send_message_length", 2 * MAX_MESSAGE_BYTES)]
    try:
        with grpc.insecure_channel(f"127.0.0.1:{bound}", options=options) as channel:
            stub = prediction_service_pb2_grpc.PredictionServiceStub(channel)
            request = predict_pb2.PredictRequest()
            request.model_spec.name = NAME
            request.inputs["audio_wav"].dtype = tf.float32.as_datatype_enum
            request.inputs["audio_wav"].tensor_shape.dim.add().size = 1000
            request.inputs["audio_wav"].tensor_content = b"\x00" * 6  # 1.5 floats, not 1000
            with pytest.raises(grpc.RpcError) as error:
                stub.Predict(request, timeout=30)
            assert error.value.code() == grpc.StatusCode.INVALID_ARGUMENT
            assert "malformed tensor" in error.value.details()
            huge = predict_pb2.PredictRequest()
            huge.model_spec.name = NAME
            huge.inputs["audio_wav"].CopyFrom(
                tf.make_tensor_proto([b"x" * (MAX_MESSAGE_BYTES + 1)])
            )
            with pytest.raises(grpc.RpcError) as error:
                stub.Predict(huge, timeout=60)
            assert error.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
            good = predict_pb2.PredictRequest()
            good.model_spec.name = NAME
            good.inputs["audio_wav"].CopyFrom(tf.make_tensor_proto([b"abc"]))
            assert tf.make_ndarray(stub.Predict(good, timeout=30).outputs["length"]).tolist() == [3]
    finally:
        server.stop(0)
