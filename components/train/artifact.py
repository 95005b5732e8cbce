"""The model artifact directory that train and baselines write and evaluate and deploy read.

Layout (docs/contracts.md): ``model.json`` (name, family ``keras``/``sklearn``, feature,
class_names, training_seconds, hyperparameters, history...), the model file (``model.keras`` or
``model.joblib``) and ``predictions/<split>.jsonl`` with one ``{clip_id, label, probabilities}``
per clip. Every file is written under a temporary name and renamed, so a reader never sees a
half-written artifact (local paths and ``gs://`` alike).
"""

import json
import os
from collections.abc import Iterable, Sequence

import tensorflow as tf

from components.audio.labels import CLASS_NAMES

MODEL_CARD = "model.json"
PREDICTIONS_DIR = "predictions"


def write_text(path: str, text: str) -> None:
    """Writes ``text`` to ``path`` through a temporary name."""
    partial = f"{path}.partial"
    with tf.io.gfile.GFile(partial, "w") as handle:
        handle.write(text)
    tf.io.gfile.rename(partial, path, overwrite=True)


def write_json(path: str, payload: object) -> None:
    """Writes ``payload`` as indented JSON, atomically."""
    write_text(path, json.dumps(payload, indent=2, sort_keys=True, default=float) + "\n")


def write_model_card(output_dir: str, card: dict) -> None:
    """Writes ``model.json``; ``class_names`` is filled in from the shared label map."""
    tf.io.gfile.makedirs(output_dir)
    write_json(os.path.join(output_dir, MODEL_CARD), {"class_names": list(CLASS_NAMES), **card})


def write_predictions(
    output_dir: str, split: str, rows: Iterable[tuple[str, int, Sequence[float]]]
) -> int:
    """Writes ``predictions/<split>.jsonl`` from ``(clip_id, label, probabilities)`` rows.

    Returns:
        The number of rows written.
    """
    directory = os.path.join(output_dir, PREDICTIONS_DIR)
    tf.io.gfile.makedirs(directory)
    path = os.path.join(directory, f"{split}.jsonl")
    count = 0
    with tf.io.gfile.GFile(f"{path}.partial", "w") as handle:
        for clip_id, label, probabilities in rows:
            probs = [round(float(p), 6) for p in probabilities]
            handle.write(
                json.dumps({"clip_id": clip_id, "label": int(label), "probabilities": probs}) + "\n"
            )
            count += 1
    tf.io.gfile.rename(f"{path}.partial", path, overwrite=True)
    return count


def read_model_card(model_dir: str) -> dict:
    """Reads a model directory's ``model.json``."""
    with tf.io.gfile.GFile(os.path.join(model_dir, MODEL_CARD)) as handle:
        return json.load(handle)
