"""Resumable training: the state a killed or retried train task picks up again.

A train task keeps its resume state in one checkpoint directory (``TrainConfig.checkpoint_dir``,
by default ``<output>/resume``; the pipeline puts it under ``checkpoint_root`` when one is given,
keyed by ``checkpoint_key``): ``tuner/`` is the Keras Tuner project (reloaded, so completed trials
are not run again), ``fit/backup/`` is Keras's ``BackupAndRestore`` (weights, optimizer and epoch
after every epoch), and ``fit/journal.json`` with ``fit/best-<epoch>.weights.npz`` is what
``BackupAndRestore`` does not keep: every finished epoch's metrics and seconds and the early
stopping state (best loss, patience used, best epoch and its weights). The journal is written
before the backup at each epoch's end and trimmed to the backup's epoch when read, so the two
always agree. The directory is removed once the model artifact is written, so a later run with
the same key (e.g. ``--no-cache``) starts afresh. Keras restores weights and epoch, not the
random state: a resumed run's later epochs see other shuffles than an uninterrupted one would.
"""

import dataclasses
import hashlib
import io
import json
import os
import time

import keras
import numpy as np
import tensorflow as tf

from components.artifacts import files
from components.artifacts.names import RESUME_DIR
from components.train.config import TrainConfig

TUNER_DIR = "tuner"
FIT_DIR = "fit"
BACKUP_DIR = "backup"
JOURNAL_FILE = "journal.json"


def checkpoint_dir(output_dir: str, cfg: TrainConfig) -> str:
    """``cfg.checkpoint_dir``, else ``<output_dir>/resume``."""
    return cfg.checkpoint_dir or os.path.join(output_dir, RESUME_DIR)


def checkpoint_key(examples_uri: str, cfg: TrainConfig) -> str:
    """``<model name>-<hash>``: one directory per input examples and training configuration.

    Two tasks share a key only if they train the same model on the same examples, so a rerun of
    a pipeline finds its interrupted task's state and no other task's.
    """
    payload = {"examples": examples_uri, "config": dataclasses.asdict(cfg)}
    digest = hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()
    return f"{cfg.name}-{digest[:16]}"


def under_root(cfg: TrainConfig, root: str, examples_uri: str) -> TrainConfig:
    """``cfg`` with its checkpoint directory at ``<root>/<checkpoint_key>``."""
    key = checkpoint_key(examples_uri, cfg)
    return dataclasses.replace(cfg, checkpoint_dir=os.path.join(root, key))


def backup(directory: str) -> keras.callbacks.BackupAndRestore:
    """Keras's ``BackupAndRestore`` in ``<directory>/fit/backup`` (two generations kept)."""
    return keras.callbacks.BackupAndRestore(
        os.path.join(directory, FIT_DIR, BACKUP_DIR), double_checkpoint=True
    )


def _backed_up_epochs(fit_dir: str) -> int:
    metadata = os.path.join(fit_dir, BACKUP_DIR, "training_metadata.json")
    return int(files.read_json(metadata)["epoch"]) if tf.io.gfile.exists(metadata) else 0


class ResumableEarlyStopping(keras.callbacks.EarlyStopping):
    """Early stopping on validation loss (best weights restored) that also keeps a journal.

    Must come before ``backup(directory)`` in the callbacks. ``rows`` holds one entry per
    finished epoch, those of an interrupted attempt first: ``epoch``, ``seconds``, the logs.
    """

    def __init__(self, directory: str, patience: int) -> None:
        super().__init__(monitor="val_loss", patience=patience, restore_best_weights=True)
        self.fit_dir = os.path.join(directory, FIT_DIR)
        self.rows: list[dict] = []
        self.resumed_from = 0

    def _journal(self) -> str:
        return os.path.join(self.fit_dir, JOURNAL_FILE)

    def _weights(self, epoch: int) -> str:
        return os.path.join(self.fit_dir, f"best-{epoch}.weights.npz")

    def on_train_begin(self, logs=None) -> None:
        """Resets, then takes the journal's state at the epoch the backup restores."""
        super().on_train_begin(logs)
        self.resumed_from = _backed_up_epochs(self.fit_dir)
        journal = self._journal()
        rows = files.read_json(journal)["rows"] if tf.io.gfile.exists(journal) else []
        self.rows = rows[: self.resumed_from]
        if self.rows:
            last = self.rows[-1]
            self.wait, self.best, self.best_epoch = last["wait"], last["best"], last["best_epoch"]
            with tf.io.gfile.GFile(self._weights(self.best_epoch), "rb") as handle:
                saved = np.load(io.BytesIO(handle.read()))
            self.best_weights = [saved[f"w{i}"] for i in range(len(saved.files))]

    def on_epoch_begin(self, epoch, logs=None) -> None:
        """Starts the epoch's clock."""
        self._started = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None) -> None:
        """Early stopping's step, then the epoch's row (and new best weights) written."""
        seconds = time.perf_counter() - self._started
        super().on_epoch_end(epoch, logs)
        tf.io.gfile.makedirs(self.fit_dir)
        if self.best_epoch == epoch and self.best_weights is not None:
            buffer = io.BytesIO()  # GFile handles cannot seek as zip files need
            np.savez(buffer, **{f"w{i}": w for i, w in enumerate(self.best_weights)})
            with files.atomic(self._weights(epoch), "wb") as handle:
                handle.write(buffer.getvalue())
        self.rows.append(
            {
                "epoch": epoch,
                "seconds": seconds,
                "logs": {key: float(value) for key, value in (logs or {}).items()},
                "wait": self.wait,
                "best": None if self.best is None else float(self.best),
                "best_epoch": self.best_epoch,
            }
        )
        files.write_json(self._journal(), {"rows": self.rows})
        # A kill before the backup's save trims the journal back one epoch: keep its best too.
        keep = {self._weights(row["best_epoch"]) for row in self.rows[-2:]}
        for path in tf.io.gfile.glob(os.path.join(self.fit_dir, "best-*.weights.npz")):
            if path not in keep:
                tf.io.gfile.remove(path)

    def history(self) -> dict[str, list[float]]:
        """Metric name → one value per finished epoch, across every attempt."""
        keys = self.rows[0]["logs"] if self.rows else {}
        return {key: [row["logs"][key] for row in self.rows] for key in keys}


def clear(directory: str) -> None:
    """Removes a finished task's resume state."""
    if tf.io.gfile.exists(directory):
        tf.io.gfile.rmtree(directory)
