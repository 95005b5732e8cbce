"""The pipeline's parameter presets: the study's full budgets, the demo's, the quality benchmark's.

``full`` is the pipeline's own defaults; ``demo`` and ``quality`` are assembled from each step's
preset of that name (``components/<step>/config.py``), so a budget is written once, where the step
defines it. The embedded demo dataset is ~600 clips: its budgets keep ``make demo`` within 10
minutes. ``quality`` is the quality benchmark's (``benchmarks/quality.py``, docs/quality.md), sized
for the real-audio development set (~4,500 clips): the datasets' category-name taxonomy, every
training clip kept (small classes topped up to 200 with augmented copies, class-weighted losses),
4 epochs, 2 tuner trials for every family, 4 search iterations per baseline, and every feature
set (the opt-in YAMNet embedding and mn04 log-mel too), so every model is scored.
``add_flags`` gives ``household-sounds run|submit`` their ``--preset`` and ``--param`` options
and ``arguments`` the pipeline arguments those describe. Free of KFP and TensorFlow, so
``--preset`` and ``--help`` stay fast.
"""

import argparse

from components.audio import feature_sets
from components.baselines import config as baselines
from components.evaluate import config as evaluate
from components.ingest import config as ingest
from components.rebalance import config as rebalance
from components.train import config as train

DEMO_ARGUMENTS: dict[str, object] = {
    "data_format": ingest.DEFAULT_FORMAT,
    **rebalance.PRESETS["demo"],
    **train.PRESETS["demo"],
    "family_overrides": train.DEMO_FAMILY_OVERRIDES,
    "tuned_families": list(train.DEMO_TUNED_FAMILIES),
    "search_iterations": baselines.PRESETS["demo"]["n_iter"],
    **evaluate.PRESETS["demo"],
}
QUALITY_ARGUMENTS: dict[str, object] = {
    "taxonomy_path": "categories",
    "feature_sets": list(feature_sets.ALL),
    **rebalance.PRESETS["quality"],
    "keep_majority_clips": True,
    **train.PRESETS["quality"],
    "family_overrides": train.QUALITY_FAMILY_OVERRIDES,
    "search_iterations": baselines.PRESETS["quality"]["n_iter"],
}
PRESETS: dict[str, dict[str, object]] = {
    "full": {},
    "demo": DEMO_ARGUMENTS,
    "quality": QUALITY_ARGUMENTS,
}


def add_flags(parser: argparse.ArgumentParser) -> None:
    """Adds ``--preset`` (a name in ``PRESETS``) and the repeatable ``--param K=V``."""
    help = "pipeline defaults: the study's full budgets, the demo's small ones, or the quality "
    help += "benchmark's (real-audio development set)"
    parser.add_argument("--preset", default="full", choices=list(PRESETS), help=help)
    help = "pipeline argument, repeatable (overrides the preset)"
    parser.add_argument("--param", action="append", default=[], metavar="K=V", help=help)


def arguments(args: argparse.Namespace, **fixed: object) -> dict[str, object]:
    """The preset's pipeline arguments, then ``fixed``, then every ``--param``."""
    from pipelines.submit import parse_params

    return {**PRESETS[args.preset], **fixed, **parse_params(args.param)}
