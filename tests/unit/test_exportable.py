"""The one exportability rule that evaluate and deploy share, read from model.json alone."""

import pytest

from components import exportable


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
        ({"name": "svc", "family": "sklearn", "estimator": "CalibratedClassifierCV"}, False),
        ({"name": "svc", "family": "sklearn"}, False),
        ({"name": "logistic_regression", "family": "xgboost"}, False),
    ],
)
def test_keras_logistic_regression_and_random_forests_are_exportable(card, exported):
    assert (exportable.why_not_exportable(card) is None) is exported


def test_the_reason_names_the_model_and_the_estimator():
    card = {"name": "svc_yamnet", "family": "sklearn", "estimator": "CalibratedClassifierCV"}
    why = exportable.why_not_exportable(card)
    assert "'svc_yamnet' is a scikit-learn CalibratedClassifierCV" in why
    assert "only LogisticRegression, RandomForestClassifier have an exact" in why


def test_agrees_with_what_deploy_can_export(tmp_path):
    """The card-level rule matches classifiers.from_sklearn on fitted estimators."""
    import numpy as np
    from sklearn.calibration import CalibratedClassifierCV
    from sklearn.ensemble import ExtraTreesClassifier, RandomForestClassifier
    from sklearn.linear_model import LogisticRegression
    from sklearn.svm import SVC

    from components.deploy import classifiers

    x, y = np.random.default_rng(0).normal(size=(40, 4)), np.arange(40) % 4
    calibrated = CalibratedClassifierCV(SVC(), ensemble=False)
    estimators = (LogisticRegression(), RandomForestClassifier(3), SVC(), calibrated)
    for estimator in (*estimators, ExtraTreesClassifier(3)):
        estimator.fit(x, y)
        card = {"name": "m", "family": "sklearn", "estimator": type(estimator).__name__}
        try:
            classifiers.from_sklearn(estimator)
            exported = True
        except classifiers.UnsupportedModelError:
            exported = False
        assert (exportable.why_not_exportable(card) is None) is exported, card
