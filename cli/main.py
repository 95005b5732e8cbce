"""The ``household-sounds`` command line: one subcommand per thing a user does.

Each subcommand declares its paths and its step's config dataclass, whose fields become its
options (``cli.flags``), and imports the module that does the work only when it runs, so
``--help`` answers instantly without loading TensorFlow. Subcommands call the same pure step
cores and the same pipeline function that Kubeflow runs; nothing here is a second code path.
The steps' commands are here; the pipeline's for a cluster (``cluster``) and for this
machine (``local``), the serving commands (``serving``) and the rollout's (``rollout``) live
beside it. ``main`` turns what a
command raises into one line on stderr and an exit code (``EXIT_CODES``; ``--debug`` shows the
traceback instead): results are the JSON on stdout, everything else goes to stderr.
"""

import argparse
import dataclasses
import importlib.metadata
import sys
from pathlib import Path

from cli import cluster, console, data_roots, local, rollout, serving
from cli.flags import Command, emit, registrar
from components.baselines.config import BaselinesConfig
from components.featurize.config import FeaturizeConfig
from components.ingest.config import IngestConfig
from components.rebalance import config as rebalance
from components.rebalance.config import RebalanceConfig
from components.train import config as train

_COMMANDS: dict[str, Command] = {}
command = registrar(_COMMANDS)

EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130
EXIT_CODES = {
    0: "done",
    EXIT_FAILED: "the work failed (the line says why; --debug for the traceback)",
    EXIT_USAGE: "a usage error: a bad option or --param, a missing or unreadable file or folder",
    EXIT_INTERRUPTED: "interrupted (Ctrl-C)",
}
# What a user can fix: a wrong option or value, a path that is not there or not readable.
USAGE_ERRORS = (
    ValueError,
    FileNotFoundError,
    NotADirectoryError,
    IsADirectoryError,
    PermissionError,
)


@command("ingest", "output", config=IngestConfig, flags=data_roots.add_flags)
def _ingest(args: argparse.Namespace, config: IngestConfig) -> int:
    """Read dataset layouts and write the labelled, split manifest (several: merged)."""
    from components.ingest import core

    first, *more = data_roots.parse(args)
    config = dataclasses.replace(config, data_format=first.data_format, more_data_roots=tuple(more))
    return emit(core.run(first.root, args.output, config).summary())


@command("fingerprint", "data-root")
def _fingerprint(args: argparse.Namespace) -> int:
    """Print the data's fingerprint, ingest's cache key (data_fingerprint): local or gs://."""
    from components.ingest.fingerprint import fingerprint

    return emit({"data_root": args.data_root, "data_fingerprint": fingerprint(args.data_root)})


