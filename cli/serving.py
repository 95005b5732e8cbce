"""The serving commands: ``export`` and ``deploy`` a model, then query and serve what is served.

``predict``, ``listen`` and ``app`` talk to TF Serving (or the development server) through
``serving.client``, ``describe`` prints what a server or a model base serves, ``serve-dev``
starts the development server. Each client command asks for a version or a label and reaches
the server over TLS with credentials as its flags say (``cli/connection.py``). A refused
request prints ``{"error", "message"}`` on stderr and exits with the gRPC status code number;
``predict`` answers file by file (an ``error`` in the result of each file that failed, one line
on stderr each) and exits with the first failure's code (2 for a file it could not read). The
served model's name is ``DeployConfig``'s option; TensorFlow, gRPC and the steps are imported
only when a command runs. ``cli/main.py`` registers ``COMMANDS``.
"""

import argparse
import json
import sys

from cli import connection
from cli.flags import Command, emit, registrar
from components.deploy.config import DeployConfig

COMMANDS: dict[str, Command] = {}
command = registrar(COMMANDS)
NAME = ("model_name",)  # the one DeployConfig option of every command here but deploy


@command("export", "model-dir", "transform-graph", "output", config=DeployConfig, only=NAME)
def _export(args: argparse.Namespace, config: DeployConfig) -> int:
    """Export a trained model as a raw-audio serving SavedModel (no blessing check)."""
    from components.artifacts.model_files import read_model_info
    from components.deploy import core

    info = read_model_info(args.model_dir)
    core.export_model(info, args.transform_graph, args.output, config.model_name)
    return emit({"model": info.name, "feature": info.feature, "export_dir": args.output})


def _deploy_flags(parser: argparse.ArgumentParser) -> None:
    help = "ingest's manifest.jsonl: its first test clips are replayed by the infra validation"
    parser.add_argument("--manifest", default="", help=help)


@command(
    "deploy",
    "model-dir",
    "transform-graph",
    "model-base",
    "blessing",
    config=DeployConfig,
    flags=_deploy_flags,
)
def _deploy(args: argparse.Namespace, config: DeployConfig) -> int:
    """Publish the blessing's candidate (--model-dir) as a new TF Serving model version."""
    from components.deploy import core

    paths = (args.transform_graph, args.model_base, args.blessing)
    return emit(core.run([args.model_dir], *paths, config, manifest=args.manifest).summary())


def _refuse(code: str, message: str) -> None:
    """Prints a refusal as JSON on stderr."""
    json.dump({"error": code, "message": message}, sys.stderr)
    sys.stderr.write("\n")


def _serving_error(error) -> int:
    """Prints a rejected request as JSON on stderr; returns the gRPC status code number."""
    _refuse(error.code, error.message)
    return error.grpc_code.value[0]


def _connect(args: argparse.Namespace, config: DeployConfig):
    """A client for the server, version and security the flags name."""
    from serving.client import connect

    access = connection.access(args)
    return connect(args.target, args.rest, config.model_name, args.timeout, **access)


def _predict_flags(parser: argparse.ArgumentParser) -> None:
    help = "audio files: WAV as is, FLAC/OGG/AIFF/... re-encoded as WAV"
    parser.add_argument("files", nargs="+", metavar="FILE", help=help)
    connection.server_flags(parser)


@command("predict", config=DeployConfig, only=NAME, flags=_predict_flags)
def _predict(args: argparse.Namespace, config: DeployConfig) -> int:
    """Classify audio files with a served model; per-file results, and errors, on stdout."""
    import grpc

    from serving.client import UNREADABLE, predict_files

    access = connection.access(args)
    target = (args.target, config.model_name, args.timeout, args.rest)
    results = predict_files(args.files, *target, **access)
    emit(results)
    failed = [result for result in results if "error" in result]
    for result in failed:
        error = result["error"]
        print(
            f"household-sounds predict: {result['file']}: {error['code']}: {error['message']}",
            file=sys.stderr,
        )
    if not failed:
        return 0
    first = failed[0]["error"]["code"]
    return 2 if first == UNREADABLE else grpc.StatusCode[first].value[0]


def _listen_flags(parser: argparse.ArgumentParser) -> None:
    source = parser.add_mutually_exclusive_group()
    source.add_argument("--file", help="stream this audio file instead of the microphone")
    source.add_argument("--device", help="PortAudio input device (name or index)")
    parser.add_argument("--rate", type=int, default=16000, help="microphone sample rate (Hz)")
    parser.add_argument("--speed", type=float, default=1.0, help="--file pace, x real time")
    parser.add_argument("--hop", type=float, default=1.0, help="seconds between predictions")
    parser.add_argument("--alert", default="", help="classes that raise alerts: human,alarm")
    parser.add_argument("--threshold", type=float, default=0.6, help="alert probability")
    parser.add_argument("--debounce", type=float, default=10.0, help="seconds between alerts")
    parser.add_argument("--webhook", help="POST every alert as JSON to this URL")
    connection.server_flags(parser)


