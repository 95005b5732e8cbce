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
        ({"name": "random_forest", "family": "sklearn"}, False),
        ({"name": "svc", "family": "sklearn", "estimator": "CalibratedClassifierCV"}, False),
        ({"name": "logistic_regression", "family": "xgboost"}, False),
    ],
)
def test_keras_and_logistic_regression_are_exportable(card, exported):
    assert (exportable.why_not_exportable(card) is None) is exported


def test_the_reason_names_the_model_and_the_estimator():
    why = exportable.why_not_exportable({"name": "random_forest", "family": "sklearn"})
    assert "'random_forest' is a scikit-learn random_forest" in why
    assert "only LogisticRegression" in why


def test_agrees_with_what_deploy_can_export(tmp_path):
    """The card-level rule matches classifiers.linear_from_sklearn on fitted estimators."""
    import numpy as np
    from sklearn.ensemble import RandomForestClassifier
    from sklearn.linear_model import LogisticRegression
    from sklearn.svm import SVC

    from components.deploy import classifiers

    x, y = np.random.default_rng(0).normal(size=(40, 4)), np.arange(40) % 4
    for estimator in (LogisticRegression(), RandomForestClassifier(3), SVC()):
        estimator.fit(x, y)
        card = {"name": "m", "family": "sklearn", "estimator": type(estimator).__name__}
        try:
            classifiers.linear_from_sklearn(estimator)
            exported = True
        except classifiers.UnsupportedModelError:
            exported = False
        assert (exportable.why_not_exportable(card) is None) is exported, card
