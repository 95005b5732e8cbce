"""A random forest's TF form equals scikit-learn's ``predict_proba``, also as a SavedModel."""

import numpy as np
import pytest
import tensorflow as tf
from sklearn.ensemble import RandomForestClassifier
from sklearn.preprocessing import StandardScaler

from components.audio.labels import NUM_CLASSES
from components.deploy import classifiers
from components.deploy.forest import ForestClassifier
from tests.helpers.saved_classifier import PY_FUNCTION_OPS, save_and_load

NUM_FEATURES = 20
TOLERANCE = 1e-6  # float32 output; measured max abs diff ~1.5e-8 (rounding to float32)


def split_thresholds(forest) -> tuple[np.ndarray, np.ndarray]:
    """Every split's feature and float64 threshold in the forest."""
    trees = [tree.tree_ for tree in forest.estimators_]
    splits = [tree.children_left >= 0 for tree in trees]
    feature = np.concatenate([t.feature[s] for t, s in zip(trees, splits, strict=True)])
    threshold = np.concatenate([t.threshold[s] for t, s in zip(trees, splits, strict=True)])
    return feature, threshold


def on_thresholds(forest, rng, rows: int = 400, per_row: int = 5) -> np.ndarray:
    """Random float32 rows with ``per_row`` features set to split thresholds (as float32)."""
    x = rng.normal(size=(rows, NUM_FEATURES)).astype(np.float32)
    feature, threshold = split_thresholds(forest)
    pick = rng.integers(0, len(threshold), rows * per_row)
    x[np.repeat(np.arange(rows), per_row), feature[pick]] = threshold[pick].astype(np.float32)
    return x


@pytest.fixture(scope="module")
def deep_forest():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(600, NUM_FEATURES)).astype(np.float32)
    y = rng.integers(0, NUM_CLASSES, 600)  # noise: fully grown trees, depth ~28
    return RandomForestClassifier(300, random_state=0).fit(x, y)


@pytest.fixture(scope="module")
def subset_forest():
    rng = np.random.default_rng(1)
    x = rng.normal(size=(200, NUM_FEATURES)).astype(np.float32)
    y = np.array([1, 4, 6])[(x[:, 0] > 0).astype(int) + (x[:, 1] > 0.5)]
    return RandomForestClassifier(50, class_weight="balanced", random_state=0).fit(x, y)


def test_deep_forest_equals_predict_proba_on_values_at_the_thresholds(deep_forest):
    x = on_thresholds(deep_forest, np.random.default_rng(2))
    got = ForestClassifier(deep_forest)(tf.constant(x)).numpy()
    assert got.dtype == np.float32 and got.shape == (len(x), NUM_CLASSES)
    assert np.abs(got - deep_forest.predict_proba(x)).max() <= TOLERANCE
    # The data can tell: many values round above their threshold, so a float32 comparison
    # (float32(t) <= float32(t)) would send them left where scikit-learn goes right.
    _, threshold = split_thresholds(deep_forest)
    assert np.mean(threshold.astype(np.float32).astype(np.float64) > threshold) > 0.2


def test_classes_absent_from_training_get_zero(subset_forest):
    x = on_thresholds(subset_forest, np.random.default_rng(3), rows=100)
    got = classifiers.from_sklearn(subset_forest)(tf.constant(x)).numpy()
    expected = np.zeros((len(x), NUM_CLASSES))
    expected[:, subset_forest.classes_] = subset_forest.predict_proba(x)
    assert np.abs(got - expected).max() <= TOLERANCE
    assert got[:, [0, 2, 3, 5, 7]].max() == 0.0 and got[:, [1, 4, 6]].max() > 0.5


@pytest.mark.parametrize("name", ["deep_forest", "subset_forest"])
def test_a_saved_and_reloaded_forest_still_equals_predict_proba(name, request, tmp_path):
    forest = request.getfixturevalue(name)
    loaded, ops = save_and_load(classifiers.from_sklearn(forest), NUM_FEATURES, str(tmp_path))
    x = on_thresholds(forest, np.random.default_rng(4), rows=64)
    got = loaded(features=tf.constant(x))["probabilities"].numpy()
    expected = np.zeros((len(x), NUM_CLASSES))
    expected[:, forest.classes_] = forest.predict_proba(x)
    assert np.abs(got - expected).max() <= TOLERANCE
    assert "While" in ops or "StatelessWhile" in ops  # a loop, not 28 unrolled levels
    assert not ops & PY_FUNCTION_OPS


def test_a_forest_behind_a_scaler_is_refused_clearly(subset_forest):
    from sklearn.pipeline import make_pipeline

    pipeline = make_pipeline(StandardScaler(), subset_forest)
    with pytest.raises(classifiers.UnsupportedModelError, match="bare single-output Random"):
        classifiers.from_sklearn(pipeline)
