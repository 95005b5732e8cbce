"""Training progress as log lines: one per epoch (and per tuner trial), never on stdout.

Keras's own progress output (``verbose``) prints to stdout, which a command keeps for its JSON
answer; ``EpochLog`` logs instead, through ``logging`` (stderr on the command line, the task's
log in a pipeline): ``train: cnn_mfcc epoch 3/12: loss 1.2034, val_loss 1.1020,
val_accuracy 0.6250 (4.1 s)``. In a Keras Tuner search every trial fits a deep copy of the
callbacks; this one is shared instead, so it can number the trials (those this process runs).
"""

import logging
import time

import keras

SHOWN = ("loss", "accuracy", "val_loss", "val_accuracy")


class EpochLog(keras.callbacks.Callback):
    """Logs each epoch's losses and accuracies with its duration; ``trials`` numbers each fit."""

    def __init__(self, name: str, epochs: int, trials: bool = False) -> None:
        super().__init__()
        self.name = name
        self.epochs = epochs
        self.trials = trials
        self.trial = 0
        self._epoch_started = 0.0

    def __deepcopy__(self, memo: dict) -> "EpochLog":
        return self  # Keras Tuner copies a trial's callbacks: keep counting trials here

    def on_train_begin(self, logs: dict | None = None) -> None:
        """A fit starts: in a search, the next trial."""
        self.trial += 1

    def on_epoch_begin(self, epoch: int, logs: dict | None = None) -> None:
        """Starts the epoch's clock."""
        self._epoch_started = time.monotonic()

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        """Logs the epoch's line."""
        values = ", ".join(f"{key} {logs[key]:.4f}" for key in SHOWN if key in (logs or {}))
        trial = f" trial {self.trial}" if self.trials else ""
        seconds = time.monotonic() - self._epoch_started
        logging.info(
            "train: %s%s epoch %d/%d: %s (%.1f s)",
            self.name,
            trial,
            epoch + 1,
            self.epochs,
            values,
            seconds,
        )
