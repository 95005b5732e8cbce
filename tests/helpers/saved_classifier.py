"""A classifier module saved as a SavedModel and loaded back, the way the serving module holds it.

The export tests of the scikit-learn forms (``test_forest_export.py``, ``test_svc_export.py``)
put a classifier behind a ``tf.function`` input signature, save it, load it again and call the
reloaded signature, so what they compare is what a SavedModel serializes, not the Python object.
"""

import tensorflow as tf

PY_FUNCTION_OPS = frozenset({"PyFunc", "EagerPyFunc", "PyFuncStateless"})


class _Served(tf.Module):
    def __init__(self, classifier: tf.Module, num_features: int):
        super().__init__()
        self.classifier = classifier
        spec = tf.TensorSpec([None, num_features], tf.float32)
        self.scores = tf.function(self._scores, input_signature=[spec])

    def _scores(self, features):
        return {"probabilities": self.classifier(features)}


def save_and_load(classifier: tf.Module, num_features: int, path: str):
    """The reloaded ``scores(features=...)`` signature and the op types of its graph."""
    served = _Served(classifier, num_features)
    tf.saved_model.save(served, path, signatures={"scores": served.scores})
    loaded = tf.saved_model.load(path).signatures["scores"]
    ops = {node.op for f in loaded.graph.as_graph_def().library.function for node in f.node_def}
    return loaded, ops
