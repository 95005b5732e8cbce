"""What the train component reports to KFP: headline metrics and the hyperparameters artifact.

Kept out of the wrapper so the wrapper stays a few lines and this stays testable. The
hyperparameters artifact is a directory with ``best_hparams.json`` (the values the model was
trained with: the tuner's best, or the seed's; the same shape as in the model directory) and,
for tuned runs, the tuner's ``trials.json``. A distributed worker trained no model: its metrics
are the trials it ran and its tuning time, its hyperparameters artifact holds only its
``trials.json``, and its model artifact's metadata says it is a worker's.
"""

import os
from collections.abc import Callable

import tensorflow as tf

from components.artifacts import model_files
from components.artifacts.names import KERAS, TRIALS_FILE
from components.train.core import TrainResult


def log_metrics(result: TrainResult, log_metric: Callable[[str, float], None]) -> None:
    """Logs best-epoch metrics and timings through ``log_metric`` (KFP ``Metrics``)."""
    if result.worker_only:
        log_metric("trials_run", result.trials_run)
        log_metric("tuning_seconds", result.tuning_seconds)
        return
    for key, value in sorted(result.final.items()):
        log_metric(f"best_epoch_{key}", round(float(value), 6))
    log_metric("epochs_trained", result.epochs_trained)
    log_metric("training_seconds", result.training_seconds)
    log_metric("seconds_per_epoch", result.seconds_per_epoch)
    log_metric("tuning_seconds", result.tuning_seconds)


def write_hparams(result: TrainResult, output_dir: str) -> None:
    """Writes ``best_hparams.json`` (not a worker's) and copies ``trials.json`` when tuned."""
    if result.worker_only:
        tf.io.gfile.makedirs(output_dir)
    else:
        model_files.write_best_hparams(output_dir, result.hyperparameters)
    trials = os.path.join(result.model_dir, TRIALS_FILE)
    if tf.io.gfile.exists(trials):
        tf.io.gfile.copy(trials, os.path.join(output_dir, TRIALS_FILE), overwrite=True)


def model_metadata(result: TrainResult) -> dict:
    """The model artifact's metadata: name, framework and feature; a worker's says so instead."""
    if result.worker_only:
        return {"name": result.name, "worker": True, "trials_run": result.trials_run}
    return {"name": result.name, "framework": KERAS, "feature": result.feature}
