"""Trained models as TensorFlow modules that map transformed, flattened features to probabilities.

The export wraps whichever model won the evaluation in the same interface: a ``tf.Module`` whose
``__call__`` takes ``[batch, flat_size(feature)]`` float32 features (after the tf.Transform graph)
and returns ``[batch, NUM_CLASSES]`` probabilities. Keras models (``model.keras``) are reshaped
to their own input shape and called as they are. scikit-learn logistic regression
(``model.joblib``, optionally behind a ``StandardScaler`` in a ``Pipeline``) is re-implemented
exactly: the same standardisation, ``softmax(x·Wᵀ + b)`` (sigmoid for two classes), evaluated in
float64 as scikit-learn does, with columns placed at the class indices the model was fitted on.
A random forest walks its trees exactly in ``forest.py``, and the sigmoid-calibrated RBF SVC
(``CalibratedClassifierCV``) is rebuilt step by step in ``svc.py``; both bare, as baselines fits
them. ``from_sklearn`` picks the form by estimator type; anything else (a plain ``SVC``, a forest
behind a scaler) is refused with ``UnsupportedModelError``.
``components/artifacts/exportable.py`` states the same rule from ``model.json`` alone, so evaluate
blesses only models this module can export.
"""

import os

import numpy as np
import tensorflow as tf

from components.artifacts.model_files import ModelInfo, read_sklearn_model
from components.artifacts.names import KERAS, KERAS_MODEL_FILE, SKLEARN
from components.audio import examples
from components.deploy.class_columns import ClassColumns
from components.deploy.forest import ForestClassifier
from components.deploy.svc import CalibratedSVCClassifier


class UnsupportedModelError(ValueError):
    """A model that cannot be exported to a TF SavedModel faithfully."""


class KerasClassifier(tf.Module):
    """A Keras model fed with flattened features reshaped to the model's input shape."""

    def __init__(self, model, num_features: int):
        super().__init__()
        if int(np.prod(model.input_shape[1:])) != num_features:
            raise UnsupportedModelError(
                f"Keras input shape {model.input_shape} does not hold the {num_features} "
                "values of its feature (model.json names the wrong feature?)"
            )
        self.model = model
        self._input_shape = [-1, *model.input_shape[1:]]

    def __call__(self, flat_features: tf.Tensor) -> tf.Tensor:
        """Probabilities ``[batch, NUM_CLASSES]`` for ``[batch, n]`` transformed features."""
        return self.model(tf.reshape(flat_features, self._input_shape), training=False)


class LinearClassifier(tf.Module):
    """scikit-learn's ``LogisticRegression.predict_proba`` (after optional standardisation)."""

    def __init__(
        self,
        coef: np.ndarray,
        intercept: np.ndarray,
        classes: np.ndarray,
        mean: np.ndarray | None = None,
        scale: np.ndarray | None = None,
    ):
        super().__init__()
        num_features = coef.shape[1]
        self._mean = tf.constant(np.zeros(num_features) if mean is None else mean, tf.float64)
        self._scale = tf.constant(np.ones(num_features) if scale is None else scale, tf.float64)
        self._coef = tf.constant(coef, tf.float64)
        self._intercept = tf.constant(intercept, tf.float64)
        self._columns = ClassColumns(classes)

    def __call__(self, flat_features: tf.Tensor) -> tf.Tensor:
        """Probabilities ``[batch, NUM_CLASSES]`` for ``[batch, n]`` transformed features."""
        x = (tf.cast(flat_features, tf.float64) - self._mean) / self._scale
        logits = tf.matmul(x, self._coef, transpose_b=True) + self._intercept
        if self._coef.shape[0] == 1:  # binary: sklearn returns [1 - sigmoid, sigmoid]
            positive = tf.math.sigmoid(logits)
            probabilities = tf.concat([1.0 - positive, positive], axis=1)
        else:
            probabilities = tf.nn.softmax(logits, axis=1)
        return self._columns(probabilities)


