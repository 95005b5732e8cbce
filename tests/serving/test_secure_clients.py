"""Secure clients against the development server on 127.0.0.1, with a throw-away CA.

TLS (a CA bundle), a wrong CA failing with a message that says so, a required bearer token,
mTLS, extra headers reaching the server (a capturing gRPC and HTTP server), the refusal to send
credentials in plaintext, and the same through the ``household-sounds`` command line.
"""

import json
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

import grpc
import pytest

from cli import main as cli
from components.artifacts.names import SERVED_MODEL_NAME as MODEL_NAME
from serving.client import GrpcClient, RestClient, VersionChoice, connect
from serving.dev_server import grpc_api, rest
from serving.dev_server.repository import ModelRepository, ServedModel, signature_defs
from serving.dev_server.security import ServerSecurity
from serving.security import Security
from serving.status import ServingError
from tests.helpers.audio import tone, wav_bytes
from tests.helpers.tls import make_ca

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("serving")]

TOKEN = "s3cret-token"
WAV = wav_bytes(tone(440.0, 1.0, 16000), 16000)


@pytest.fixture(scope="module")
def pki(tmp_path_factory):
    folder = tmp_path_factory.mktemp("pki")
    ca, other = make_ca(folder, "good"), make_ca(folder, "other")
    (folder / "token").write_text(TOKEN + "\n")
    return {
        "ca": ca,
        "wrong_ca": other.cert,
        "server": ca.issue("server", server=True),
        "client": ca.issue("client", server=False),
        "token_file": folder / "token",
    }


def _serve(repository, security):
    grpc_server, grpc_port = grpc_api.serve(repository, security=security)
    rest_server, rest_port = rest.serve(repository, security=security)
    return grpc_server, rest_server, f"127.0.0.1:{grpc_port}", f"127.0.0.1:{rest_port}"


@pytest.fixture(scope="module")
def repository(version_dir, served):
    """The session's exported model, already loaded (``served``), as version 1."""
    model = ServedModel(MODEL_NAME, 1, version_dir, served, signature_defs(version_dir))
    return ModelRepository([model])


@pytest.fixture(scope="module")
def tls_server(repository, pki):
    """TLS with the good CA's certificate, every call needing the token."""
    server = pki["server"]
    security = ServerSecurity(str(server.cert), str(server.key), token=TOKEN)
    grpc_server, rest_server, grpc_target, rest_target = _serve(repository, security)
    yield grpc_target, rest_target
    rest_server.shutdown()
    grpc_server.stop(grace=1)


@pytest.fixture(scope="module")
def mtls_server(repository, pki):
    """TLS that also requires a client certificate signed by the good CA."""
    server = pki["server"]
    security = ServerSecurity(str(server.cert), str(server.key), str(pki["ca"].cert))
    grpc_server, rest_server, grpc_target, rest_target = _serve(repository, security)
    yield grpc_target, rest_target
    rest_server.shutdown()
    grpc_server.stop(grace=1)


def _both(grpc_target: str, rest_target: str, security: Security):
    return (
        GrpcClient(grpc_target, security=security),
        RestClient(f"https://{rest_target}", security=security),
    )


def test_tls_with_the_ca_bundle_and_the_token(tls_server, pki):
    security = Security(ca_file=str(pki["ca"].cert), token=TOKEN)
    for client in _both(*tls_server, security):
        (prediction,) = client.predict_wav([WAV])
        assert len(prediction.probabilities) == 8
    stable = VersionChoice(version=1)
    grpc_client = GrpcClient(tls_server[0], choice=stable, security=security)
    assert (
        grpc_client.predict_response(
            "serving_default", {"audio_wav": [WAV]}
        ).model_spec.version.value
        == 1
    )


def test_a_wrong_ca_fails_and_says_it_is_the_handshake(tls_server, pki):
    security = Security(ca_file=str(pki["wrong_ca"]), token=TOKEN)
    for client in _both(*tls_server, security):
        with pytest.raises(ServingError) as raised:
            client.predict_wav([WAV])
        assert raised.value.code == "UNAVAILABLE"
        assert "TLS handshake with 127.0.0.1" in raised.value.message
        assert "CERTIFICATE_VERIFY_FAILED" in raised.value.message


def test_the_token_is_required_and_checked(tls_server, pki):
    for token in (None, "wrong"):
        security = Security(ca_file=str(pki["ca"].cert), token=token)
        for client in _both(*tls_server, security):
            with pytest.raises(ServingError) as raised:
                client.predict_wav([WAV])
            assert raised.value.code == "UNAUTHENTICATED"
            assert "bearer token" in raised.value.message


def test_mtls_needs_a_client_certificate(mtls_server, pki):
    anonymous = Security(ca_file=str(pki["ca"].cert))
    for client in _both(*mtls_server, anonymous):
        with pytest.raises(ServingError) as raised:
            client.predict_wav([WAV])
        assert raised.value.code == "UNAVAILABLE"
    client_cert = pki["client"]
    known = Security(
        ca_file=str(pki["ca"].cert), cert_file=str(client_cert.cert), key_file=str(client_cert.key)
    )
    for client in _both(*mtls_server, known):
        assert len(client.predict_wav([WAV])) == 1


