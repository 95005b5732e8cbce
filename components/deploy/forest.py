"""scikit-learn's ``RandomForestClassifier.predict_proba`` as TensorFlow ops, exactly.

Every tree's ``tree_`` arrays (children, split feature, threshold, ``missing_go_to_left``, leaf
class distribution) are concatenated into one table of nodes whose leaves point to themselves.
Each example starts at every tree's root and takes ``max(tree_.max_depth)`` steps in a
``tf.while_loop`` that moves all trees at once with gathers (``[batch, n_trees]`` node indices):
left when ``x[feature] <= threshold``, where x is the float32 feature compared in float64 with
the float64 threshold, as scikit-learn's Cython does after casting its input to float32; a NaN
goes where ``missing_go_to_left`` says, as there (serving never feeds one: featurize rejects
NaN). The leaves' stored class fractions (scikit-learn 1.9 stores fractions and its trees'
``predict_proba`` returns them as they are) are summed over the trees and divided by their
number in float64, as the forest does, then placed at the forest's ``classes_`` among the
``NUM_CLASSES`` columns (classes absent from training get 0) and cast to float32. The table is
held in variables, so the SavedModel's checkpoint carries it and the graph stays small.
"""

import numpy as np
import tensorflow as tf

from components.deploy.class_columns import ClassColumns


class ForestClassifier(tf.Module):
    """A fitted random forest's ``predict_proba`` on ``[batch, n]`` float32 features."""

    def __init__(self, forest):
        """Builds the node table of a fitted single-output ``RandomForestClassifier``."""
        super().__init__()
        trees = [tree.tree_ for tree in forest.estimators_]
        sizes = np.array([tree.node_count for tree in trees])
        offsets = np.concatenate([[0], np.cumsum(sizes)[:-1]])
        left, right, feature, threshold, missing_left, value = [], [], [], [], [], []
        for tree, offset in zip(trees, offsets, strict=True):
            nodes = np.arange(tree.node_count)
            leaf = tree.children_left < 0
            left.append(np.where(leaf, nodes, tree.children_left) + offset)
            right.append(np.where(leaf, nodes, tree.children_right) + offset)
            feature.append(np.where(leaf, 0, tree.feature))
            threshold.append(np.where(leaf, 0.0, tree.threshold))
            missing_left.append(tree.missing_go_to_left.astype(bool))
            value.append(tree.value[:, 0, :])
        self._roots = tf.constant(offsets.astype(np.int64))
        self._depth = int(max(tree.max_depth for tree in trees))
        self._left = tf.Variable(np.concatenate(left).astype(np.int64), trainable=False)
        self._right = tf.Variable(np.concatenate(right).astype(np.int64), trainable=False)
        self._feature = tf.Variable(np.concatenate(feature).astype(np.int64), trainable=False)
        self._threshold = tf.Variable(np.concatenate(threshold), dtype=tf.float64, trainable=False)
        self._missing_left = tf.Variable(np.concatenate(missing_left), trainable=False)
        self._value = tf.Variable(np.concatenate(value), dtype=tf.float64, trainable=False)
        self._columns = ClassColumns(forest.classes_)

    def __call__(self, flat_features: tf.Tensor) -> tf.Tensor:
        """Probabilities ``[batch, NUM_CLASSES]`` for ``[batch, n]`` transformed features."""
        x = tf.cast(tf.cast(flat_features, tf.float32), tf.float64)
        batch = tf.shape(x)[0]
        start = tf.tile(self._roots[None, :], [batch, 1])  # [batch, n_trees]

        def step(level, node):
            value = tf.gather(x, tf.gather(self._feature, node), batch_dims=1)
            go_left = tf.where(
                tf.math.is_nan(value),
                tf.gather(self._missing_left, node),
                value <= tf.gather(self._threshold, node),
            )
            node = tf.where(go_left, tf.gather(self._left, node), tf.gather(self._right, node))
            return level + 1, node

        _, leaves = tf.while_loop(
            lambda level, _: level < self._depth, step, [tf.constant(0), start]
        )
        mean = tf.reduce_sum(tf.gather(self._value, leaves), axis=1) / len(self._roots)
        return self._columns(mean)
