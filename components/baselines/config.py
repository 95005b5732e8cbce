"""baselines' configuration: the scikit-learn models, their features and budgets, the config.

TensorFlow- and scikit-learn-free, so the KFP wrapper, the pipeline and the command line read
the model names, defaults and demo budget from here. Field metadata ``help`` (and ``flag``) is
what ``household-sounds baselines`` shows; fields without it are not command-line options.
"""

from dataclasses import dataclass, field
from typing import Literal, get_args

from components.audio import feature_sets

Model = Literal[
    "logistic_regression",
    "random_forest",
    "svc",
    "logistic_regression_yamnet",
    "random_forest_yamnet",
    "svc_yamnet",
    "logistic_regression_mn04",
    "random_forest_mn04",
    "svc_mn04",
]
MODELS: tuple[str, ...] = get_args(Model)
# The study's three estimators; ``<estimator>_yamnet`` (``_mn04``) fits the same one on the YAMNet
# (mn04) embedding: the classic linear probe, and a forest and an SVC beside it.
ESTIMATORS: tuple[str, ...] = ("logistic_regression", "random_forest", "svc")
EMBEDDING_OF_SUFFIX: dict[str, str] = {
    "_yamnet": feature_sets.YAMNET_EMBEDDING,
    "_mn04": feature_sets.MN04_EMBEDDING,
}


def embedding_suffix(model_name: str) -> str:
    """The embedding suffix of a model name (``svc_mn04`` → ``_mn04``; ``svc`` → ``""``)."""
    return next((end for end in EMBEDDING_OF_SUFFIX if model_name.endswith(end)), "")


FEATURE_OF: dict[str, str] = {
    name: EMBEDDING_OF_SUFFIX.get(embedding_suffix(name), feature_sets.MEAN_MFCC) for name in MODELS
}


def models_reading(computed: list[str], models: list[str]) -> list[str]:
    """The models of ``models`` whose feature set is in ``computed``, in their order.

    Raises:
        ValueError: For an unknown name, or when none is left (``feature_sets.reading``).
    """
    return feature_sets.reading(computed, models, FEATURE_OF, "baselines")


SEED_ITERATIONS: dict[str, int] = {"logistic_regression": 10, "random_forest": 50, "svc": 20}


def estimator_of(model_name: str) -> str:
    """The estimator a model name fits (``svc_yamnet`` → ``svc``)."""
    return model_name.removesuffix(embedding_suffix(model_name))


def task_label(model_name: str) -> str:
    """What a baselines task is, for its log and console line: ``baselines svc on mean_mfcc``."""
    return f"baselines {estimator_of(model_name)} on {FEATURE_OF[model_name]}"


PRESETS: dict[str, dict] = {"full": {"n_iter": 0}, "demo": {"n_iter": 3}, "quality": {"n_iter": 4}}


@dataclass(frozen=True)
class BaselinesConfig:
    """One baseline's search.

    Attributes:
        model_name: One of ``MODELS``.
        n_iter: Randomized-search candidates; 0 uses the study's budget for the estimator.
        cv_folds: Cross-validation folds (the study used 3).
        seed: Seed of the search and the estimators.
        n_jobs: Parallel CV fits (-1: every core).
    """

    model_name: Model = field(
        metadata={
            "help": "the study's 3b, 3c or 3d (_yamnet, _mn04: on that embedding)",
            "flag": "--model",
        }
    )
    n_iter: int = field(
        default=PRESETS["full"]["n_iter"],
        metadata={"help": "search candidates (0: the study's 10/50/20)"},
    )
    cv_folds: int = 3
    seed: int = field(default=0, metadata={"help": "search and estimator seed"})
    n_jobs: int = -1
