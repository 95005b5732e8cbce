"""train: transformed TFRecords → a trained Keras model artifact directory (optionally tuned first).

Streams the family's feature from the featurizer's output (``data.py``), builds the family's
seed configuration — or, with ``tuned``, runs a Keras Tuner search over its space first
(``tuning.py``) and builds the best trial's — and trains with early stopping on validation loss
(best weights restored), optional inverse-frequency class weights, and fixed seeds. Writes the
model artifact directory of docs/contracts.md (``artifact.py``): ``model.keras``, ``model.json``
(name ``<family>`` or ``<family>_tuned``, timings, hyperparameters, history) and predictions for
every split; tuned runs add ``best_hparams.json`` and ``trials.json``. A distributed-tuning
worker (``tuner_id`` without "chief") only runs its trials and writes ``trials.json``.
"""

import dataclasses
import logging
import os
import tempfile
import time
from dataclasses import asdict, dataclass, field

import keras
import keras_tuner as kt
import numpy as np
import tensorflow as tf

from components.train import artifact, data, tuning
from components.train.model import FEATURE_OF, build_model, fixed_hyperparameters

# The demo's smaller batches give SGD more updates per epoch on its ~500 training clips.
PRESETS: dict[str, dict] = {
    "full": {"epochs": 40, "max_trials": 10, "batch_size": 32},
    "demo": {"epochs": 6, "max_trials": 2, "batch_size": 16},
}


@dataclass(frozen=True)
class TrainConfig:
    """How to train one Keras family (defaults: the study's full configuration).

    Attributes:
        family: One of ``model.FAMILIES``.
        epochs: Maximum epochs (final training and each tuning trial).
        batch_size: Examples per batch.
        tuned: Search the family's space with Keras Tuner before training.
        max_trials: Trial budget of the Bayesian tuner.
        tuner: ``bayesian`` or ``hyperband``.
        early_stopping_patience: Epochs without validation-loss improvement before stopping.
        class_weights: Weight the loss by inverse class frequency of the training split.
        seed: Seed of weights, shuffling and the tuner.
        resnet_weights: ``imagenet`` (needs a download) or None for ``resnet50_mfcc``.
        shuffle_buffer: Training examples held by the shuffle buffer.
        tuner_dir: Tuner state directory; empty uses a temporary one (set a shared path for
            distributed tuning).
        tuner_id: Distributed tuning: ``chief`` or a unique worker id; empty runs alone.
        oracle_address: Distributed tuning: the chief oracle's ``host:port``.
        hparams: Hyperparameter values fixed for this family (name → value, e.g.
            ``{"optimizer": "adam"}``): a seed run builds the study's configuration with these
            changed; a tuned run leaves them out of its search.
    """

    family: str
    epochs: int = 40
    batch_size: int = 32
    tuned: bool = False
    max_trials: int = 10
    tuner: str = "bayesian"
    early_stopping_patience: int = 5
    class_weights: bool = False
    seed: int = 0
    resnet_weights: str | None = None
    shuffle_buffer: int = 1024
    tuner_dir: str = ""
    tuner_id: str = ""
    oracle_address: str = ""
    hparams: dict = field(default_factory=dict)

    @property
    def name(self) -> str:
        """The model's name in reports: the family, with ``_tuned`` for tuned runs."""
        return f"{self.family}_tuned" if self.tuned else self.family

    def with_overrides(self, overrides: dict[str, dict]) -> "TrainConfig":
        """This config with ``overrides[family]`` (field name → value) applied.

        Lets one pipeline give a smaller budget to the family that is far slower (ResNet50).
        Values take the type of the field they replace: KFP passes dict parameters as protobuf
        Structs, in which every number is a float (``2`` arrives as ``2.0``).
        """
        fields = {}
        for key, value in overrides.get(self.family, {}).items():
            current = getattr(self, key)
            fields[key] = value if current is None else type(current)(value)
        return dataclasses.replace(self, **fields)


@dataclass(frozen=True)
class TrainResult:
    """What training produced."""

    name: str
    feature: str
    tuned: bool
    model_dir: str
    epochs_trained: int
    training_seconds: float
    seconds_per_epoch: float
    tuning_seconds: float
    hyperparameters: dict
    final: dict = field(default_factory=dict)
    worker_only: bool = False

    def summary(self) -> dict:
        """JSON-serialisable summary."""
        return asdict(self)


class _EpochTimer(keras.callbacks.Callback):
    def on_train_begin(self, logs=None) -> None:
        self.seconds: list[float] = []

    def on_epoch_begin(self, epoch, logs=None) -> None:
        self._start = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None) -> None:
        self.seconds.append(time.perf_counter() - self._start)


