"""A scikit-learn model's probability columns placed among the served ``NUM_CLASSES`` columns.

A fitted scikit-learn classifier answers one column per class it saw in training (``classes_``,
label indices, in order); the served signature answers ``NUM_CLASSES`` columns. ``ClassColumns``
moves column k to class ``classes[k]`` with one matmul by a 0/1 matrix, so classes absent from
training get probability 0, and casts the float64 result to the served float32. Every exact
scikit-learn form (``classifiers.LinearClassifier``, ``forest.ForestClassifier``,
``svc.CalibratedSVCClassifier``) ends with it.
"""

import numpy as np
import tensorflow as tf

from components.audio.labels import NUM_CLASSES


class ClassColumns(tf.Module):
    """Places ``[batch, len(classes)]`` float64 probabilities at the classes' label indices."""

    def __init__(self, classes):
        super().__init__()
        classes = np.asarray(classes, dtype=np.int64)
        placement = np.zeros((len(classes), NUM_CLASSES))
        placement[np.arange(len(classes)), classes] = 1.0
        self._placement = tf.constant(placement, tf.float64)

    def __call__(self, probabilities: tf.Tensor) -> tf.Tensor:
        """``[batch, NUM_CLASSES]`` float32 probabilities."""
        return tf.cast(tf.matmul(probabilities, self._placement), tf.float32)