@command("listen", config=DeployConfig, only=NAME, flags=_listen_flags)
def _listen(args: argparse.Namespace, config: DeployConfig) -> int:
    """Classify live audio (microphone or --file) every hop; alerts as JSON, optional webhook."""
    import dataclasses
    import logging

    from components.audio.labels import CLASS_NAMES
    from serving import listen
    from serving.alerts import Alerter, AlertRule, Webhook
    from serving.status import ServingError

    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(message)s")
    classes = tuple(name.strip() for name in args.alert.split(",") if name.strip())
    try:
        alerter = Alerter(AlertRule(classes, args.threshold, args.debounce), CLASS_NAMES)
        webhook = Webhook(args.webhook) if args.webhook else None
        if args.file:
            source = listen.FileSource(args.file, args.speed)
        else:
            device = int(args.device) if args.device and args.device.isdigit() else args.device
            source = listen.MicrophoneSource(args.rate, device)
    except (ValueError, listen.ListenError) as error:
        _refuse("FAILED_PRECONDITION", str(error))
        return 2
    display = listen.Display(CLASS_NAMES)
    try:
        with _connect(args, config) as client:
            summary = listen.listen(
                source,
                lambda wav: client.predict_wav([wav])[0],
                args.hop,
                display,
                alerter if classes else None,
                webhook,
            )
    except ServingError as error:
        return _serving_error(error)
    json.dump({"event": "summary", **dataclasses.asdict(summary)}, sys.stderr)
    sys.stderr.write("\n")
    return 0


def _app_flags(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--port", type=int, default=8080, help="HTTP port of the web app")
    parser.add_argument("--host", default="127.0.0.1", help="interface (0.0.0.0 in a pod)")
    parser.add_argument("--max-upload-mb", type=float, default=32.0, help="largest upload")
    connection.server_flags(parser)


@command("app", config=DeployConfig, only=NAME, flags=_app_flags)
def _app(args: argparse.Namespace, config: DeployConfig) -> int:
    """Serve the listening web app (browser microphone, uploads) proxying to TF Serving."""
    import logging

    from serving.app import server

    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(message)s")
    settings = server.AppConfig(max_upload_bytes=int(args.max_upload_mb * 2**20))
    with _connect(args, config) as client:
        httpd = server.make_server(client, settings, args.port, args.host)
        port = httpd.server_address[1]
        logging.info("web app on http://%s:%d/ (TF Serving at %s)", args.host, port, args.target)
        try:
            httpd.serve_forever()
        except KeyboardInterrupt:
            pass
        finally:
            httpd.server_close()
    return 0


def _describe_flags(parser: argparse.ArgumentParser) -> None:
    source = parser.add_mutually_exclusive_group(required=True)
    help = "host:port of a running server (gRPC; REST with --rest)"
    source.add_argument("--target", help=help)
    help = "read the card from a model base (local or gs://): what real TF Serving serves"
    source.add_argument("--model-base", help=help)
    parser.add_argument("--rest", action="store_true", help="--target is the REST API (:8501)")
    parser.add_argument("--json", action="store_true", help="print JSON instead of Markdown")
    connection.timeout_flag(parser)
    connection.version_flags(parser)
    connection.security_flags(parser)


@command("describe", config=DeployConfig, only=NAME, flags=_describe_flags)
def _describe(args: argparse.Namespace, config: DeployConfig) -> int:
    """Print what is served: version, signatures (GetModelMetadata) and the model card."""
    from serving import describe
    from serving.status import ServingError

    try:
        if args.model_base:
            described = describe.from_model_base(
                args.model_base, config.model_name, args.version, args.label
            )
        else:
            how = connection.access(args)
            if args.rest:
                url = f"{how['security'].scheme()}://{args.target}"
                described = describe.from_rest(url, config.model_name, args.timeout, **how)
            else:
                described = describe.from_grpc(args.target, config.model_name, args.timeout, **how)
    except ServingError as error:
        return _serving_error(error)
    except FileNotFoundError as error:
        _refuse("NOT_FOUND", str(error))
        return 5  # grpc.StatusCode.NOT_FOUND
    if args.json:
        return emit(described)
    sys.stdout.write(describe.render(described))
    return 0


def _serve_dev_flags(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--port", type=int, default=8500, help="gRPC port")
    parser.add_argument("--rest-port", type=int, default=0, help="REST port (0: no REST API)")
    help = "seconds between two reads of <model-base>/models.config, when there is one"
    parser.add_argument("--model-config-file-poll-wait-seconds", type=float, default=2.0, help=help)
    group = parser.add_argument_group("TLS and a required token")
    group.add_argument("--tls-cert", help="PEM server certificate: serve gRPC and REST over TLS")
    group.add_argument("--tls-key", help="PEM key of --tls-cert")
    group.add_argument("--tls-client-ca", help="PEM CA bundle: require client certificates (mTLS)")
    group.add_argument("--require-token-file", help="file holding the bearer token to require")


@command("serve-dev", "model-base", flags=_serve_dev_flags)
def _serve_dev(args: argparse.Namespace) -> int:
    """Serve exported models on 127.0.0.1 with the DEVELOPMENT stand-in for TF Serving."""
    from pathlib import Path

    from serving.dev_server import launcher
    from serving.dev_server.security import ServerSecurity

    token = None
    if args.require_token_file:
        token = Path(args.require_token_file).read_text(encoding="utf-8").strip()
    security = ServerSecurity(args.tls_cert, args.tls_key, args.tls_client_ca, token)
    launcher.serve_until_stopped(
        args.model_base,
        args.port,
        args.rest_port,
        args.model_config_file_poll_wait_seconds,
        security,
    )
    return 0
