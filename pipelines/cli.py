"""The ``household-sounds`` command line: one subcommand per thing a user does.

Each subcommand parses its flags here and then imports the module that does the work, so
``--help`` answers instantly without loading TensorFlow. Subcommands call the same pure step
cores and the same pipeline function that Kubeflow runs; nothing here is a second code path.
"""

import argparse
import json
import sys
from collections.abc import Callable

Handler = Callable[[argparse.Namespace], int]
_COMMANDS: dict[str, tuple[Callable[[argparse.ArgumentParser], None], Handler]] = {}


def command(name: str, configure: Callable[[argparse.ArgumentParser], None]):
    """Registers ``handler`` as subcommand ``name`` whose flags ``configure`` adds."""

    def register(handler: Handler) -> Handler:
        _COMMANDS[name] = (configure, handler)
        return handler

    return register


def _print_json(payload: object) -> None:
    json.dump(payload, sys.stdout, indent=2, default=str)
    sys.stdout.write("\n")


def _beam_flags(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--runner",
        default="FnApiRunner",
        help="Beam runner: FnApiRunner (local, default), DirectRunner, DataflowRunner, "
        "FlinkRunner, SparkRunner",
    )
    parser.add_argument(
        "--beam-arg",
        action="append",
        default=[],
        metavar="FLAG",
        help="extra Beam pipeline option, repeatable, e.g. --beam-arg=--direct_num_workers=2",
    )


