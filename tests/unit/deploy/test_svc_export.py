"""The calibrated RBF SVC's TF form equals scikit-learn's ``predict_proba``, also saved."""

import numpy as np
import pytest
import tensorflow as tf
from sklearn.calibration import CalibratedClassifierCV
from sklearn.svm import SVC

from components.audio.labels import NUM_CLASSES
from components.deploy import classifiers
from components.deploy.svc import CalibratedSVCClassifier
from tests.helpers.saved_classifier import PY_FUNCTION_OPS, save_and_load

NUM_FEATURES = 30
TOLERANCE = 1e-6  # float32 output; measured max abs diff ~3e-8 (rounding to float32)


def calibrated(labels: np.ndarray, seed: int = 0, **kwargs) -> CalibratedClassifierCV:
    """baselines' SVC: balanced RBF SVC under sigmoid calibration, fitted on 300 noisy rows."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(300, NUM_FEATURES)).astype(np.float32)
    y = labels[np.argmax(x[:, :8] + rng.normal(size=(300, 8)), axis=1) % len(labels)]
    svc = SVC(class_weight="balanced", **kwargs.pop("svc", {}))
    return CalibratedClassifierCV(svc, ensemble=kwargs.pop("ensemble", False), **kwargs).fit(x, y)


def expected(model, x: np.ndarray) -> np.ndarray:
    full = np.zeros((len(x), NUM_CLASSES))
    full[:, model.classes_] = model.predict_proba(x)
    return full


def inputs(seed: int, rows: int = 200) -> np.ndarray:
    return np.random.default_rng(seed).normal(size=(rows, NUM_FEATURES)).astype(np.float32)


@pytest.mark.parametrize(
    ("labels", "options"),
    [
        (np.arange(NUM_CLASSES), {}),  # all 8 classes, gamma "scale"
        (np.arange(NUM_CLASSES), {"svc": {"gamma": 0.01, "C": 4.4}}),  # a searched candidate
        (np.array([2, 5, 7]), {}),  # classes_ a subset: the others get 0
        (np.array([3, 6]), {}),  # binary: one decision, one calibrator, 1 - p
        (np.arange(NUM_CLASSES), {"ensemble": True, "cv": 3}),  # three SVCs averaged
    ],
)
def test_equals_predict_proba(labels, options):
    model = calibrated(labels, **options)
    x = inputs(1)
    got = classifiers.from_sklearn(model)(tf.constant(x)).numpy()
    assert isinstance(classifiers.from_sklearn(model), CalibratedSVCClassifier)
    assert got.dtype == np.float32 and got.shape == (len(x), NUM_CLASSES)
    assert np.abs(got - expected(model, x)).max() <= TOLERANCE
    absent = np.setdiff1d(np.arange(NUM_CLASSES), labels)
    assert not absent.size or got[:, absent].max() == 0.0


def test_a_saved_and_reloaded_svc_still_equals_predict_proba(tmp_path):
    model = calibrated(np.array([0, 1, 3, 4, 6]), seed=3)
    loaded, ops = save_and_load(classifiers.from_sklearn(model), NUM_FEATURES, str(tmp_path))
    x = inputs(4, rows=64)
    got = loaded(features=tf.constant(x))["probabilities"].numpy()
    assert np.abs(got - expected(model, x)).max() <= TOLERANCE
    assert not ops & PY_FUNCTION_OPS


@pytest.mark.parametrize(
    "model",
    [
        SVC(),  # a plain SVC: its probabilities would be libsvm's, not these
        CalibratedClassifierCV(SVC(kernel="linear"), ensemble=False),
        CalibratedClassifierCV(SVC(), method="isotonic", ensemble=False),
        CalibratedClassifierCV(SVC(decision_function_shape="ovo"), ensemble=False),
    ],
)
def test_other_svms_are_refused_clearly(model):
    rng = np.random.default_rng(5)
    model.fit(rng.normal(size=(90, 4)), np.arange(90) % 3)
    with pytest.raises(classifiers.UnsupportedModelError, match="sigmoid CalibratedClassifierCV"):
        classifiers.from_sklearn(model)
