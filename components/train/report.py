"""What the train component reports to KFP: headline metrics and the hyperparameters artifact.

Kept out of the wrapper so the wrapper stays a few lines and this stays testable. The
hyperparameters artifact is a directory with ``best_hparams.json`` (the values the model was
trained with: the tuner's best, or the seed's; the same shape as in the model directory) and,
for tuned runs, the tuner's ``trials.json``.
"""

import os
from collections.abc import Callable

import tensorflow as tf

from components.artifacts import model_files
from components.artifacts.names import TRIALS_FILE
from components.train.core import TrainResult


def log_metrics(result: TrainResult, log_metric: Callable[[str, float], None]) -> None:
    """Logs best-epoch metrics and timings through ``log_metric`` (KFP ``Metrics``)."""
    for key, value in sorted(result.final.items()):
        log_metric(f"best_epoch_{key}", round(float(value), 6))
    log_metric("epochs_trained", result.epochs_trained)
    log_metric("training_seconds", result.training_seconds)
    log_metric("seconds_per_epoch", result.seconds_per_epoch)
    log_metric("tuning_seconds", result.tuning_seconds)


def write_hparams(result: TrainResult, output_dir: str) -> None:
    """Writes ``best_hparams.json`` (and copies ``trials.json`` when tuned) into ``output_dir``."""
    model_files.write_best_hparams(output_dir, result.hyperparameters)
    trials = os.path.join(result.model_dir, TRIALS_FILE)
    if tf.io.gfile.exists(trials):
        tf.io.gfile.copy(trials, os.path.join(output_dir, TRIALS_FILE), overwrite=True)
