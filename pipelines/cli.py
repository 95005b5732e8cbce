"""The ``household-sounds`` command line: one subcommand per thing a user does.

Each subcommand declares its paths and its step's config dataclass, whose fields become its
options (``cli_flags``), and imports the module that does the work only when it runs, so
``--help`` answers instantly without loading TensorFlow. Subcommands call the same pure step
cores and the same pipeline function that Kubeflow runs; nothing here is a second code path.
"""

import argparse
import json
import sys
from typing import Any

from components.baselines.config import BaselinesConfig
from components.deploy.config import DeployConfig
from components.featurize.config import FeaturizeConfig
from components.ingest.config import DEFAULT_FORMAT, FORMATS, IngestConfig
from components.rebalance import config as rebalance
from components.rebalance.config import RebalanceConfig
from components.train import config as train
from pipelines import presets
from pipelines.cli_flags import Command, add_config_flags, config_from_args, registrar
from pipelines.submit import SubmitOptions

_COMMANDS: dict[str, Command] = {}
command = registrar(_COMMANDS)
NAME = ("model_name",)  # the one DeployConfig option of export and predict


def _emit(payload: Any) -> int:
    json.dump(payload, sys.stdout, indent=2, default=str)
    sys.stdout.write("\n")
    return 0


@command("ingest", "data-root", "output", config=IngestConfig)
def _ingest(args: argparse.Namespace, config: IngestConfig) -> int:
    """Read a dataset layout and write the labelled, split manifest."""
    from components.ingest import core

    return _emit(core.run(args.data_root, args.output, config).summary())