def _seed(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--seed", type=int, default=0, help="generator seed")


@command("demo-data", "output", flags=_seed)
def _demo_data(args: argparse.Namespace) -> int:
    """Generate the embedded FSD50K-shaped demo dataset."""
    from demo_data import dataset

    return emit(dataset.generate(args.output, dataset.DemoConfig(seed=args.seed)))


@command("featurize", "manifest", "output", config=FeaturizeConfig)
def _featurize(args: argparse.Namespace, config: FeaturizeConfig) -> int:
    """Featurize a manifest with Beam + tf.Transform into TFRecords."""
    from components.featurize import core

    core.use_worker_thread_pools(config)
    return emit(core.run(args.manifest, args.output, config).summary())


@command("rebalance", "manifest", "output", config=RebalanceConfig, presets=rebalance.PRESETS)
def _rebalance(args: argparse.Namespace, config: RebalanceConfig) -> int:
    """Under/oversample the training split to a per-class target (copies are augmented)."""
    from components.rebalance import core

    return emit(core.run(args.manifest, args.output, config).summary())


@command("train", "examples", "output", config=train.TrainConfig, presets=train.PRESETS)
def _train(args: argparse.Namespace, config: train.TrainConfig) -> int:
    """Train one Keras family (seed configuration, or Keras-Tuner-tuned)."""
    from components.train import core

    return emit(core.run(args.examples, args.output, config).summary())


@command("baselines", "examples", "output", config=BaselinesConfig)
def _baselines(args: argparse.Namespace, config: BaselinesConfig) -> int:
    """Fit one scikit-learn baseline (mean-MFCC or an embedding), randomized search, 3-fold CV."""
    from components.baselines import core

    return emit(core.run(args.examples, args.output, config).summary())


def _weights_flags(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--from",
        dest="local_dirs",
        action="append",
        type=Path,
        default=[],
        metavar="DIR",
        help="folder to copy files from when they cannot be downloaded (repeatable; the file "
        "itself or one folder down)",
    )
    parser.add_argument("--offline", action="store_true", help="never try the official URLs")
    parser.add_argument(
        "--cache",
        type=Path,
        help="the weights cache (default $HOUSEHOLD_SOUNDS_WEIGHTS, else "
        "~/.cache/household-sounds/weights)",
    )


@command("weights", flags=_weights_flags)
def _weights(args: argparse.Namespace) -> int:
    """Provision the pretrained weights into the weights cache, each checked by sha256."""
    from components.pretrained import cache, provision

    try:
        done = provision.provision(
            cache=args.cache,
            local_dirs=args.local_dirs,
            download=not args.offline,
            log=lambda line: print(line, file=sys.stderr),
        )
    except cache.WeightsError as error:
        print(f"household-sounds weights: {error}", file=sys.stderr)
        return 1
    files = [dataclasses.asdict(provisioned) for provisioned in done]
    return emit({"cache": str(args.cache or cache.cache_dir()), "files": files})


# After the steps, in the order ``--help`` lists them: compile, submit, run, demo, serving, rollout.
for _module in (cluster, local, serving, rollout):
    _COMMANDS.update(_module.COMMANDS)


def version() -> str:
    """The installed distribution's version (``unknown`` in a tree that is not installed)."""
    try:
        return importlib.metadata.version("household-sounds")
    except importlib.metadata.PackageNotFoundError:
        return "unknown"


def _global_flags(parser: argparse.ArgumentParser, default: object) -> None:
    help = "on an error, show the traceback instead of one line"
    parser.add_argument("--debug", action="store_true", default=default, help=help)
    help = "show every library's log lines and warnings on stderr, not only the progress lines"
    parser.add_argument("--verbose", action="store_true", default=default, help=help)


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with every registered subcommand."""
    codes = "; ".join(f"{code} {meaning}" for code, meaning in EXIT_CODES.items())
    parser = argparse.ArgumentParser(
        prog="household-sounds",
        description="Household sound classification on Kubeflow Pipelines.",
        epilog=f"Exit codes: {codes}; the serving commands exit with the gRPC status code.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {version()}")
    _global_flags(parser, False)
    subparsers = parser.add_subparsers(dest="name", required=True, metavar="COMMAND")
    for name, spec in _COMMANDS.items():
        summary = (spec.handler.__doc__ or "").strip().splitlines()[0]
        sub = subparsers.add_parser(name, help=summary, description=summary)
        spec.configure(sub)
        _global_flags(sub, argparse.SUPPRESS)  # after the command too, without resetting them
        sub.set_defaults(command=spec)
    return parser


def is_usage_error(error: BaseException) -> bool:
    """Whether the user can fix ``error`` (``USAGE_ERRORS``, or TF's file-not-found/denied)."""
    tf = sys.modules.get("tensorflow")  # loaded only by a command that used it
    tf_errors = () if tf is None else (tf.errors.NotFoundError, tf.errors.PermissionDeniedError)
    return isinstance(error, (*USAGE_ERRORS, *tf_errors))


def _one_line(error: BaseException) -> str:
    if isinstance(error, OSError) and error.filename and error.strerror:
        return f"{error.strerror}: {error.filename}"
    text = " ".join(str(error).split()) or type(error).__name__
    return text if is_usage_error(error) else f"{type(error).__name__}: {text}"


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``household-sounds`` console script.

    Returns:
        The command's exit code; for an error it raised, ``EXIT_USAGE`` or ``EXIT_FAILED``
        after one line on stderr (with ``--debug`` the error propagates, traceback and all).
    """
    args = build_parser().parse_args(argv)
    console.configure(args.verbose, tasks_keep_logs=args.name in local.COMMANDS)
    try:
        return args.command.run(args)
    except KeyboardInterrupt:
        print(f"household-sounds {args.name}: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except Exception as error:
        if args.debug:
            raise
        usage = is_usage_error(error)
        hint = "" if usage else " (--debug for the traceback)"
        print(f"household-sounds {args.name}: {_one_line(error)}{hint}", file=sys.stderr)
        return EXIT_USAGE if usage else EXIT_FAILED


if __name__ == "__main__":
    sys.exit(main())
