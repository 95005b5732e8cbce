"""Feature importance per MFCC band of the scikit-learn models on the 32 mean-MFCC features.

The study read importance two ways and so does this module: the mean absolute coefficient over
classes of a linear model (``coef_``, logistic regression) and the Gini (impurity) importance of a
forest (``feature_importances_``); both come from the last step of a fitted estimator or
``Pipeline`` in ``model.joblib``. When the test mean-MFCC is given, every scikit-learn model also
gets permutation importance (``sklearn.inspection.permutation_importance``, macro-F1 scoring),
which works for any estimator, the calibrated SVC included. ``read_test_features`` loads that
input from featurize's TFRecords through the contracts package (``components.artifacts``).
"""

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.inspection import permutation_importance

from components.artifacts import shards
from components.audio.features import MEAN_MFCC

FEATURE = MEAN_MFCC  # the feature set whose importance this module reads (per MFCC band)


def read_test_features(examples_dir: str) -> tuple[list[str], np.ndarray, np.ndarray]:
    """The test split's ``(clip_ids, mean_mfcc [n, 32], labels [n])`` from featurize's output."""
    test = shards.load_arrays(examples_dir, "test", FEATURE)
    return test.clip_ids, test.x, test.y


def final_step(estimator: BaseEstimator) -> BaseEstimator:
    """The last step of a ``Pipeline`` (or the estimator itself)."""
    steps = getattr(estimator, "steps", None)
    return steps[-1][1] if steps else estimator


def intrinsic_importance(estimator: BaseEstimator) -> tuple[str, np.ndarray] | None:
    """``(kind, importance per feature)`` from coefficients or impurity, if the model has either.

    Returns:
        ``("mean_abs_coef", ...)`` for linear models, ``("gini", ...)`` for forests, or None.
    """
    last = final_step(estimator)
    if hasattr(last, "coef_"):
        return "mean_abs_coef", np.abs(np.atleast_2d(last.coef_)).mean(axis=0)
    if hasattr(last, "feature_importances_"):
        return "gini", np.asarray(last.feature_importances_, dtype=np.float64)
    return None


def model_importance(
    estimator: BaseEstimator,
    features: tuple[np.ndarray, np.ndarray] | None,
    repeats: int,
    seed: int,
) -> dict:
    """Every importance available for one fitted model.

    Args:
        estimator: The fitted model.
        features: Test ``(mean_mfcc [n, 32], labels [n])`` for permutation importance, or None.
        repeats: Permutations per feature.
        seed: Seed of the permutations.

    Returns:
        ``{kind: {"values": [...], "std"?: [...], "top_bands": [...]}}`` with MFCC bands
        numbered from 0; kinds are ``mean_abs_coef``, ``gini`` and ``permutation_macro_f1``.
    """
    found: dict[str, dict] = {}
    intrinsic = intrinsic_importance(estimator)
    if intrinsic is not None:
        kind, values = intrinsic
        found[kind] = {"values": values.tolist()}
    if features is not None:
        x, y = features
        permuted = permutation_importance(
            estimator, x, y, scoring="f1_macro", n_repeats=repeats, random_state=seed
        )
        found["permutation_macro_f1"] = {
            "values": permuted.importances_mean.tolist(),
            "std": permuted.importances_std.tolist(),
        }
    for entry in found.values():
        entry["top_bands"] = np.argsort(entry["values"])[::-1][:8].tolist()
    return found