def _search(
    cfg: TrainConfig, fixed: kt.HyperParameters, train, validation, class_weight
) -> tuple[kt.HyperParameters | None, list[dict], float]:
    started = time.perf_counter()
    with (
        tempfile.TemporaryDirectory() as scratch,
        tuning.distributed_env(cfg.tuner_id, cfg.oracle_address),
    ):
        best, trials = tuning.search(
            cfg.family,
            train,
            validation,
            kind=cfg.tuner,
            max_trials=cfg.max_trials,
            epochs=cfg.epochs,
            patience=cfg.early_stopping_patience,
            seed=cfg.seed,
            directory=cfg.tuner_dir or scratch,
            weights=cfg.resnet_weights,
            class_weight=class_weight,
            fixed=fixed,
        )
    return best, trials, time.perf_counter() - started


def _write_predictions(model: keras.Model, examples_dir: str, output_dir: str, cfg: TrainConfig):
    feature = FEATURE_OF[cfg.family]
    for split in data.SPLITS:
        batches = data.dataset(examples_dir, split, feature, cfg.batch_size, with_ids=True)

        def rows(batches=batches):
            for x, y, ids in batches:
                probabilities = model.predict_on_batch(x)
                labels = np.argmax(y.numpy(), axis=1)
                for clip_id, label, probs in zip(ids.numpy(), labels, probabilities, strict=True):
                    yield clip_id.decode(), int(label), probs

        artifact.write_predictions(output_dir, split, rows())


def run(examples_dir: str, output_dir: str, cfg: TrainConfig) -> TrainResult:
    """Trains (optionally tunes first) one family and writes its model artifact directory.

    Args:
        examples_dir: Featurize output directory (``examples/<split>/*.tfrecord.gz``).
        output_dir: The model artifact directory to write.
        cfg: Family, budgets and seeds.

    Returns:
        Timings, hyperparameters and final metrics.
    """
    keras.utils.set_random_seed(cfg.seed)
    feature = FEATURE_OF[cfg.family]
    train = data.dataset(
        examples_dir,
        "train",
        feature,
        cfg.batch_size,
        shuffle=True,
        shuffle_buffer=cfg.shuffle_buffer,
        seed=cfg.seed,
    )
    validation = data.dataset(examples_dir, "validation", feature, cfg.batch_size)
    class_weight = (
        data.class_weights(data.class_counts(examples_dir)) if cfg.class_weights else None
    )
    hp, tuning_seconds = fixed_hyperparameters(cfg.family, cfg.hparams), 0.0
    tf.io.gfile.makedirs(output_dir)
    if cfg.tuned:
        best, trials, tuning_seconds = _search(cfg, hp, train, validation, class_weight)
        artifact.write_json(os.path.join(output_dir, "trials.json"), trials)
        if best is None:  # a distributed worker: the chief trains the best trial
            return TrainResult(
                cfg.name, feature, True, output_dir, 0, 0.0, 0.0, tuning_seconds, {}, {}, True
            )
        hp = best
        artifact.write_json(os.path.join(output_dir, "best_hparams.json"), dict(hp.values))
    keras.utils.set_random_seed(cfg.seed)
    model = build_model(cfg.family, hp, weights=cfg.resnet_weights)
    timer = _EpochTimer()
    stop = keras.callbacks.EarlyStopping(
        monitor="val_loss", patience=cfg.early_stopping_patience, restore_best_weights=True
    )
    logging.info("train: %s for up to %d epochs", cfg.name, cfg.epochs)
    started = time.perf_counter()
    history = model.fit(
        train,
        validation_data=validation,
        epochs=cfg.epochs,
        callbacks=[timer, stop],
        class_weight=class_weight,
        shuffle=False,  # the tf.data pipeline shuffles, with a bounded buffer
        verbose=2,
    )
    training_seconds = time.perf_counter() - started
    model.save(os.path.join(output_dir, "model.keras"))
    _write_predictions(model, examples_dir, output_dir, cfg)
    history_rows = {key: [float(v) for v in values] for key, values in history.history.items()}
    best_epoch = int(np.argmin(history_rows["val_loss"]))
    result = TrainResult(
        name=cfg.name,
        feature=feature,
        tuned=cfg.tuned,
        model_dir=output_dir,
        epochs_trained=len(timer.seconds),
        training_seconds=round(training_seconds, 3),
        seconds_per_epoch=round(float(np.mean(timer.seconds)), 3),
        tuning_seconds=round(tuning_seconds, 3),
        hyperparameters=dict(hp.values),
        final={key: values[best_epoch] for key, values in history_rows.items()},
    )
    artifact.write_model_card(
        output_dir,
        {
            "name": cfg.name,
            "family": "keras",
            "architecture": cfg.family,
            "feature": feature,
            "tuned": cfg.tuned,
            "training_seconds": result.training_seconds,
            "seconds_per_epoch": result.seconds_per_epoch,
            "tuning_seconds": result.tuning_seconds,
            "epochs_trained": result.epochs_trained,
            "best_epoch": best_epoch + 1,
            "hyperparameters": result.hyperparameters,
            "history": history_rows,
            "config": asdict(cfg),
        },
    )
    return result
