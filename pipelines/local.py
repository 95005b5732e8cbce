"""Run the pipeline on this machine with ``kfp.local`` and lay its outputs out as a run directory.

The pipeline function is the one compiled for Kubeflow; ``kfp.local.SubprocessRunner`` executes
each lightweight component in a subprocess of this virtual environment, where the project is
installed (the cluster gets it from the project image instead). KFP stores outputs under
``<run>/kfp/<pipeline>-<timestamp>/<task>/<output>``; ``publish`` then links the interesting
ones to stable names (``examples/``, ``models/<name>/``, ``evaluation/``...) and writes
``run.json``, so users and tests never need to know KFP's local layout.

With ``container_runner`` instead, kfp.local's ``DockerRunner`` runs every task's command in the
project image through a Docker API (a Docker engine, or podman's ``podman system service``), as
a cluster would: ``make image-demo`` runs the demo both ways and compares the outputs.

Nothing half-done is ever visible there: the links and ``run.json`` of one run are built in
``.published/<pipeline-dir>/``, and only after the pipeline succeeded is the single symlink
``.published/current`` switched to it (``os.replace``, atomic). The stable names are fixed links
through ``current``, so a failed or interrupted run leaves the previous run's links and
``run.json`` exactly as they were.
"""

import json
import logging
import os
import shutil
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

# Output name in KFP's local layout → stable name in the run directory.
PUBLISHED_OUTPUTS: dict[str, str] = {
    "ingest/manifest": "manifest",
    "rebalance/balanced_manifest": "rebalance",
    "featurize/examples": "featurize",
    "featurize/transform_graph": "transform_graph",
    "evaluate/evaluation": "evaluation",
    "deploy/deployment": "deployment",
}

PUBLISHED_DIR = ".published"
CURRENT = "current"
RUN_FILE = "run.json"


@dataclass(frozen=True)
class LocalRun:
    """Where a local run put things and how long it took."""

    run_dir: str
    kfp_run_dir: str
    seconds: float
    published: dict[str, str]


def _pipeline_dirs(pipeline_root: Path) -> list[Path]:
    """KFP's per-run output folders under ``pipeline_root``, newest first."""
    candidates = [path for path in pipeline_root.iterdir() if path.is_dir() and "-" in path.name]
    return sorted(candidates, key=lambda path: path.stat().st_mtime, reverse=True)


def _link(target: Path | str, link: Path) -> None:
    """Points ``link`` at ``target`` (relative), replacing what was there in one rename."""
    link.parent.mkdir(parents=True, exist_ok=True)
    target = os.path.relpath(target, link.parent) if isinstance(target, Path) else target
    partial = link.with_name(f".{link.name}.{uuid.uuid4().hex[:8]}")
    partial.symlink_to(target)
    os.replace(partial, link)


def publish(run_dir: Path, pipeline_dirs: list[Path]) -> dict[str, str]:
    """Links a finished local pipeline's outputs into ``.published/<pipeline_dirs[0] name>/``.

    Nothing the run directory shows changes until ``activate``.

    Args:
        run_dir: The run directory (e.g. ``runs/demo``).
        pipeline_dirs: KFP's output folders, the finished run's first. A task served from the
            cache wrote nothing into the finished run's folder: its outputs are the newest
            earlier copy computed from the same inputs.

    Returns:
        Stable name → path (relative to ``run_dir``) of everything linked.
    """
    from components.artifacts.model_files import read_model_card
    from components.artifacts.names import MODEL_CARD_FILE

    farm = run_dir / PUBLISHED_DIR / pipeline_dirs[0].name
    shutil.rmtree(farm, ignore_errors=True)
    published: dict[str, str] = {}
    (farm / "models").mkdir(parents=True, exist_ok=True)
    for pipeline_dir in reversed(pipeline_dirs):  # oldest first: newer outputs relink names
        for source, name in PUBLISHED_OUTPUTS.items():
            matches = sorted(pipeline_dir.glob(f"**/{source}"))
            if matches:
                _link(matches[-1], farm / name)
                published[name] = os.path.relpath(matches[-1], run_dir)
        for model_json in sorted(pipeline_dir.glob(f"**/model/{MODEL_CARD_FILE}")):
            name = read_model_card(str(model_json.parent))["name"]
            _link(model_json.parent, farm / "models" / name)
            published[f"models/{name}"] = os.path.relpath(model_json.parent, run_dir)
    return published


