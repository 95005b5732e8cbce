"""The TensorFlow on each side of a deployment, named once (no TensorFlow import).

Models are exported with ``EXPORT_TENSORFLOW``, the pipeline's TensorFlow (pyproject.toml's
``pipeline`` extra and requirements.lock pin it), and served by ``SERVING_IMAGE``, the TF Serving
release that ``k8s/base`` runs. A TF Serving release is built on the TensorFlow release of the
same number, so the server executes every version with ``SERVING_TENSORFLOW``; deploy's infra
validation loads each export with that TensorFlow, from its own hashed lock
(``SERVING_TF_LOCK``, written by ``scripts/lock_serving_tf.py`` from these constants), before it
publishes. k8s/base/deployment.yaml, docker/pipeline.Dockerfile (which bakes that environment
into the image) and the three lock files follow these constants, and
``tests/infra/test_serving_stack.py`` fails as soon as one of them drifts: changing a version
means changing it here, rerunning ``make lock`` and following the test's messages.
"""

SERVING_IMAGE_NAME = "tensorflow/serving"
SERVING_VERSION = "2.20.0"
SERVING_IMAGE = f"{SERVING_IMAGE_NAME}:{SERVING_VERSION}"
SERVING_TENSORFLOW = SERVING_VERSION
EXPORT_TENSORFLOW = "2.21.0"
# The serving TensorFlow's lock, at the repository root beside the project's own locks.
SERVING_TF_LOCK = "requirements-serving-tf.lock"
