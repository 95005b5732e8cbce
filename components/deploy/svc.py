"""scikit-learn's sigmoid-calibrated RBF ``SVC`` (``CalibratedClassifierCV``) as TensorFlow ops.

Each calibrated classifier (one with ``ensemble=False``, as baselines fits it) is rebuilt step by
step from scikit-learn 1.9's own code, in float64 (``SVC`` casts its input to float64): the RBF
kernel ``exp(-gamma·|x - sv|²)`` over the support vectors (``|x|² + |sv|² - 2x·sv``, within
~1e-13 of libsvm's sum of squared differences); libsvm's one-vs-one decisions, pair ``(i, j)``
summing class i's support vectors weighted by ``dual_coef_[j-1]`` and class j's by
``dual_coef_[i]`` plus ``intercept_``; for more than two classes ``_ovr_decision_function`` (a
vote for i when the decision is ≥ 0, else for j, plus the summed confidences mapped by
``s / (3(|s| + 1))``); one Platt sigmoid per class ``1 / (1 + exp(a·f + b))``; then
normalisation over the classes (uniform where they sum to 0; for two classes ``1 - p``) and the
clip of values within 1e-5 above 1. The calibrated classifiers' probabilities are averaged and
placed at ``classes_`` among the ``NUM_CLASSES`` columns, cast to float32. Support vectors are
held in variables, so the SavedModel's checkpoint carries them.
"""

import numpy as np
import tensorflow as tf

from components.deploy.class_columns import ClassColumns


class _CalibratedSVC(tf.Module):
    """One ``_CalibratedClassifier``: an RBF SVC's decisions through its sigmoid calibrators."""

    def __init__(self, calibrated, classes: np.ndarray):
        super().__init__()
        svc = calibrated.estimator
        n_svc_classes = len(svc.classes_)
        self._support = tf.Variable(svc.support_vectors_, dtype=tf.float64, trainable=False)
        self._support_norm = tf.constant(np.sum(svc.support_vectors_**2, axis=1), tf.float64)
        self._gamma = float(svc._gamma)
        pairs = [(i, j) for i in range(n_svc_classes) for j in range(i + 1, n_svc_classes)]
        starts = np.concatenate([[0], np.cumsum(svc.n_support_)])
        weights = np.zeros((len(svc.support_vectors_), len(pairs)))
        for p, (i, j) in enumerate(pairs):  # libsvm's svm_predict_values
            weights[starts[i] : starts[i + 1], p] = svc.dual_coef_[j - 1, starts[i] : starts[i + 1]]
            weights[starts[j] : starts[j + 1], p] = svc.dual_coef_[i, starts[j] : starts[j + 1]]
        self._weights = tf.Variable(weights, dtype=tf.float64, trainable=False)
        self._intercept = tf.constant(svc.intercept_, tf.float64)
        winner, loser = np.zeros((len(pairs), n_svc_classes)), np.zeros((len(pairs), n_svc_classes))
        winner[np.arange(len(pairs)), [i for i, _ in pairs]] = 1.0
        loser[np.arange(len(pairs)), [j for _, j in pairs]] = 1.0
        self._first, self._second = tf.constant(winner), tf.constant(loser)
        self._one_vs_rest = n_svc_classes > 2
        self._binary = len(classes) == 2
        # Calibrator k scores svc.classes_[k] (for two classes, its one decision scores classes[1]).
        columns = [1] if self._binary else np.searchsorted(classes, svc.classes_)
        columns = columns[: len(calibrated.calibrators)]
        self._a = tf.constant([c.a_ for c in calibrated.calibrators], tf.float64)
        self._b = tf.constant([c.b_ for c in calibrated.calibrators], tf.float64)
        placement = np.zeros((len(calibrated.calibrators), len(classes)))
        placement[np.arange(len(calibrated.calibrators)), columns] = 1.0
        self._placement = tf.constant(placement)
        self._num_classes = len(classes)

    def __call__(self, x: tf.Tensor) -> tf.Tensor:
        """``[batch, len(classes)]`` float64 probabilities of ``[batch, n]`` float64 features."""
        squared = (
            tf.reduce_sum(x * x, axis=1, keepdims=True)
            + self._support_norm[None, :]
            - 2.0 * tf.matmul(x, self._support, transpose_b=True)
        )
        kernel = tf.exp(-self._gamma * tf.maximum(squared, 0.0))
        decision = tf.matmul(kernel, self._weights) + self._intercept  # [batch, pairs]
        if self._one_vs_rest:  # scikit-learn's _ovr_decision_function(dec < 0, -dec, k)
            first = tf.cast(decision >= 0, tf.float64)
            votes = tf.matmul(first, self._first) + tf.matmul(1.0 - first, self._second)
            confidence = tf.matmul(decision, self._first - self._second)
            decision = votes + confidence / (3.0 * (tf.abs(confidence) + 1.0))
        proba = tf.matmul(tf.math.sigmoid(-(self._a * decision + self._b)), self._placement)
        if self._binary:
            proba = tf.concat([1.0 - proba[:, 1:], proba[:, 1:]], axis=1)
        else:
            total = tf.reduce_sum(proba, axis=1, keepdims=True)
            uniform = tf.fill(tf.shape(proba), tf.constant(1.0 / self._num_classes, tf.float64))
            proba = tf.where(total != 0, proba / tf.where(total != 0, total, 1.0), uniform)
        return tf.where((proba > 1.0) & (proba <= 1.0 + 1e-5), tf.ones_like(proba), proba)


class CalibratedSVCClassifier(tf.Module):
    """A fitted sigmoid ``CalibratedClassifierCV`` over an RBF ``SVC``: its ``predict_proba``."""

    def __init__(self, calibrated_cv):
        super().__init__()
        classes = np.asarray(calibrated_cv.classes_)
        self.parts = [_CalibratedSVC(c, classes) for c in calibrated_cv.calibrated_classifiers_]
        self._columns = ClassColumns(classes)

    def __call__(self, flat_features: tf.Tensor) -> tf.Tensor:
        """Probabilities ``[batch, NUM_CLASSES]`` for ``[batch, n]`` transformed features."""
        x = tf.cast(tf.cast(flat_features, tf.float32), tf.float64)
        mean = tf.add_n([part(x) for part in self.parts]) / len(self.parts)
        return self._columns(mean)