def _seed(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--seed", type=int, default=0, help="generator seed")


@command("demo-data", "output", flags=_seed)
def _demo_data(args: argparse.Namespace) -> int:
    """Generate the embedded FSD50K-shaped demo dataset."""
    from demo_data import dataset

    return _emit(dataset.generate(args.output, dataset.DemoConfig(seed=args.seed)))


@command("featurize", "manifest", "output", config=FeaturizeConfig)
def _featurize(args: argparse.Namespace, config: FeaturizeConfig) -> int:
    """Featurize a manifest with Beam + tf.Transform into TFRecords."""
    from components.featurize import core

    return _emit(core.run(args.manifest, args.output, config).summary())


@command("rebalance", "manifest", "output", config=RebalanceConfig, presets=rebalance.PRESETS)
def _rebalance(args: argparse.Namespace, config: RebalanceConfig) -> int:
    """Under/oversample the training split to a per-class target (copies are augmented)."""
    from components.rebalance import core

    return _emit(core.run(args.manifest, args.output, config).summary())


@command("train", "examples", "output", config=train.TrainConfig, presets=train.PRESETS)
def _train(args: argparse.Namespace, config: train.TrainConfig) -> int:
    """Train one Keras family (seed configuration, or Keras-Tuner-tuned)."""
    from components.train import core

    return _emit(core.run(args.examples, args.output, config).summary())


@command("baselines", "examples", "output", config=BaselinesConfig)
def _baselines(args: argparse.Namespace, config: BaselinesConfig) -> int:
    """Fit one scikit-learn baseline on mean-MFCC with randomized search and 3-fold CV."""
    from components.baselines import core

    return _emit(core.run(args.examples, args.output, config).summary())


def _image_reference(text: str) -> str:
    from pipelines.image import check_name

    try:
        return check_name(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def _image_flag(parser: argparse.ArgumentParser) -> None:
    help = (
        "image every task runs (default $HOUSEHOLD_SOUNDS_IMAGE, else image in "
        "household-sounds.toml or ~/.config/household-sounds/config.toml, else the release "
        "image); no tag: the git commit"
    )
    parser.add_argument("--image", type=_image_reference, metavar="REGISTRY/NAME[:TAG]", help=help)


def _image(args: argparse.Namespace) -> str:
    """``--image``, else ``$HOUSEHOLD_SOUNDS_IMAGE``, the settings file, the release image."""
    from pipelines.image import resolve_image

    try:
        return resolve_image(args.image)
    except ValueError as error:
        raise SystemExit(f"household-sounds: {error}") from None


def _accelerator_flags(parser: argparse.ArgumentParser) -> None:
    from pipelines.accelerator import Accelerator

    add_config_flags(parser, Accelerator)


def _accelerator(args: argparse.Namespace):
    """The training tasks' accelerator and placement the flags describe."""
    from pipelines.accelerator import Accelerator

    try:
        return config_from_args(args, Accelerator)
    except ValueError as error:
        raise SystemExit(f"household-sounds: {error}") from None


def _compile_flags(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--output", default="build/pipeline.yaml", help="IR YAML path")
    help = "mount PersistentVolumeClaim NAME at PATH in every task, repeatable (kind's store)"
    parser.add_argument("--pvc", action="append", default=[], metavar="NAME:PATH", help=help)
    _image_flag(parser)
    _accelerator_flags(parser)


@command("compile", flags=_compile_flags)
def _compile(args: argparse.Namespace) -> int:
    """Compile the pipeline to KFP IR YAML for any KFP v2 backend."""
    from pipelines.compile import compile_pipeline
    from pipelines.training import PvcMount

    pvcs = [PvcMount.parse(pvc) for pvc in args.pvc]
    print(compile_pipeline(args.output, pvcs, _image(args), _accelerator(args)))
    return 0


def _preset_and_params(parser: argparse.ArgumentParser) -> None:
    choices = list(presets.PRESETS)
    help = "pipeline defaults: the study's full budgets, or the demo's small ones"
    parser.add_argument("--preset", default="full", choices=choices, help=help)
    help = "pipeline argument, repeatable (overrides the preset)"
    parser.add_argument("--param", action="append", default=[], metavar="K=V", help=help)


def _arguments(args: argparse.Namespace, **fixed: object) -> dict[str, object]:
    """The preset's pipeline arguments, then ``fixed``, then every ``--param``."""
    from pipelines.submit import parse_params

    return {**presets.PRESETS[args.preset], **fixed, **parse_params(args.param)}


def _submit_flags(parser: argparse.ArgumentParser) -> None:
    _preset_and_params(parser)
    _image_flag(parser)
    _accelerator_flags(parser)


@command("submit", config=SubmitOptions, flags=_submit_flags)
def _submit(args: argparse.Namespace, options: SubmitOptions) -> int:
    """Submit a run (or a recurring run) of the pipeline to Kubeflow Pipelines or Vertex AI."""
    import tempfile

    from pipelines import submit
    from pipelines.accelerator import CPU_ONLY
    from pipelines.compile import compile_pipeline

    accelerator = _accelerator(args)
    if options.package and args.image:
        raise SystemExit("household-sounds submit: --image needs no --package (recompile it)")
    if options.package and accelerator != CPU_ONLY:
        raise SystemExit(
            "household-sounds submit: accelerator and placement flags need no --package "
            "(recompile it)"
        )
    with tempfile.TemporaryDirectory() as tmp:
        compiled = f"{tmp}/pipeline.yaml"
        package = options.package or compile_pipeline(
            compiled, image=_image(args), accelerator=accelerator
        )
        try:
            payload, code = submit.start(package, options, _arguments(args))
        except ValueError as error:  # ParamError, VertexTarget: a usage error, nothing sent
            raise SystemExit(f"household-sounds submit: {error}") from None
    _emit(payload)
    return code


def _absolute(location: str) -> str:
    """A local path made absolute (kfp.local tasks run elsewhere); a URI (gs://...) untouched."""
    from pathlib import Path

    return location if "://" in location else str(Path(location).resolve())


def _run_locally(data_root: str, output: str, arguments: dict, cache: bool) -> int:
    """Runs the pipeline with kfp.local; with ``cache``, ingest is keyed by the data's files.

    With ``cache``, training keeps its resume state in ``<output>/checkpoints`` too, so a run
    interrupted during training continues its epochs and tuner trials when run again.
    """
    from pathlib import Path

    from pipelines import local
    from pipelines.training import build_pipeline, training_pipeline

    data = {"data_root": _absolute(data_root)}
    data["model_base"] = str(Path(output, "serving").resolve())  # the run directory is local
    pipeline = training_pipeline
    if cache:
        from components.ingest.fingerprint import fingerprint

        data["data_fingerprint"] = fingerprint(data["data_root"])
        data["checkpoint_root"] = str(Path(output, "checkpoints").resolve())
        pipeline = build_pipeline(cache_ingest=True)
    return _emit(local.run(pipeline, output, {**data, **arguments}, cache).__dict__)


def _cache_flag(parser: argparse.ArgumentParser) -> None:
    help = "rerun every step (default: reuse the steps an earlier run into --output completed)"
    parser.add_argument("--no-cache", dest="cache", action="store_false", help=help)


def _run_flags(parser: argparse.ArgumentParser) -> None:
    help = f"layout (default {DEFAULT_FORMAT})"
    parser.add_argument("--data-format", choices=FORMATS, default=DEFAULT_FORMAT, help=help)
    _preset_and_params(parser)
    _cache_flag(parser)


@command("run", "data-root", "output", flags=_run_flags)
def _run(args: argparse.Namespace) -> int:
    """Run the whole pipeline locally (kfp.local) on your own data."""
    arguments = _arguments(args, data_format=args.data_format)
    return _run_locally(args.data_root, args.output, arguments, args.cache)


def _demo_flags(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--data-root", default="data/demo", help="where the demo dataset goes")
    parser.add_argument("--output", default="runs/demo", help="run directory")
    _cache_flag(parser)


@command("demo", flags=_demo_flags)
def _demo(args: argparse.Namespace) -> int:
    """Generate the demo dataset (if absent) and run the whole pipeline locally on it."""
    from pathlib import Path

    from demo_data import dataset

    if not Path(args.data_root, "FSD50K.metadata").is_dir():
        dataset.generate(args.data_root, dataset.DemoConfig())
    return _run_locally(args.data_root, args.output, dict(presets.DEMO_ARGUMENTS), args.cache)


@command("export", "model-dir", "transform-graph", "output", config=DeployConfig, only=NAME)
def _export(args: argparse.Namespace, config: DeployConfig) -> int:
    """Export a trained model as a raw-audio serving SavedModel (no blessing check)."""
    from components.deploy import core

    info = core.export_model(args.model_dir, args.transform_graph, args.output, config.model_name)
    return _emit({"model": info.name, "feature": info.feature, "export_dir": args.output})


@command("deploy", "model-dir", "transform-graph", "model-base", "blessing", config=DeployConfig)
def _deploy(args: argparse.Namespace, config: DeployConfig) -> int:
    """Export a blessed model and publish it as a new TF Serving model version."""
    from components.deploy import core

    paths = (args.model_dir, args.transform_graph, args.model_base, args.blessing)
    return _emit(core.run(*paths, config).summary())


def _server_flags(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--target", default="localhost:8500", help="host:port of TF Serving")
    parser.add_argument("--rest", action="store_true", help="use the REST API (e.g. :8501)")
    parser.add_argument("--timeout", type=float, default=30.0, help="seconds per request")


def _predict_flags(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("files", nargs="+", metavar="FILE", help="WAV files")
    _server_flags(parser)


def _serving_error(error) -> int:
    """Prints a rejected request as JSON on stderr; returns the gRPC status code number."""
    json.dump({"error": error.code, "message": error.message}, sys.stderr)
    sys.stderr.write("\n")
    return error.grpc_code.value[0]


@command("predict", config=DeployConfig, only=NAME, flags=_predict_flags)
def _predict(args: argparse.Namespace, config: DeployConfig) -> int:
    """Classify WAV files with a served model; exits with the gRPC status code on rejection."""
    from serving.client import predict_files
    from serving.status import ServingError

    try:
        return _emit(
            predict_files(args.files, args.target, config.model_name, args.timeout, args.rest)
        )
    except ServingError as error:
        return _serving_error(error)


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
    _server_flags(parser)


@command("listen", config=DeployConfig, only=NAME, flags=_listen_flags)
def _listen(args: argparse.Namespace, config: DeployConfig) -> int:
    """Classify live audio (microphone or --file) every hop; alerts as JSON, optional webhook."""
    import dataclasses
    import logging

    from components.audio.labels import CLASS_NAMES
    from serving import listen
    from serving.alerts import Alerter, AlertRule, Webhook
    from serving.client import connect
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
        json.dump({"error": "FAILED_PRECONDITION", "message": str(error)}, sys.stderr)
        sys.stderr.write("\n")
        return 2
    display = listen.Display(CLASS_NAMES)
    try:
        with connect(args.target, args.rest, config.model_name, args.timeout) as client:
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
    _server_flags(parser)


@command("app", config=DeployConfig, only=NAME, flags=_app_flags)
def _app(args: argparse.Namespace, config: DeployConfig) -> int:
    """Serve the listening web app (browser microphone, uploads) proxying to TF Serving."""
    import logging

    from serving.app import server
    from serving.client import connect

    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(message)s")
    settings = server.AppConfig(max_upload_bytes=int(args.max_upload_mb * 2**20))
    with connect(args.target, args.rest, config.model_name, args.timeout) as client:
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
    parser.add_argument("--version", type=int, help="with --model-base: version (default newest)")
    parser.add_argument("--json", action="store_true", help="print JSON instead of Markdown")
    parser.add_argument("--timeout", type=float, default=30.0, help="seconds per request")


@command("describe", config=DeployConfig, only=NAME, flags=_describe_flags)
def _describe(args: argparse.Namespace, config: DeployConfig) -> int:
    """Print what is served: version, signatures (GetModelMetadata) and the model card."""
    from serving import describe
    from serving.status import ServingError

    try:
        if args.model_base:
            described = describe.from_model_base(args.model_base, config.model_name, args.version)
        elif args.rest:
            described = describe.from_rest(f"http://{args.target}", config.model_name, args.timeout)
        else:
            described = describe.from_grpc(args.target, config.model_name, args.timeout)
    except ServingError as error:
        json.dump({"error": error.code, "message": error.message}, sys.stderr)
        sys.stderr.write("\n")
        return error.grpc_code.value[0]
    except FileNotFoundError as error:
        json.dump({"error": "NOT_FOUND", "message": str(error)}, sys.stderr)
        sys.stderr.write("\n")
        return 5  # grpc.StatusCode.NOT_FOUND
    if args.json:
        return _emit(described)
    sys.stdout.write(describe.render(described))
    return 0


def _serve_dev_flags(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--port", type=int, default=8500, help="gRPC port")
    parser.add_argument("--rest-port", type=int, default=0, help="REST port (0: no REST API)")


@command("serve-dev", "model-base", flags=_serve_dev_flags)
def _serve_dev(args: argparse.Namespace) -> int:
    """Serve exported models on 127.0.0.1 with the DEVELOPMENT stand-in for TF Serving."""
    from serving import dev_server

    dev_server.serve_until_stopped(args.model_base, args.port, args.rest_port)
    return 0


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with every registered subcommand."""
    parser = argparse.ArgumentParser(
        prog="household-sounds",
        description="Household sound classification on Kubeflow Pipelines.",
    )
    subparsers = parser.add_subparsers(dest="name", required=True, metavar="COMMAND")
    for name, spec in _COMMANDS.items():
        summary = (spec.handler.__doc__ or "").strip().splitlines()[0]
        sub = subparsers.add_parser(name, help=summary, description=summary)
        spec.configure(sub)
        sub.set_defaults(command=spec)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``household-sounds`` console script."""
    args = build_parser().parse_args(argv)
    return args.command.run(args)


if __name__ == "__main__":
    sys.exit(main())