def test_token_and_headers_reach_the_server_as_metadata_and_http_headers():
    seen = {}

    def record(request, context):
        seen["grpc"] = dict(context.invocation_metadata())
        context.abort(grpc.StatusCode.UNIMPLEMENTED, "recorded")

    handler = grpc.method_handlers_generic_handler(
        "tensorflow.serving.PredictionService",
        {"Predict": grpc.unary_unary_rpc_method_handler(record)},
    )
    grpc_server = grpc.server(__import__("concurrent.futures").futures.ThreadPoolExecutor(1))
    grpc_server.add_generic_rpc_handlers((handler,))
    grpc_port = grpc_server.add_insecure_port("127.0.0.1:0")
    grpc_server.start()

    class Record(BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802
            seen["rest"] = dict(self.headers)
            self.rfile.read(int(self.headers["Content-Length"]))
            body = json.dumps({"error": "recorded"}).encode()
            self.send_response(501)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    http_server = HTTPServer(("127.0.0.1", 0), Record)
    threading.Thread(target=http_server.serve_forever, daemon=True).start()
    # Loopback: credentials may go in plaintext to a local proxy.
    security = Security(token=TOKEN, headers=(("X-Goog-Iap-Jwt-Assertion", "jwt"),))
    try:
        for target, rest_api in (
            (f"127.0.0.1:{grpc_port}", False),
            (
                f"127.0.0.1:{http_server.server_address[1]}",
                True,
            ),
        ):
            with (
                pytest.raises(ServingError, match="recorded"),
                connect(target, rest_api, security=security) as client,
            ):
                client.predict_wav([WAV])
    finally:
        http_server.shutdown()
        grpc_server.stop(0)
    assert seen["grpc"]["authorization"] == f"Bearer {TOKEN}"
    assert seen["grpc"]["x-goog-iap-jwt-assertion"] == "jwt"
    assert seen["rest"]["Authorization"] == f"Bearer {TOKEN}"
    assert seen["rest"]["X-Goog-Iap-Jwt-Assertion"] == "jwt"


def test_credentials_never_go_in_plaintext_beyond_this_machine():
    with pytest.raises(ValueError, match="would be sent in plaintext"):
        GrpcClient("tf-serving.example.com:8500", security=Security(token=TOKEN))
    with pytest.raises(ValueError, match="would be sent in plaintext"):
        RestClient("http://10.0.0.7:8501", security=Security(headers=(("X-Key", "v"),)))
    with pytest.raises(ValueError, match="give both, or neither"):
        Security(cert_file="client.pem")


def test_the_command_line_over_tls(tls_server, pki, tmp_path, capsys):
    wav = tmp_path / "clip.wav"
    wav.write_bytes(WAV)
    secure = ["--ca-file", str(pki["ca"].cert), "--token-file", str(pki["token_file"])]
    for target, rest_flag in ((tls_server[0], []), (tls_server[1], ["--rest"])):
        code = cli.main(["predict", str(wav), "--target", target, *rest_flag, *secure])
        (result,) = json.loads(capsys.readouterr().out)
        assert code == 0 and "class_name" in result
    code = cli.main(["describe", "--target", tls_server[0], "--json", *secure])
    assert code == 0 and json.loads(capsys.readouterr().out)["version"] == 1
    wrong = ["--ca-file", str(pki["wrong_ca"]), "--token-file", str(pki["token_file"])]
    code = cli.main(["describe", "--target", tls_server[0], *wrong])
    error = json.loads(capsys.readouterr().err)
    assert code == grpc.StatusCode.UNAVAILABLE.value[0] and "TLS handshake" in error["message"]
    code = cli.main(["predict", str(wav), "--target", "example.com:8500", "--token", TOKEN])
    assert code == 2 and "plaintext" in capsys.readouterr().err


def test_serve_dev_takes_its_tls_and_token_from_the_command_line(pki, monkeypatch):
    from serving.dev_server import launcher

    started = {}
    monkeypatch.setattr(
        launcher, "serve_until_stopped", lambda *args: started.setdefault("args", args)
    )
    server = pki["server"]
    flags = ["--tls-cert", str(server.cert), "--tls-key", str(server.key)]
    flags += ["--tls-client-ca", str(pki["ca"].cert)]
    flags += ["--require-token-file", str(pki["token_file"])]
    assert cli.main(["serve-dev", "--model-base", "base", "--rest-port", "8501", *flags]) == 0
    base, port, rest_port, poll_s, security = started["args"]
    assert (base, port, rest_port, poll_s) == ("base", 8500, 8501, 2.0)
    assert security == ServerSecurity(str(server.cert), str(server.key), str(pki["ca"].cert), TOKEN)
