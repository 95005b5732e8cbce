"""Run the pipeline on this machine with ``kfp.local`` and lay its outputs out as a run directory.

The pipeline function is the one compiled for Kubeflow; ``kfp.local.SubprocessRunner`` executes
each lightweight component in a subprocess of this virtual environment, where the project is
installed (the cluster gets it from the project image instead). KFP stores outputs under
``<run>/kfp/<pipeline>-<timestamp>/<task>/<output>``; ``publish`` then links the interesting
ones to stable names (``examples/``, ``models/<name>/``, ``evaluation/``...) and writes
``run.json``, so users and tests never need to know KFP's local layout.
"""

import json
import logging
import os
import time
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


@dataclass(frozen=True)
class LocalRun:
    """Where a local run put things and how long it took."""

    run_dir: str
    kfp_run_dir: str
    seconds: float
    published: dict[str, str]


def _latest_pipeline_dir(pipeline_root: Path) -> Path:
    candidates = [path for path in pipeline_root.iterdir() if path.is_dir() and "-" in path.name]
    return max(candidates, key=lambda path: path.stat().st_mtime)


def _link(target: Path, link: Path) -> None:
    if link.is_symlink() or link.exists():
        link.unlink()
    link.parent.mkdir(parents=True, exist_ok=True)
    link.symlink_to(os.path.relpath(target, link.parent), target_is_directory=target.is_dir())


def publish(run_dir: Path, pipeline_dir: Path) -> dict[str, str]:
    """Links a finished local pipeline's outputs to stable names inside ``run_dir``.

    Args:
        run_dir: The run directory (e.g. ``runs/demo``).
        pipeline_dir: KFP's output folder of one pipeline run.

    Returns:
        Stable name → path (relative to ``run_dir``) of everything linked.
    """
    published: dict[str, str] = {}
    for source, name in PUBLISHED_OUTPUTS.items():
        matches = sorted(pipeline_dir.glob(f"**/{source}"))
        if matches:
            _link(matches[-1], run_dir / name)
            published[name] = os.path.relpath(matches[-1], run_dir)
    from components.artifacts.model_files import read_model_card
    from components.artifacts.names import MODEL_CARD_FILE

    for model_json in sorted(pipeline_dir.glob(f"**/model/{MODEL_CARD_FILE}")):
        name = read_model_card(str(model_json.parent))["name"]
        _link(model_json.parent, run_dir / "models" / name)
        published[f"models/{name}"] = os.path.relpath(model_json.parent, run_dir)
    return published


def run(pipeline_func, run_dir: str, arguments: dict[str, object]) -> LocalRun:
    """Runs ``pipeline_func`` locally with ``arguments`` and publishes it into ``run_dir``.

    Args:
        pipeline_func: A ``@dsl.pipeline`` function.
        run_dir: Run directory; KFP's raw outputs go to ``<run_dir>/kfp``.
        arguments: Pipeline parameters.

    Returns:
        The published run.
    """
    from kfp import local

    root = Path(run_dir).resolve()
    pipeline_root = root / "kfp"
    pipeline_root.mkdir(parents=True, exist_ok=True)
    local.init(runner=local.SubprocessRunner(use_venv=False), pipeline_root=str(pipeline_root))
    started = time.monotonic()
    logging.info("running the pipeline locally into %s", root)
    pipeline_func(**arguments)
    pipeline_dir = _latest_pipeline_dir(pipeline_root)
    published = publish(root, pipeline_dir)
    result = LocalRun(
        run_dir=str(root),
        kfp_run_dir=os.path.relpath(pipeline_dir, root),
        seconds=round(time.monotonic() - started, 1),
        published=published,
    )
    summary = {**result.__dict__, "arguments": arguments}
    (root / "run.json").write_text(json.dumps(summary, indent=2, default=str) + "\n")
    return result
