"""The production model: the version clients get, scored through its own signature.

As TFX's evaluator does, the candidate is compared with the model it would replace on the same
data. ``production`` finds it under ``<model_base>/<model_name>/`` (local or ``gs://``): the
version the rollout config labels ``stable``, or without one the newest (what TF Serving then
serves; ``components/artifacts/rollout_config.production_version``). ``score`` loads it and
calls its own
``serving_default`` signature on the WAV bytes of the test clips, read from the manifest's URIs,
so the production model answers through its own decoder, featurizer, transform graph and
classifier. Its answer for a clip's first 5 s is used (the first window of its timeline; a
version without windows answers for the first 5 s anyway), since the candidate's test
predictions are of the first 5 s too (featurize pads or trims every clip). A batch the graph
rejects is retried clip by clip; each clip it rejects is kept with the graph's message and left
out of the comparison. ``compare`` then scores the production model and the candidate's test
predictions on the clips both answered, with evaluate's metrics, so the two macro-F1 are
computed on the same clips by the same definition.
"""

import logging
from dataclasses import dataclass, field

import numpy as np
import tensorflow as tf

from components.artifacts.model_base import read_card, version_dir
from components.artifacts.model_files import Predictions
from components.artifacts.rollout_config import production_version
from components.artifacts.signature import (
    DEFAULT_SIGNATURE,
    PROBABILITIES,
    WAV_INPUT,
    WINDOW_PROBABILITIES,
)
from components.evaluate import metrics

BATCH_SIZE = 16


@dataclass(frozen=True)
class ProductionScores:
    """The production model's answers on the test clips.

    Attributes:
        version: Its version number.
        path: Its version directory.
        model: The trained model it was exported from (its model card's name), if recorded.
        probabilities: Clip id → class probabilities, for every clip it answered.
        rejected: Clip id → the serving graph's error message, for every clip it refused.
    """

    version: int
    path: str
    model: str | None
    probabilities: dict[str, np.ndarray] = field(default_factory=dict)
    rejected: dict[str, str] = field(default_factory=dict)


def production(model_base: str, model_name: str) -> tuple[int, str] | None:
    """``(version, path)`` of the production version of ``model_name``, or None if none."""
    version = production_version(model_base, model_name)
    if version is None:
        return None
    return version, version_dir(model_base, model_name, version)


def _served_name(version_path: str) -> str | None:
    card = read_card(version_path)
    return None if card is None else card["model"]["name"]


def _first_line(error: tf.errors.InvalidArgumentError) -> str:
    lines = [line for line in error.message.splitlines() if line.strip()]
    useful = [line for line in lines if not line.startswith(("Graph execution", "Detected at"))]
    return (useful or lines or ["rejected"])[0].strip()


def score(version: int, path: str, clips: list[tuple[str, str]]) -> ProductionScores:
    """Scores ``(clip_id, uri)`` clips with the SavedModel at ``path``, through its signature.

    Args:
        version: The version number (recorded).
        path: The version directory (local or ``gs://``).
        clips: Test clips and the URIs of their audio files.

    Returns:
        The answered clips' probabilities and the refused clips' messages.
    """
    signature = tf.saved_model.load(path).signatures[DEFAULT_SIGNATURE]
    result = ProductionScores(version, path, _served_name(path))

    def run(batch: list[tuple[str, bytes]]) -> None:
        outputs = signature(**{WAV_INPUT: tf.constant([wav for _, wav in batch])})
        if WINDOW_PROBABILITIES in outputs:  # the first 5 s, as the candidate was scored
            scores = outputs[WINDOW_PROBABILITIES][:, 0]
        else:  # a version without windows answers for the first 5 s
            scores = outputs[PROBABILITIES]
        for (clip_id, _), row in zip(batch, scores.numpy(), strict=True):
            result.probabilities[clip_id] = row

    for start in range(0, len(clips), BATCH_SIZE):
        batch = []
        for clip_id, uri in clips[start : start + BATCH_SIZE]:
            with tf.io.gfile.GFile(uri, "rb") as handle:
                batch.append((clip_id, handle.read()))
        try:
            run(batch)
        except tf.errors.InvalidArgumentError:
            for one in batch:  # find the clips the graph refuses; score the others
                try:
                    run([one])
                except tf.errors.InvalidArgumentError as error:
                    result.rejected[one[0]] = _first_line(error)
    if result.rejected:
        logging.warning(
            "evaluate: production version %d refused %d of %d test clips, e.g. %s",
            version,
            len(result.rejected),
            len(clips),
            next(iter(result.rejected.values())),
        )
    return result


def compare(production: ProductionScores, candidate: Predictions) -> dict:
    """Accuracy and macro-F1 of the production model and the candidate on the clips both answered.

    Args:
        production: ``score``'s result.
        candidate: The candidate's test predictions (``model_files.read_predictions``).

    Returns:
        ``{"version", "path", "model", "n_test", "n_compared", "n_rejected", "rejected" (up to
        five ``{clip_id, message}``), "production_accuracy", "production_macro_f1",
        "candidate_accuracy", "candidate_macro_f1"}``; the scores are None when no clip was
        answered.
    """
    answered = production.probabilities
    rows = [i for i, clip_id in enumerate(candidate.clip_ids) if clip_id in answered]
    summary = {
        "version": production.version,
        "path": production.path,
        "model": production.model,
        "n_test": len(candidate.clip_ids),
        "n_compared": len(rows),
        "n_rejected": len(production.rejected),
        "rejected": [
            {"clip_id": clip_id, "message": message}
            for clip_id, message in sorted(production.rejected.items())[:5]
        ],
    }
    for who in ("production", "candidate"):
        summary[f"{who}_accuracy"] = summary[f"{who}_macro_f1"] = None
    if not rows:
        return summary
    labels = candidate.labels[rows]
    served = np.stack([production.probabilities[candidate.clip_ids[i]] for i in rows])
    for who, predicted in (
        ("production", served.argmax(axis=1)),
        ("candidate", candidate.predicted[rows]),
    ):
        scores = metrics.classification_metrics(labels, predicted)
        summary[f"{who}_accuracy"] = scores["accuracy"]
        summary[f"{who}_macro_f1"] = scores["macro_f1"]
    return summary


def evaluate_production(
    model_base: str,
    model_name: str,
    manifest: list[dict],
    candidate: Predictions,
) -> dict | None:
    """Finds, scores and compares the production model; None when there is no version yet.

    Args:
        model_base: TF Serving model base (local path or ``gs://``).
        model_name: Served model name.
        manifest: The ingest manifest (its test clips' ``uri``).
        candidate: The candidate's test predictions, whose clips are scored.
    """
    found = production(model_base, model_name)
    if found is None:
        return None
    uris = {row["clip_id"]: row["uri"] for row in manifest}
    missing = [clip_id for clip_id in candidate.clip_ids if clip_id not in uris]
    if missing:
        raise ValueError(f"{len(missing)} test clips are not in the manifest, e.g. {missing[0]}")
    clips = [(clip_id, uris[clip_id]) for clip_id in candidate.clip_ids]
    return compare(score(*found, clips), candidate)
