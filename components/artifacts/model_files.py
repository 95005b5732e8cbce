"""The model artifact directory that train and baselines write and evaluate and deploy read.

Layout (docs/contracts.md): ``model.json`` (the model card: name, ``framework`` ``keras`` or
``sklearn``, feature, class_names, training_seconds, hyperparameters...), the model file
(``model.keras``, saved by Keras, or ``model.joblib``), ``predictions/<split>.jsonl`` with one
``{clip_id, label, probabilities}`` per clip and, for Keras models, ``best_hparams.json`` (the
hyperparameter values, name → value). Every file is written atomically.
"""

import io
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import joblib
import numpy as np
import tensorflow as tf

from components.artifacts import files
from components.artifacts.names import (
    BEST_HPARAMS_FILE,
    MODEL_CARD_FILE,
    PREDICTIONS_DIR,
    SKLEARN_MODEL_FILE,
)
from components.audio.labels import CLASS_NAMES, NUM_CLASSES


@dataclass(frozen=True, kw_only=True)
class ModelInfo:
    """What ``model.json`` says about a trained model.

    Attributes:
        name: Unique model name (e.g. ``cnn_log_mel_tuned``, ``logistic_regression``).
        framework: ``keras`` or ``sklearn``.
        feature: The feature set it reads: ``log_mel``, ``mfcc`` or ``mean_mfcc``.
        model_dir: Directory the model was read from.
    """

    name: str
    framework: str
    feature: str
    model_dir: str

    @classmethod
    def from_card(cls, card: dict, model_dir: str) -> "ModelInfo":
        """The info of a ``model.json`` already read from ``model_dir``."""
        return cls(
            name=card["name"],
            framework=card["framework"],
            feature=card["feature"],
            model_dir=model_dir,
        )


@dataclass(frozen=True)
class Predictions:
    """One split of one model, sorted by clip id.

    Attributes:
        clip_ids: Clip ids.
        labels: True class indices ``[n]``.
        probabilities: Class probabilities ``[n, NUM_CLASSES]``.
    """

    clip_ids: list[str]
    labels: np.ndarray
    probabilities: np.ndarray

    @property
    def predicted(self) -> np.ndarray:
        """Predicted class indices (argmax of the probabilities)."""
        return self.probabilities.argmax(axis=1)


def write_model_card(output_dir: str, card: dict) -> None:
    """Writes ``model.json``; ``class_names`` is filled in from the shared label map."""
    tf.io.gfile.makedirs(output_dir)
    card = {"class_names": list(CLASS_NAMES), **card}
    files.write_json(os.path.join(output_dir, MODEL_CARD_FILE), card)


def read_model_card(model_dir: str) -> dict:
    """Reads a model directory's ``model.json``."""
    return files.read_json(os.path.join(model_dir, MODEL_CARD_FILE))


def read_model_info(model_dir: str) -> ModelInfo:
    """The name, framework and feature of a model directory's ``model.json``."""
    return ModelInfo.from_card(read_model_card(model_dir), model_dir)


def write_predictions(
    output_dir: str, split: str, rows: Iterable[tuple[str, int, Sequence[float]]]
) -> int:
    """Writes ``predictions/<split>.jsonl`` from ``(clip_id, label, probabilities)`` rows.

    Returns:
        The number of rows written.
    """
    directory = os.path.join(output_dir, PREDICTIONS_DIR)
    tf.io.gfile.makedirs(directory)
    return files.write_jsonl(
        os.path.join(directory, f"{split}.jsonl"),
        (
            {
                "clip_id": clip_id,
                "label": int(label),
                "probabilities": [round(float(p), 6) for p in probabilities],
            }
            for clip_id, label, probabilities in rows
        ),
    )


def read_predictions(model_dir: str, split: str) -> Predictions:
    """Reads ``predictions/<split>.jsonl`` of a model directory, sorted by clip id."""
    rows = files.read_jsonl(os.path.join(model_dir, PREDICTIONS_DIR, f"{split}.jsonl"))
    rows.sort(key=lambda row: row["clip_id"])
    return Predictions(
        clip_ids=[row["clip_id"] for row in rows],
        labels=np.array([row["label"] for row in rows], dtype=np.int64),
        probabilities=np.array([row["probabilities"] for row in rows], dtype=np.float64).reshape(
            len(rows), NUM_CLASSES
        ),
    )


def write_best_hparams(output_dir: str, values: dict) -> None:
    """Writes ``best_hparams.json``: the hyperparameter values a model was trained with."""
    tf.io.gfile.makedirs(output_dir)
    files.write_json(os.path.join(output_dir, BEST_HPARAMS_FILE), values)


def write_sklearn_model(output_dir: str, estimator: object) -> None:
    """Writes a fitted scikit-learn estimator as ``model.joblib``, atomically."""
    buffer = io.BytesIO()  # GFile (gs:// too) takes bytes, not pickle's memoryviews
    joblib.dump(estimator, buffer)
    tf.io.gfile.makedirs(output_dir)
    with files.atomic(os.path.join(output_dir, SKLEARN_MODEL_FILE), "wb") as handle:
        handle.write(buffer.getvalue())


def read_sklearn_model(model_dir: str) -> object:
    """Loads ``model.joblib`` of a scikit-learn model directory."""
    with tf.io.gfile.GFile(os.path.join(model_dir, SKLEARN_MODEL_FILE), "rb") as handle:
        return joblib.load(io.BytesIO(handle.read()))
