"""The served test model's pieces: a small featurized dataset and the model directories built on it.

``tests/conftest.py``'s session fixtures (``featurized``, ``keras_model_dir``, ``model_base``,
``served``, ``dev_server`` ...) build one exported serving model from these, shared by the
serving tests, the deploy component tests and the fault suite's served-model tests in the same
worker; TensorFlow and the components are imported inside the functions, so importing this module
costs the sessions that never use it nothing.
"""

import glob
import json
import os

import numpy as np
import soundfile

from components.audio.labels import CLASS_NAMES
from tests.helpers.audio import tone

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


def fit_sklearn(featurized, model_dir, name: str, estimator, feature: str = "mean_mfcc") -> str:
    import joblib

    train = read_examples(featurized, "train")
    estimator.fit(train[feature], train["label"])
    final = estimator.steps[-1][1] if hasattr(estimator, "steps") else estimator  # a Pipeline's
    write_model_json(model_dir, name, "sklearn", feature, type(final).__name__)
    joblib.dump(estimator, os.path.join(model_dir, "model.joblib"))
    return str(model_dir)


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
