"""Shared fixtures: the real recordings in ../shared and the serving session fixtures.

The session fixtures (a small featurized dataset, a tiny Keras model, a logistic regression, the
YAMNet and mn04 heads, a logistic regression on the YAMNet embedding, and one exported serving
model) are shared by the serving tests, the deploy component tests and the fault suite's
served-model tests: the tests that use them carry ``xdist_group("serving")``, so one worker builds
them once. They are built from ``tests/helpers/served_model.py``; TensorFlow and the components
are imported inside the fixtures, so sessions that never use them pay nothing.
"""

import os
from pathlib import Path

# kfp.local replaces builtins.print while it runs a pipeline, and numba's first import registers
# `print` by identity and checks it is reachable from its module; if that first import happens
# inside a test's kfp.local run, numba (and with it librosa) is broken for the rest of the
# worker process. Importing numba before any test runs keeps the order safe.
import numba  # noqa: F401
import pytest

from tests.helpers.paths import AUDIO_SAMPLES
from tests.helpers.served_model import (
    MODEL_NAME,
    fit_sklearn,
    read_examples,
    train_head,
    write_manifest,
    write_model_json,
)


@pytest.fixture
def shared_audio() -> Path:
    """The real recordings in ../shared/audio-samples (skips when ../shared is absent)."""
    if not AUDIO_SAMPLES.is_dir():
        pytest.skip("../shared/audio-samples is not present")
    return AUDIO_SAMPLES


@pytest.fixture(scope="session")
def featurized(tmp_path_factory) -> str:
    from components.audio import feature_sets
    from components.featurize import core as featurize

    root = tmp_path_factory.mktemp("serving-data")
    out = root / "featurized"
    # every feature set (the opt-in YAMNet embedding and mn04 log-mel too): models on each serve
    config = featurize.FeaturizeConfig(feature_sets=feature_sets.ALL, num_shards=1)
    featurize.run(write_manifest(root), str(out), config)
    return str(out)


@pytest.fixture(scope="session")
def transform_graph(featurized) -> str:
    return os.path.join(featurized, "transform_graph")


@pytest.fixture(scope="session")
def keras_model_dir(featurized, tmp_path_factory) -> str:
    import keras

    keras.utils.set_random_seed(0)
    train = read_examples(featurized, "train")
    model = keras.Sequential(
        [
            keras.Input((128, 216, 1)),
            keras.layers.AveragePooling2D((4, 8)),
            keras.layers.Flatten(),
            keras.layers.Dense(8, activation="softmax"),
        ]
    )
    model.compile(keras.optimizers.Adam(0.05), "sparse_categorical_crossentropy")
    model.fit(train["log_mel"].reshape(-1, 128, 216, 1), train["label"], epochs=40, verbose=0)
    model_dir = tmp_path_factory.mktemp("models") / "cnn_log_mel"
    write_model_json(model_dir, "cnn_log_mel", "keras", "log_mel")
    model.save(model_dir / "model.keras")
    return str(model_dir)


@pytest.fixture(scope="session")
def linear_model_dir(featurized, tmp_path_factory) -> str:
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    model = make_pipeline(StandardScaler(), LogisticRegression(C=0.5, max_iter=500))
    directory = tmp_path_factory.mktemp("models") / "logistic_regression"
    return fit_sklearn(featurized, directory, "logistic_regression", model)


@pytest.fixture(scope="session")
def yamnet_model_dir(featurized, tmp_path_factory) -> str:
    """The yamnet family's seed head."""
    return train_head(featurized, tmp_path_factory, "yamnet")


@pytest.fixture(scope="session")
def mn04_model_dir(featurized, tmp_path_factory) -> str:
    """The mn04 family's seed head."""
    return train_head(featurized, tmp_path_factory, "mn04")


@pytest.fixture(scope="session")
def linear_yamnet_model_dir(featurized, tmp_path_factory) -> str:
    """The linear probe: logistic regression on the (z-scored) YAMNet embedding."""
    from sklearn.linear_model import LogisticRegression

    model = LogisticRegression(C=0.1, max_iter=1000)
    directory = tmp_path_factory.mktemp("models") / "logistic_regression_yamnet"
    return fit_sklearn(
        featurized, directory, "logistic_regression_yamnet", model, "yamnet_embedding"
    )


@pytest.fixture(scope="session")
def model_base(keras_model_dir, transform_graph, tmp_path_factory) -> str:
    from components.deploy import core

    base = str(tmp_path_factory.mktemp("model-base"))
    blessing = {"blessed": True, "candidate": "cnn_log_mel", "reasons": []}
    core.run([keras_model_dir], transform_graph, base, blessing, core.DeployConfig(version=1))
    return base


@pytest.fixture(scope="session")
def version_dir(model_base) -> str:
    return os.path.join(model_base, MODEL_NAME, "1")


@pytest.fixture(scope="session")
def served(version_dir):
    import tensorflow as tf

    return tf.saved_model.load(version_dir)


@pytest.fixture(scope="session")
def dev_server(model_base):
    """The development server over the exported model: ``(grpc_target, rest_base_url)``."""
    from serving.dev_server import grpc_api, rest
    from serving.dev_server.repository import ModelRepository

    repository = ModelRepository.from_base(model_base)
    grpc_server, grpc_port = grpc_api.serve(repository)
    http_server, http_port = rest.serve(repository)
    yield f"127.0.0.1:{grpc_port}", f"http://127.0.0.1:{http_port}"
    http_server.shutdown()
    grpc_server.stop(grace=1)
