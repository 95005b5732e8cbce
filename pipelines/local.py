"""Run the pipeline on this machine with ``kfp.local`` and lay its outputs out as a run directory.

The pipeline function is the one compiled for Kubeflow; ``kfp.local.SubprocessRunner`` executes
each lightweight component in a subprocess of this virtual environment, where the project is
installed (the cluster gets it from the project image instead). KFP stores outputs under
``<run>/kfp/<pipeline>-<timestamp>/<task>/<output>``; ``publish`` then links the interesting
ones to stable names (``examples/``, ``models/<name>/``, ``evaluation/``...) and writes
``run.json``, so users and tests never need to know KFP's local layout. Every task the run
executes appends its wall and CPU seconds to ``tasks.jsonl`` (``task_times``). ``run_training``
is what ``household-sounds run`` does: the training pipeline on data roots, cached by their
fingerprint.

With ``container_runner`` instead, kfp.local's ``DockerRunner`` runs every task's command in the
project image through a Docker API (a Docker engine, or podman's ``podman system service``), as
a cluster would: ``make image-demo`` runs the demo both ways and compares the outputs.

Nothing half-done is ever visible there: the links and ``run.json`` of one run are built in
``.published/<pipeline-dir>/``, and only after the pipeline succeeded is the single symlink
``.published/current`` switched to it (``os.replace``, atomic). The stable names are fixed links
through ``current``, so a failed or interrupted run leaves the previous run's links and
``run.json`` exactly as they were.

While the pipeline runs, its output goes through ``pipelines.progress``: a console line per task
on stderr and each task's whole log in ``<run>/logs/``; nothing is printed on stdout.
"""

import json
import logging
import os
import shutil
import sys
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from components.ingest.config import DataRoot
from pipelines import task_times

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
KFP_CACHE_DIR = ".kfp_cache"  # kfp.local's default, under the pipeline root


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
            name = json.loads(model_json.read_text())["name"]  # local: no TensorFlow here
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


class TaskFailed(RuntimeError):
    """A task of a local run failed; the message names it and its log."""


def run(
    pipeline_func,
    run_dir: str,
    arguments: dict[str, object],
    cache: bool = True,
    verbose: bool = False,
    runner=None,
) -> LocalRun:
    """Runs ``pipeline_func`` locally with ``arguments`` and publishes it into ``run_dir``.

    Args:
        pipeline_func: A ``@dsl.pipeline`` function.
        run_dir: Run directory; KFP's raw outputs go to ``<run_dir>/kfp``, each task's log to
            ``<run_dir>/logs`` (``pipelines.progress``).
        arguments: Pipeline parameters.
        cache: Reuse the outputs of every task whose component, image, command and inputs
            match an earlier successful run into the same ``run_dir`` (kfp.local's cache, in
            ``<run_dir>/kfp/.kfp_cache``; tasks with caching off always run), so a rerun
            after a failure starts at the step that failed.
        verbose: Show every line kfp.local and the tasks print on stderr, not only a line per
            task as it starts and ends.
        runner: kfp.local's runner; None runs each task in a subprocess of this environment
            (``SubprocessRunner``), ``container_runner`` in the project image.

    Returns:
        The published run.

    Raises:
        TaskFailed: A task failed (its last lines were shown); the run directory then still
            shows the previous run. Whatever else the pipeline raised, likewise.
    """
    from google.protobuf import json_format
    from kfp import local

    from pipelines import progress

    root = Path(run_dir).resolve()
    pipeline_root = root / "kfp"
    pipeline_root.mkdir(parents=True, exist_ok=True)
    runner = runner or local.SubprocessRunner(use_venv=False)
    local.init(runner=runner, pipeline_root=str(pipeline_root), enable_caching=cache)
    spec = getattr(pipeline_func, "pipeline_spec", None)  # None: a stand-in for a pipeline
    watcher = progress.RunProgress(
        root,
        None if spec is None else progress.count_tasks(json_format.MessageToDict(spec), arguments),
        console=sys.stderr,
        verbose=verbose,
        cache_root=pipeline_root / KFP_CACHE_DIR,
        arguments=arguments,
    )
    started = time.monotonic()
    with progress.watch(watcher):
        logging.info("running the pipeline locally into %s", root)
        try:
            with task_times.recording(str(root)):
                pipeline_func(**arguments)
        except RuntimeError as error:
            if not watcher.failed:
                raise
            logs = ", ".join(
                f"{label} (log: {watcher.log_path(label)})" for label in watcher.failed
            )
            raise TaskFailed(f"task failed: {logs}") from error
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


def _absolute(location: str) -> str:
    """A local path made absolute (kfp.local tasks run elsewhere); a URI (gs://...) untouched."""
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


def run_training(
    data_roots: Sequence[DataRoot],
    run_dir: str,
    arguments: dict[str, object],
    cache: bool = True,
    verbose: bool = False,
    image: str | None = None,
) -> LocalRun:
    """Runs the training pipeline on ``data_roots`` into ``run_dir`` (``household-sounds run``).

    The first root is the pipeline's ``data_root``, the others its ``more_data_roots``; local
    ones are made absolute and must exist. The model base is ``<run_dir>/serving`` unless
    ``arguments`` name one. The arguments are checked against the pipeline's parameters before
    any work. With ``cache``, ingest is keyed by the fingerprint of every root's files (unless
    ``arguments`` give one) and training keeps its resume state in ``<run_dir>/checkpoints``,
    so a rerun into the same ``run_dir`` continues where an earlier one stopped. ``verbose`` is
    ``run``'s. With ``image``, every task runs in that image (``container_runner``: the model
    base and checkpoints mounted read-write, local data roots read-only).

    Raises:
        FileNotFoundError: A local data root that does not exist.
        ParamError: An unknown parameter name or a value of the wrong type.
    """
    from pipelines.task_limits import LOCAL_LIMITS
    from pipelines.training import build_pipeline

    roots = [DataRoot(_absolute(root.root), root.data_format) for root in data_roots]
    for root in roots:
        if "://" not in root.root and not Path(root.root).exists():
            raise FileNotFoundError(f"data root {root.root!r}: no such folder or manifest CSV")
    first, *more = roots
    data = {
        "data_root": first.root,
        "data_format": first.data_format,
        "more_data_roots": [root.entry() for root in more],
    }
    model_base = str(Path(run_dir, "serving").resolve())  # the run directory is local
    checkpoints = str(Path(run_dir, "checkpoints").resolve())
    pipeline = build_pipeline(limits=LOCAL_LIMITS, **({"image": image} if image else {}))
    arguments = _checked(pipeline, {"model_base": model_base, **arguments, **data})
    if cache:
        arguments["checkpoint_root"] = checkpoints
    if "data_fingerprint" not in arguments:  # without the cache, ingest runs anyway
        from components.ingest.fingerprint import fingerprint

        roots_fingerprint = fingerprint(*(root.root for root in roots)) if cache else ""
        arguments["data_fingerprint"] = roots_fingerprint
    runner = None
    if image:
        shared = [str(arguments["model_base"]), checkpoints]
        for folder in shared:
            Path(folder).mkdir(parents=True, exist_ok=True)
        local_data = [root.root for root in roots if "://" not in root.root]
        runner = container_runner(shared, read_only=local_data)
    return run(pipeline, run_dir, arguments, cache, verbose, runner)