def _ingest_flags(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--data-root", required=True, help="dataset root (local path or gs://)")
    parser.add_argument(
        "--data-format", required=True, choices=["fsd50k", "esc50", "manifest"], help="layout"
    )
    parser.add_argument("--output", required=True, help="output directory")
    parser.add_argument("--taxonomy", default="", help="taxonomy JSON (default: the seed's)")
    parser.add_argument("--seed", type=int, default=0, help="split seed")


@command("ingest", _ingest_flags)
def _ingest(args: argparse.Namespace) -> int:
    """Read a dataset layout and write the labelled, split manifest."""
    from components.ingest import core

    config = core.IngestConfig(
        data_format=args.data_format, taxonomy_path=args.taxonomy, seed=args.seed
    )
    _print_json(core.run(args.data_root, args.output, config).summary())
    return 0


def _demo_data_flags(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--output", required=True, help="directory to write the dataset into")
    parser.add_argument("--seed", type=int, default=0, help="generator seed")


@command("demo-data", _demo_data_flags)
def _demo_data(args: argparse.Namespace) -> int:
    """Generate the embedded FSD50K-shaped demo dataset."""
    from demo_data import dataset

    _print_json(dataset.generate(args.output, dataset.DemoConfig(seed=args.seed)))
    return 0


def _featurize_flags(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--manifest", required=True, help="manifest.jsonl from ingest")
    parser.add_argument("--output", required=True, help="output directory")
    parser.add_argument("--num-shards", type=int, default=4, help="TFRecord shards per split")
    _beam_flags(parser)


@command("featurize", _featurize_flags)
def _featurize(args: argparse.Namespace) -> int:
    """Featurize a manifest with Beam + tf.Transform into TFRecords."""
    from components.featurize import core

    config = core.FeaturizeConfig(
        num_shards=args.num_shards, runner=args.runner, beam_args=tuple(args.beam_arg)
    )
    _print_json(core.run(args.manifest, args.output, config).summary())
    return 0


def _compile_flags(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--output", default="build/pipeline.yaml", help="IR YAML path")


@command("compile", _compile_flags)
def _compile(args: argparse.Namespace) -> int:
    """Compile the pipeline to KFP IR YAML for any KFP v2 backend."""
    from pipelines.compile import compile_pipeline

    print(compile_pipeline(args.output))
    return 0


def _submit_flags(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--host", required=True, help="KFP API endpoint, e.g. http://localhost:8080"
    )
    parser.add_argument("--package", default="", help="compiled YAML (default: compile now)")
    parser.add_argument("--namespace", default=None, help="profile namespace (multi-user KFP)")
    parser.add_argument("--experiment", default="household-sounds", help="experiment name")
    parser.add_argument("--run-name", default=None, help="run display name")
    parser.add_argument(
        "--param", action="append", default=[], metavar="K=V", help="pipeline argument, repeatable"
    )
    parser.add_argument(
        "--caching", choices=["on", "off"], default=None, help="override every task's caching"
    )
    parser.add_argument("--service-account", default=None, help="pods' service account")
    parser.add_argument(
        "--cron", default="", help="create a recurring run instead (6 fields, seconds first)"
    )


@command("submit", _submit_flags)
def _submit(args: argparse.Namespace) -> int:
    """Submit a run (or a recurring run) of the pipeline to a Kubeflow Pipelines endpoint."""
    import tempfile

    from pipelines import submit
    from pipelines.compile import compile_pipeline

    with tempfile.TemporaryDirectory() as tmp:
        package = args.package or compile_pipeline(f"{tmp}/pipeline.yaml")
        common = {
            "namespace": args.namespace,
            "experiment": args.experiment,
            "params": submit.parse_params(args.param),
            "enable_caching": None if args.caching is None else args.caching == "on",
            "service_account": args.service_account,
        }
        if args.cron:
            name = args.run_name or "household-sounds-recurring"
            run_id = submit.create_recurring_run(
                package, args.host, name=name, cron=args.cron, **common
            )
            _print_json({"recurring_run_id": run_id})
        else:
            run_id = submit.submit(package, args.host, run_name=args.run_name, **common)
            _print_json({"run_id": run_id})
    return 0


def _run_flags(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--data-root", required=True, help="dataset root (local path or gs://)")
    parser.add_argument(
        "--data-format", default="fsd50k", choices=["fsd50k", "esc50", "manifest"], help="layout"
    )
    parser.add_argument("--output", required=True, help="run directory")
    parser.add_argument(
        "--preset",
        default="full",
        choices=["full", "demo"],
        help="parameter defaults: the study's full budgets, or the demo's small ones",
    )
    parser.add_argument(
        "--param", action="append", default=[], metavar="K=V", help="override a pipeline parameter"
    )


def _run_locally(data_root: str, output: str, arguments: dict) -> int:
    from pathlib import Path

    from pipelines import local
    from pipelines.training import training_pipeline

    arguments = {
        "data_root": str(Path(data_root).resolve()),
        "model_base": str(Path(output, "serving").resolve()),
        **arguments,
    }
    _print_json(local.run(training_pipeline, output, arguments).__dict__)
    return 0


@command("run", _run_flags)
def _run(args: argparse.Namespace) -> int:
    """Run the whole pipeline locally (kfp.local) on your own data."""
    from pipelines.submit import parse_params
    from pipelines.training import DEMO_ARGUMENTS

    arguments = dict(DEMO_ARGUMENTS) if args.preset == "demo" else {}
    arguments.update({"data_format": args.data_format, **parse_params(args.param)})
    return _run_locally(args.data_root, args.output, arguments)


def _demo_flags(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--data-root", default="data/demo", help="where the demo dataset goes")
    parser.add_argument("--output", default="runs/demo", help="run directory")


@command("demo", _demo_flags)
def _demo(args: argparse.Namespace) -> int:
    """Generate the demo dataset (if absent) and run the whole pipeline locally on it."""
    from pathlib import Path

    from demo_data import dataset
    from pipelines.training import DEMO_ARGUMENTS

    if not Path(args.data_root, "FSD50K.metadata").is_dir():
        dataset.generate(args.data_root, dataset.DemoConfig())
    return _run_locally(args.data_root, args.output, dict(DEMO_ARGUMENTS))


def _export_flags(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--model-dir", required=True, help="trained model directory (model.json)")
    parser.add_argument("--transform-graph", required=True, help="featurize's transform_graph/")
    parser.add_argument("--output", required=True, help="new local SavedModel directory")
    parser.add_argument("--model-name", default="household_sounds", help="served model name")


@command("export", _export_flags)
def _export(args: argparse.Namespace) -> int:
    """Export a trained model as a raw-audio serving SavedModel (no blessing check)."""
    from components.deploy import core

    info = core.export_model(args.model_dir, args.transform_graph, args.output, args.model_name)
    _print_json({"model": info.name, "feature": info.feature, "export_dir": args.output})
    return 0


def _deploy_flags(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--model-dir", required=True, help="trained model directory (model.json)")
    parser.add_argument("--transform-graph", required=True, help="featurize's transform_graph/")
    parser.add_argument("--model-base", required=True, help="TF Serving model base (or gs://)")
    parser.add_argument("--blessing", required=True, help="blessing.json (or its directory)")
    parser.add_argument("--model-name", default="household_sounds", help="served model name")
    parser.add_argument("--version", type=int, default=None, help="version (default: Unix time)")
    parser.add_argument("--force", action="store_true", help="deploy even if not blessed")


@command("deploy", _deploy_flags)
def _deploy(args: argparse.Namespace) -> int:
    """Export a blessed model and publish it as a new TF Serving model version."""
    from components.deploy import core

    config = core.DeployConfig(model_name=args.model_name, force=args.force, version=args.version)
    result = core.run(args.model_dir, args.transform_graph, args.model_base, args.blessing, config)
    _print_json(result.summary())
    return 0


def _predict_flags(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("files", nargs="+", metavar="FILE", help="16-bit PCM WAV files")
    parser.add_argument("--target", default="localhost:8500", help="host:port of the server")
    parser.add_argument("--rest", action="store_true", help="use the REST API (e.g. :8501)")
    parser.add_argument("--model-name", default="household_sounds", help="served model name")
    parser.add_argument("--timeout", type=float, default=30.0, help="seconds per request")


@command("predict", _predict_flags)
def _predict(args: argparse.Namespace) -> int:
    """Classify WAV files with a served model; exits with the gRPC status code on rejection."""
    from pathlib import Path

    from components.audio.labels import CLASS_NAMES
    from serving.client import GrpcClient, RestClient
    from serving.status import ServingError

    wavs = [Path(path).read_bytes() for path in args.files]
    try:
        if args.rest:
            client = RestClient(f"http://{args.target}", args.model_name, args.timeout)
            predictions = client.predict_wav(wavs)
        else:
            with GrpcClient(args.target, args.model_name, args.timeout) as client:
                predictions = client.predict_wav(wavs)
    except ServingError as error:
        json.dump({"error": error.code, "message": error.message}, sys.stderr)
        sys.stderr.write("\n")
        return error.grpc_code.value[0]
    _print_json(
        [
            {"file": path, **prediction.to_json(CLASS_NAMES)}
            for path, prediction in zip(args.files, predictions, strict=True)
        ]
    )
    return 0


def _serve_dev_flags(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--model-base", required=True, help="holds <model_name>/<version>/")
    parser.add_argument("--port", type=int, default=8500, help="gRPC port")
    parser.add_argument("--rest-port", type=int, default=0, help="REST port (0: no REST API)")


@command("serve-dev", _serve_dev_flags)
def _serve_dev(args: argparse.Namespace) -> int:
    """Serve exported models on 127.0.0.1 with the DEVELOPMENT stand-in for TF Serving."""
    import logging
    import signal

    from serving import dev_server, rest

    logging.basicConfig(level=logging.INFO)
    # Stop on Ctrl-C and on SIGTERM (what Kubernetes and process managers send), also when
    # started with SIGINT ignored, as the children of a shell's background job are.
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, signal.default_int_handler)
    repository = dev_server.ModelRepository.from_base(args.model_base)
    server, _ = dev_server.serve(repository, args.port)
    if args.rest_port:
        rest.serve(repository, args.rest_port)
    try:
        server.wait_for_termination()
    except KeyboardInterrupt:
        server.stop(grace=2).wait()
    return 0


def _rebalance_flags(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--manifest", required=True, help="manifest.jsonl from ingest")
    parser.add_argument("--output", required=True, help="output directory")
    parser.add_argument(
        "--preset", default="full", choices=["full", "demo"], help="defaults (5000 or 60/class)"
    )
    parser.add_argument("--target-per-class", type=int, help="training clips per class")
    parser.add_argument("--seed", type=int, default=0, help="sampling and augmentation seed")


@command("rebalance", _rebalance_flags)
def _rebalance(args: argparse.Namespace) -> int:
    """Under/oversample the training split to a per-class target (copies are augmented)."""
    from components.rebalance import core

    options = {**core.PRESETS[args.preset], "seed": args.seed}
    if args.target_per_class is not None:
        options["target_per_class"] = args.target_per_class
    _print_json(core.run(args.manifest, args.output, core.RebalanceConfig(**options)).summary())
    return 0


def _train_flags(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--examples", required=True, help="featurize output directory")
    parser.add_argument(
        "--family",
        required=True,
        choices=["cnn_log_mel", "cnn_mfcc", "resnet50_mfcc", "dense_mean_mfcc"],
        help="model family (the study's 1a, 2a, 2b, 3a)",
    )
    parser.add_argument("--output", required=True, help="model directory to write")
    parser.add_argument("--tuned", action="store_true", help="Keras Tuner search first")
    parser.add_argument(
        "--preset", default="full", choices=["full", "demo"], help="epochs/trials defaults"
    )
    parser.add_argument("--epochs", type=int, help="maximum epochs (full 40, demo 6)")
    parser.add_argument("--max-trials", type=int, help="Bayesian trial budget (full 10, demo 2)")
    parser.add_argument("--tuner", default="bayesian", choices=["bayesian", "hyperband"])
    parser.add_argument("--batch-size", type=int, help="examples per batch (full 32, demo 16)")
    parser.add_argument("--patience", type=int, default=5, help="early-stopping patience")
    parser.add_argument("--class-weights", action="store_true", help="inverse-frequency weights")
    parser.add_argument(
        "--resnet-weights", default=None, choices=["imagenet"], help="pretrained ResNet50 body"
    )
    parser.add_argument("--seed", type=int, default=0, help="initialisation/shuffle/tuner seed")
    parser.add_argument("--tuner-dir", default="", help="tuner state dir (shared when distributed)")
    parser.add_argument(
        "--tuner-id", default="", help="distributed tuning: 'chief' or a unique worker id"
    )
    parser.add_argument("--oracle-address", default="", help="distributed tuning: chief host:port")


@command("train", _train_flags)
def _train(args: argparse.Namespace) -> int:
    """Train one Keras model family (seed configuration, or Keras-Tuner-tuned)."""
    from components.train import core

    options = dict(core.PRESETS[args.preset])
    for key in ("epochs", "max_trials", "batch_size"):
        if getattr(args, key) is not None:
            options[key] = getattr(args, key)
    config = core.TrainConfig(
        family=args.family,
        tuned=args.tuned,
        tuner=args.tuner,
        early_stopping_patience=args.patience,
        class_weights=args.class_weights,
        resnet_weights=args.resnet_weights,
        seed=args.seed,
        tuner_dir=args.tuner_dir,
        tuner_id=args.tuner_id,
        oracle_address=args.oracle_address,
        **options,
    )
    _print_json(core.run(args.examples, args.output, config).summary())
    return 0


def _baselines_flags(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--examples", required=True, help="featurize output directory")
    parser.add_argument(
        "--model",
        required=True,
        choices=["logistic_regression", "random_forest", "svc"],
        help="the study's 3b, 3c or 3d",
    )
    parser.add_argument("--output", required=True, help="model directory to write")
    parser.add_argument(
        "--n-iter", type=int, default=0, help="search candidates (0: the study's 10/50/20)"
    )
    parser.add_argument("--seed", type=int, default=0, help="search and estimator seed")


@command("baselines", _baselines_flags)
def _baselines(args: argparse.Namespace) -> int:
    """Fit one scikit-learn baseline on mean-MFCC with randomized search and 3-fold CV."""
    from components.baselines import core

    config = core.BaselinesConfig(model_name=args.model, n_iter=args.n_iter, seed=args.seed)
    _print_json(core.run(args.examples, args.output, config).summary())
    return 0


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with every registered subcommand."""
    parser = argparse.ArgumentParser(
        prog="household-sounds",
        description="Household sound classification on Kubeflow Pipelines.",
    )
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, (configure, handler) in _COMMANDS.items():
        summary = (handler.__doc__ or "").strip().splitlines()[0]
        sub = subparsers.add_parser(name, help=summary, description=summary)
        configure(sub)
        sub.set_defaults(handler=handler)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``household-sounds`` console script."""
    args = build_parser().parse_args(argv)
    return args.handler(args)


if __name__ == "__main__":
    sys.exit(main())
