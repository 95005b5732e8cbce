"""The pipeline's parameter presets: the study's full budgets, or the demo's small ones.

``full`` is the pipeline's own defaults; ``demo`` is assembled from each step's ``demo`` preset
(``components/<step>/config.py``), so a budget is written once, where the step defines it. The
embedded demo dataset is ~600 clips: these budgets keep ``make demo`` within 10 minutes. Free of
KFP and TensorFlow, so ``household-sounds run|submit --preset`` and ``--help`` stay fast.
"""

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
    "search_iterations": baselines.PRESETS["demo"]["n_iter"],
    **evaluate.PRESETS["demo"],
}
PRESETS: dict[str, dict[str, object]] = {"full": {}, "demo": DEMO_ARGUMENTS}
