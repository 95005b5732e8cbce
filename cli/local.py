"""The commands that run the whole pipeline on this machine: ``run`` on your data, ``demo``.

Both execute the pipeline function that Kubeflow runs with ``kfp.local`` (``pipelines.local``)
into a run directory whose ``serving/`` is the TF Serving model base; with the cache on (the
default), ingest is keyed by the data's files and training keeps its resume state in the run
directory, so a rerun continues where an earlier one stopped. KFP and the steps are imported
only when a command runs. ``cli/main.py`` registers ``COMMANDS``.
"""

import argparse

from cli.flags import Command, emit, registrar
from components.ingest.config import DEFAULT_FORMAT, FORMATS
from pipelines import presets

COMMANDS: dict[str, Command] = {}
command = registrar(COMMANDS)


def _absolute(location: str) -> str:
    """A local path made absolute (kfp.local tasks run elsewhere); a URI (gs://...) untouched."""
    from pathlib import Path

    return location if "://" in location else str(Path(location).resolve())


def _checked(pipeline, arguments: dict) -> dict:
    """``arguments`` checked against the pipeline's declared parameters, as ``submit`` checks them.

    The parameters come from the pipeline's own spec (built when it was decorated), so nothing
    is compiled twice.

    Raises:
        ParamError: An unknown parameter name or a value of the wrong type.
    """
    from google.protobuf import json_format

    from pipelines.package import check_arguments, root_parameters

    declared = root_parameters(json_format.MessageToDict(pipeline.pipeline_spec))
    return check_arguments(declared, arguments)


def _run_locally(
    data_root: str, output: str, arguments: dict, cache: bool, image: str | None = None
) -> int:
    """Runs the pipeline with kfp.local; with ``cache``, ingest is keyed by the data's files.

    The arguments are checked first, so a bad ``--param`` stops the command before any work.
    With ``cache``, training keeps its resume state in ``<output>/checkpoints`` too, so a run
    interrupted during training continues its epochs and tuner trials when run again. With
    ``image``, every task runs in that image (``pipelines.local.container_runner``).
    """
    from pathlib import Path

    from pipelines import local
    from pipelines.training import build_pipeline, training_pipeline

    data = {"data_root": _absolute(data_root)}
    if "://" not in data_root and not Path(data_root).exists():
        raise FileNotFoundError(f"data root {data_root!r}: no such folder or manifest CSV")
    data["model_base"] = str(Path(output, "serving").resolve())  # the run directory is local
    if image:
        pipeline = build_pipeline(image=image, cache_ingest=cache)
    else:
        pipeline = build_pipeline(cache_ingest=True) if cache else training_pipeline
    arguments = _checked(pipeline, {**data, **arguments})
    if cache:
        from components.ingest.fingerprint import fingerprint

        arguments["data_fingerprint"] = fingerprint(data["data_root"])
        arguments["checkpoint_root"] = str(Path(output, "checkpoints").resolve())
    runner = None
    if image:
        shared = [data["model_base"], str(Path(output, "checkpoints").resolve())]
        for folder in shared:
            Path(folder).mkdir(parents=True, exist_ok=True)
        local_data = [] if "://" in data_root else [data["data_root"]]
        runner = local.container_runner(shared, read_only=local_data)
    return emit(local.run(pipeline, output, arguments, cache, runner).__dict__)


def _image_flag(parser: argparse.ArgumentParser) -> None:
    help = (
        "run every task in this image with kfp.local's DockerRunner (a Docker engine, or "
        "podman's API socket through DOCKER_HOST; no network in the tasks)"
    )
    parser.add_argument("--in-image", metavar="IMAGE", help=help)


def _cache_flag(parser: argparse.ArgumentParser) -> None:
    help = "rerun every step (default: reuse the steps an earlier run into --output completed)"
    parser.add_argument("--no-cache", dest="cache", action="store_false", help=help)


def _run_flags(parser: argparse.ArgumentParser) -> None:
    help = f"layout (default {DEFAULT_FORMAT})"
    parser.add_argument("--data-format", choices=FORMATS, default=DEFAULT_FORMAT, help=help)
    presets.add_flags(parser)
    _cache_flag(parser)
    _image_flag(parser)


@command("run", "data-root", "output", flags=_run_flags)
def _run(args: argparse.Namespace) -> int:
    """Run the whole pipeline locally (kfp.local) on your own data."""
    arguments = presets.arguments(args, data_format=args.data_format)
    return _run_locally(args.data_root, args.output, arguments, args.cache, args.in_image)


def _demo_flags(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--data-root", default="data/demo", help="where the demo dataset goes")
    parser.add_argument("--output", default="runs/demo", help="run directory")
    _cache_flag(parser)
    _image_flag(parser)


@command("demo", flags=_demo_flags)
def _demo(args: argparse.Namespace) -> int:
    """Generate the demo dataset (if absent) and run the whole pipeline locally on it."""
    from pathlib import Path

    from demo_data import dataset

    if not Path(args.data_root, "FSD50K.metadata").is_dir():
        dataset.generate(args.data_root, dataset.DemoConfig())
    arguments = dict(presets.DEMO_ARGUMENTS)
    return _run_locally(args.data_root, args.output, arguments, args.cache, args.in_image)
