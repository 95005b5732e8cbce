"""The commands that run the whole pipeline on this machine: ``run`` on your data, ``demo``.

Both execute the pipeline function that Kubeflow runs with ``kfp.local``
(``pipelines.local.run_training``) into a run directory whose ``serving/`` is the TF Serving model
base; with the cache on (the default), ingest is keyed by the files of every data root
(``--data-root``/``--data-format`` pairs, ``cli/data_roots.py``) and training keeps its resume
state in the run directory, so a rerun continues where an earlier one stopped. KFP and the steps
are imported only when a command runs. ``cli/main.py`` registers ``COMMANDS``.
"""

import argparse

from cli import data_roots
from cli.flags import Command, emit, registrar
from pipelines import presets

COMMANDS: dict[str, Command] = {}
command = registrar(COMMANDS)


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
    data_roots.add_flags(parser)
    presets.add_flags(parser)
    _cache_flag(parser)
    _image_flag(parser)


@command("run", "output", flags=_run_flags)
def _run(args: argparse.Namespace) -> int:
    """Run the whole pipeline locally (kfp.local) on your own data (several roots: merged)."""
    from pipelines import local

    roots = data_roots.parse(args)
    arguments = presets.arguments(args)
    run = local.run_training(roots, args.output, arguments, args.cache, args.verbose, args.in_image)
    return emit(run.__dict__)


def _demo_flags(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--data-root", default="data/demo", help="where the demo dataset goes")
    parser.add_argument("--output", default="runs/demo", help="run directory")
    _cache_flag(parser)
    _image_flag(parser)


@command("demo", flags=_demo_flags)
def _demo(args: argparse.Namespace) -> int:
    """Generate the demo dataset (if absent) and run the whole pipeline locally on it."""
    from pathlib import Path

    from components.ingest.config import DataRoot
    from demo_data import dataset
    from pipelines import local

    if not Path(args.data_root, "FSD50K.metadata").is_dir():
        dataset.generate(args.data_root, dataset.DemoConfig())
    roots = [DataRoot(args.data_root, "fsd50k")]
    arguments = presets.DEMO_ARGUMENTS
    run = local.run_training(roots, args.output, arguments, args.cache, args.verbose, args.in_image)
    return emit(run.__dict__)