def activate(run_dir: Path, pipeline_dir: Path, summary: dict) -> None:
    """Writes ``run.json`` beside the run's links, then makes that run the visible one at once."""
    farm = run_dir / PUBLISHED_DIR / pipeline_dir.name
    (farm / RUN_FILE).write_text(json.dumps(summary, indent=2, default=str) + "\n")
    _link(farm.name, run_dir / PUBLISHED_DIR / CURRENT)  # the one atomic switch
    for name in [*PUBLISHED_OUTPUTS.values(), "models", RUN_FILE]:
        stable = os.path.join(PUBLISHED_DIR, CURRENT, name)
        link = run_dir / name
        if link.is_dir() and not link.is_symlink():  # models/ of the layout before .published
            if any(not child.is_symlink() for child in link.iterdir()):
                raise FileExistsError(f"{link} holds more than a run's links; move it away")
            shutil.rmtree(link)
        if not (link.is_symlink() and os.readlink(link) == stable):
            _link(stable, link)  # fixed once; later runs only switch ``current``


def container_runner(shared: Sequence[str], read_only: Sequence[str] = ()):
    """kfp.local's ``DockerRunner``: each task in its component's image, with no network.

    The engine is the one ``docker.from_env`` finds (``DOCKER_HOST``; podman's API socket works).
    kfp mounts the pipeline root at its own path; ``shared`` folders (the model base, the
    checkpoints) and ``read_only`` ones (the data) are bind-mounted at theirs too, so every path
    in the arguments means the same inside. Tasks run as the calling user, so what they write
    stays the caller's.
    """
    from docker.types import Mount
    from kfp import local

    mounts = [
        Mount(target=path, source=path, type="bind", read_only=path in read_only)
        for path in [*shared, *read_only]
    ]
    return local.DockerRunner(
        mounts=mounts, network_mode="none", user=f"{os.getuid()}:{os.getgid()}"
    )


def run(
    pipeline_func,
    run_dir: str,
    arguments: dict[str, object],
    cache: bool = True,
    runner=None,
) -> LocalRun:
    """Runs ``pipeline_func`` locally with ``arguments`` and publishes it into ``run_dir``.

    Args:
        pipeline_func: A ``@dsl.pipeline`` function.
        run_dir: Run directory; KFP's raw outputs go to ``<run_dir>/kfp``.
        arguments: Pipeline parameters.
        cache: Reuse the outputs of every task whose component, image, command and inputs
            match an earlier successful run into the same ``run_dir`` (kfp.local's cache, in
            ``<run_dir>/kfp/.kfp_cache``; tasks with caching off always run), so a rerun
            after a failure starts at the step that failed.
        runner: kfp.local's runner; None runs each task in a subprocess of this environment
            (``SubprocessRunner``), ``container_runner`` in the project image.

    Returns:
        The published run.

    Raises:
        Whatever the pipeline raised; the run directory then still shows the previous run.
    """
    from kfp import local

    root = Path(run_dir).resolve()
    pipeline_root = root / "kfp"
    pipeline_root.mkdir(parents=True, exist_ok=True)
    runner = runner or local.SubprocessRunner(use_venv=False)
    local.init(runner=runner, pipeline_root=str(pipeline_root), enable_caching=cache)
    started = time.monotonic()
    logging.info("running the pipeline locally into %s", root)
    pipeline_func(**arguments)
    pipeline_dirs = _pipeline_dirs(pipeline_root)
    pipeline_dir = pipeline_dirs[0]
    published = publish(root, pipeline_dirs if cache else [pipeline_dir])
    result = LocalRun(
        run_dir=str(root),
        kfp_run_dir=os.path.relpath(pipeline_dir, root),
        seconds=round(time.monotonic() - started, 1),
        published=published,
    )
    activate(root, pipeline_dir, {**result.__dict__, "arguments": arguments})
    return result
