"""Which trained models the served graph can hold, decided from ``model.json`` alone.

The serving SavedModel runs the classifier as TensorFlow ops (``components/deploy/classifiers.py``):
every Keras model is called as it is, and scikit-learn logistic regression (optionally behind a
``StandardScaler``), random forests and the sigmoid-calibrated RBF SVC that baselines fits
(``CalibratedClassifierCV``) are re-implemented exactly, so every model the pipeline trains is
exportable; another framework's or estimator's is not. evaluate blesses only exportable models
and deploy exports only them, so both import this predicate, which lives with the contracts rather
than in either step (neither step imports the other) and needs no TensorFlow or scikit-learn:
``model.json``'s ``framework`` (or its older name ``family``) and, for scikit-learn, its
``estimator`` (the fitted estimator's class name, which baselines records; a card written before
that field existed is read by its model name) decide. deploy still checks the fitted estimator
itself when it builds the TF form (a ``CalibratedClassifierCV`` must wrap RBF SVCs), so a card
that lies fails loudly there.
"""

from components.artifacts.names import KERAS, SKLEARN

EXPORTABLE_ESTIMATORS: frozenset[str] = frozenset(
    {"CalibratedClassifierCV", "LogisticRegression", "RandomForestClassifier"}
)
# Cards written before "estimator"; an "svc" card that old may hold SVC(probability=True).
_ESTIMATOR_OF_NAME = {
    "logistic_regression": "LogisticRegression",
    "random_forest": "RandomForestClassifier",
}


def framework(card: dict) -> str:
    """The card's framework: ``keras``, ``sklearn`` or what else it says (``""`` if none)."""
    return str(card.get("framework", card.get("family", "")))


def estimator(card: dict) -> str:
    """The scikit-learn estimator class a card describes (``estimator``, else read by name)."""
    name = str(card.get("name", ""))
    return str(card.get("estimator") or _ESTIMATOR_OF_NAME.get(name, name))


def why_not_exportable(card: dict) -> str | None:
    """Why the model of ``card`` cannot be exported, or None when it can."""
    kind = framework(card)
    if kind == KERAS:
        return None
    if kind == SKLEARN:
        if estimator(card) in EXPORTABLE_ESTIMATORS:
            return None
        return (
            f"{card.get('name')!r} is a scikit-learn {estimator(card)}: only "
            f"{', '.join(sorted(EXPORTABLE_ESTIMATORS))} have an exact TensorFlow form"
        )
    return f"{card.get('name')!r} has framework {kind!r}: only keras and sklearn are exported"
