"""baselines' configuration: the scikit-learn models, their search budgets and ``BaselinesConfig``.

TensorFlow- and scikit-learn-free, so the KFP wrapper, the pipeline and the command line read
the model names, defaults and demo budget from here. Field metadata ``help`` (and ``flag``) is
what ``household-sounds baselines`` shows; fields without it are not command-line options.
"""

from dataclasses import dataclass, field
from typing import Literal, get_args

Model = Literal["logistic_regression", "random_forest", "svc"]
MODELS: tuple[str, ...] = get_args(Model)
SEED_ITERATIONS: dict[str, int] = {"logistic_regression": 10, "random_forest": 50, "svc": 20}
PRESETS: dict[str, dict] = {"full": {"n_iter": 0}, "demo": {"n_iter": 3}}


@dataclass(frozen=True)
class BaselinesConfig:
    """One baseline's search.

    Attributes:
        model_name: One of ``MODELS``.
        n_iter: Randomized-search candidates; 0 uses the study's budget for the model.
        cv_folds: Cross-validation folds (the study used 3).
        seed: Seed of the search and the estimators.
        n_jobs: Parallel CV fits (-1: every core).
    """

    model_name: Model = field(metadata={"help": "the study's 3b, 3c or 3d", "flag": "--model"})
    n_iter: int = field(
        default=PRESETS["full"]["n_iter"],
        metadata={"help": "search candidates (0: the study's 10/50/20)"},
    )
    cv_folds: int = 3
    seed: int = field(default=0, metadata={"help": "search and estimator seed"})
    n_jobs: int = -1
