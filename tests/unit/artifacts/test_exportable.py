"""The one exportability rule that evaluate and deploy share, read from model.json alone."""

import pytest

from components.artifacts import exportable


@pytest.mark.parametrize(
    ("card", "exported"),
    [
        ({"name": "cnn_mfcc_tuned", "framework": "keras"}, True),
        ({"name": "cnn_mfcc", "family": "keras"}, True),  # model.json before "framework"
        ({"name": "logistic_regression", "family": "sklearn"}, True),  # before "estimator"
        ({"name": "lr_yamnet", "family": "sklearn", "estimator": "LogisticRegression"}, True),
        ({"name": "random_forest", "family": "sklearn"}, True),  # before "estimator"
        (
            {"name": "rf_yamnet", "framework": "sklearn", "estimator": "RandomForestClassifier"},
            True,
        ),
        ({"name": "svc", "family": "sklearn", "estimator": "CalibratedClassifierCV"}, True),
        ({"name": "svc", "family": "sklearn"}, False),  # that old, it may be SVC(probability=True)
        ({"name": "gbt", "framework": "sklearn", "estimator": "GradientBoostingClassifier"}, False),
        ({"name": "logistic_regression", "family": "xgboost"}, False),
    ],
)
def test_keras_and_every_baseline_estimator_are_exportable(card, exported):
    assert (exportable.why_not_exportable(card) is None) is exported


def test_the_reason_names_the_model_and_the_estimator():
    card = {"name": "gbt", "family": "sklearn", "estimator": "GradientBoostingClassifier"}
    why = exportable.why_not_exportable(card)
    assert "'gbt' is a scikit-learn GradientBoostingClassifier" in why
    expected = "CalibratedClassifierCV, LogisticRegression, RandomForestClassifier have an exact"
    assert f"only {expected}" in why


@pytest.mark.slow  # ~6 s of CPU (TensorFlow, 8 fits), 25 s wall on the loaded 2-core VM
def test_agrees_with_what_deploy_can_export(tmp_path):
    """The card-level rule matches classifiers.from_sklearn on fitted estimators.

    Every estimator baselines fits (its own search spaces' defaults) and a few it does not.
    """
    import numpy as np
    from sklearn.calibration import CalibratedClassifierCV
    from sklearn.ensemble import (
        ExtraTreesClassifier,
        GradientBoostingClassifier,
        RandomForestClassifier,
    )
    from sklearn.linear_model import LogisticRegression
    from sklearn.svm import SVC

    from components.baselines.config import ESTIMATORS
    from components.baselines.core import search_space
    from components.deploy import classifiers

    x, y = np.random.default_rng(0).normal(size=(40, 4)), np.arange(40) % 4
    names = [*ESTIMATORS, "logistic_regression_yamnet"]  # the others' are the same
    baselines = [search_space(name, seed=0)[0] for name in names]
    calibrated_linear = CalibratedClassifierCV(LogisticRegression(), ensemble=False)
    others = (RandomForestClassifier(3), SVC(), ExtraTreesClassifier(3), calibrated_linear)
    for estimator in (*baselines, *others, GradientBoostingClassifier(n_estimators=5)):
        estimator.fit(x, y)
        card = {"name": "m", "family": "sklearn", "estimator": type(estimator).__name__}
        if estimator is calibrated_linear:  # the one card that lies: deploy refuses it loudly
            with pytest.raises(classifiers.UnsupportedModelError, match="over an RBF SVC"):
                classifiers.from_sklearn(estimator)
            continue
        try:
            classifiers.from_sklearn(estimator)
            exported = True
        except classifiers.UnsupportedModelError:
            exported = False
        assert (exportable.why_not_exportable(card) is None) is exported, card