def from_sklearn(estimator) -> tf.Module:
    """Builds the exact TF form of a fitted scikit-learn model, chosen by its type.

    A bare ``RandomForestClassifier`` becomes a ``ForestClassifier``, a bare sigmoid
    ``CalibratedClassifierCV`` over RBF ``SVC``s a ``CalibratedSVCClassifier``, and
    ``LogisticRegression``, bare or after one ``StandardScaler`` in a ``Pipeline``, a
    ``LinearClassifier``.

    Raises:
        UnsupportedModelError: For any other estimator (a plain SVC, a forest behind a scaler).
    """
    from sklearn.ensemble import RandomForestClassifier
    from sklearn.linear_model import LogisticRegression
    from sklearn.preprocessing import StandardScaler

    names, steps = _steps(estimator)
    *before, final = steps
    if isinstance(final, RandomForestClassifier) and not before and final.n_outputs_ == 1:
        return ForestClassifier(final)
    if not before and _is_calibrated_rbf_svc(final):
        return CalibratedSVCClassifier(final)
    if isinstance(final, LogisticRegression) and (
        not before or (len(before) == 1 and isinstance(before[0], StandardScaler))
    ):
        scaler = before[0] if before else None
        mean = scaler.mean_ if scaler is not None and scaler.with_mean else None
        scale = scaler.scale_ if scaler is not None and scaler.with_std else None
        return LinearClassifier(final.coef_, final.intercept_, final.classes_, mean, scale)
    raise UnsupportedModelError(
        f"cannot export {type(final).__name__} ({' → '.join(names)}) to TensorFlow exactly: "
        "only LogisticRegression (optionally after one StandardScaler), a bare single-output "
        "RandomForestClassifier and a bare sigmoid CalibratedClassifierCV over an RBF SVC "
        "(decision_function_shape 'ovr') are deployable"
    )


def _is_calibrated_rbf_svc(estimator) -> bool:
    """Whether ``estimator`` is a fitted sigmoid ``CalibratedClassifierCV`` over RBF ``SVC``s."""
    from sklearn.calibration import CalibratedClassifierCV
    from sklearn.svm import SVC

    if not isinstance(estimator, CalibratedClassifierCV) or estimator.method != "sigmoid":
        return False
    svcs = [part.estimator for part in getattr(estimator, "calibrated_classifiers_", [])]
    return bool(svcs) and all(
        type(svc) is SVC and svc.kernel == "rbf" and svc.decision_function_shape == "ovr"
        for svc in svcs
    )


def _steps(estimator) -> tuple[list[str], list]:
    """The step names and estimators of a ``Pipeline`` (``passthrough`` dropped), or the one."""
    from sklearn.pipeline import Pipeline

    steps = list(estimator.steps) if isinstance(estimator, Pipeline) else [("model", estimator)]
    names = [name for name, _ in steps]
    return names, [step for _, step in steps if step != "passthrough"]


def load_classifier(info: ModelInfo) -> tf.Module:
    """Loads a model artifact directory as a TF classifier module.

    Raises:
        UnsupportedModelError: If the framework or the estimator cannot be exported.
    """
    if info.framework == KERAS:
        import keras

        local = _local_copy(os.path.join(info.model_dir, KERAS_MODEL_FILE))
        model = keras.saving.load_model(local, compile=False)
        return KerasClassifier(model, examples.flat_size(info.feature))
    if info.framework == SKLEARN:
        return from_sklearn(read_sklearn_model(info.model_dir))
    raise UnsupportedModelError(f"unknown model framework {info.framework!r} in {info.model_dir}")


def _local_copy(path: str) -> str:
    """Keras loads from the local file system only; ``gs://`` files are copied to a temp dir."""
    if "://" not in path:
        return path
    import tempfile

    local = os.path.join(tempfile.mkdtemp(prefix="deploy-"), os.path.basename(path))
    tf.io.gfile.copy(path, local)
    return local
