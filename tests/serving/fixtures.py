"""Session fixtures: a small featurized dataset, a tiny Keras model, a logistic regression, the
YAMNet head and a logistic regression on the YAMNet embedding, and one exported serving model
that every serving test (and the fault suite's served-model tests) shares.

A plugin of ``tests/conftest.py`` (``pytest_plugins``) rather than ``tests/serving``'s conftest,
so that ``tests/faults`` reuses the same session fixtures instead of building a second model in
the same worker; TensorFlow and the components are imported inside the fixtures, so loading the
plugin costs the sessions that never use it nothing.
"""

import glob
import json
import os

import numpy as np
import pytest
import soundfile

from components.audio.labels import CLASS_NAMES
from tests.conftest import tone

MODEL_NAME = "household_sounds"


def write_manifest(root) -> str:
    rows = []
    for i in range(24):
        label = i % 8
        split = "train" if i < 16 else ("validation" if i < 20 else "test")
        path = root / f"{i}.wav"
        soundfile.write(path, tone(200.0 + 150 * label, 2.0, 22050, 0.1 + 0.02 * i), 22050)
        rows.append(
            {
                "clip_id": f"c{i}",
                "uri": str(path),
                "split": split,
                "label": CLASS_NAMES[label],
                "label_index": label,
            }
        )
    manifest = root / "manifest.jsonl"
    manifest.write_text("".join(json.dumps(row) + "\n" for row in rows))
    return str(manifest)


def read_examples(featurized: str, split: str) -> dict[str, np.ndarray]:
    import tensorflow as tf

    from components.audio import examples

    files = sorted(glob.glob(os.path.join(featurized, "examples", split, "*.tfrecord.gz")))
    dataset = tf.data.TFRecordDataset(files, compression_type="GZIP").map(
        lambda record: tf.io.parse_single_example(record, examples.feature_spec())
    )
    rows = [{k: v.numpy() for k, v in example.items()} for example in dataset]
    return {key: np.stack([row[key] for row in rows]) for key in rows[0]}


def write_model_json(
    model_dir, name: str, framework: str, feature: str, estimator: str = ""
) -> None:
    os.makedirs(model_dir, exist_ok=True)
    meta = {"name": name, "framework": framework, "feature": feature}
    if estimator:  # scikit-learn: the fitted estimator's class, as baselines records it
        meta["estimator"] = estimator
    meta["class_names"] = list(CLASS_NAMES)
    with open(os.path.join(model_dir, "model.json"), "w") as handle:
        json.dump(meta, handle)


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


def fit_sklearn(featurized, model_dir, name: str, estimator, feature: str = "mean_mfcc") -> str:
    import joblib

    train = read_examples(featurized, "train")
    estimator.fit(train[feature], train["label"])
    final = estimator.steps[-1][1] if hasattr(estimator, "steps") else estimator  # a Pipeline's
    write_model_json(model_dir, name, "sklearn", feature, type(final).__name__)
    joblib.dump(estimator, os.path.join(model_dir, "model.joblib"))
    return str(model_dir)


@pytest.fixture(scope="session")
def linear_model_dir(featurized, tmp_path_factory) -> str:
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    model = make_pipeline(StandardScaler(), LogisticRegression(C=0.5, max_iter=500))
    directory = tmp_path_factory.mktemp("models") / "logistic_regression"
    return fit_sklearn(featurized, directory, "logistic_regression", model)


def train_head(featurized: str, tmp_path_factory, family: str) -> str:
    """An embedding family's seed head, trained a few epochs on the featurized embeddings."""
    import keras

    from components.train.model import FEATURE_OF, build_model

    keras.utils.set_random_seed(0)
    train = read_examples(featurized, "train")
    model = build_model(family)
    labels = keras.utils.to_categorical(train["label"], len(CLASS_NAMES))
    model.fit(train[FEATURE_OF[family]], labels, epochs=30, batch_size=8, verbose=0)
    model_dir = tmp_path_factory.mktemp("models") / family
    write_model_json(model_dir, family, "keras", FEATURE_OF[family])
    model.save(model_dir / "model.keras")
    return str(model_dir)


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
    blessing = {"blessed": True, "model": "cnn_log_mel", "reasons": []}
    core.run(keras_model_dir, transform_graph, base, blessing, core.DeployConfig(version=1))
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
