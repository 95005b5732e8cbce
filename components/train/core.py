"""train: transformed TFRecords → a trained Keras model artifact directory (optionally tuned first).

Streams the family's feature from the featurizer's output (``data.py``), builds the family's
seed configuration — or, with ``tuned``, runs a Keras Tuner search over its space first
(``tuning.py``; the family's training recipe fixed unless ``recipe`` is off) and builds the best
trial's — and trains, with the recipe's augmentation of training batches when its
hyperparameters ask for it (``recipe.py``), with early stopping on validation loss
(best weights restored), optional inverse-frequency class weights, and fixed seeds. Writes the
model artifact directory of docs/contracts.md (``components.artifacts.model_files``):
``model.keras``, ``model.json`` (name ``<family>`` or ``<family>_tuned``, framework ``keras``,
timings, hyperparameters, history) and predictions for every split; tuned runs add
``best_hparams.json`` and ``trials.json``. In a distributed search (``TrainConfig.role``,
``distributed.py``) the chief serves the search, then trains and writes the best trial's model
as above, its ``trials.json`` holding every trial of the search; a worker only runs the trials
the chief hands it and its output directory holds just ``trials.json``, those trials as the
chief scored them (no model: evaluate and deploy never see a worker's directory).
"""

import contextlib
import logging
import math
import os
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field

import keras
import keras_tuner as kt
import numpy as np
import tensorflow as tf

from components.artifacts import files, model_files, shards
from components.artifacts.names import KERAS, KERAS_MODEL_FILE, SPLITS, TRIALS_FILE
from components.train import data, recipe, resume, tuning
from components.train.config import TrainConfig
from components.train.epoch_log import EpochLog
from components.train.model import (
    FEATURE_OF,
    augmentation,
    build_model,
    fixed_hyperparameters,
    pretrained_files,
)


@dataclass(frozen=True, kw_only=True)
class TrainResult:
    """What training produced (a distributed worker's: ``worker_only``, its ``trials_run``)."""

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
    trials_run: int = 0

    def summary(self) -> dict:
        """JSON-serialisable summary."""
        return asdict(self)


@contextlib.contextmanager
def _precision(mixed: bool) -> Iterator[None]:
    """Keras's ``mixed_float16`` policy for the models built in the block (then the old one)."""
    previous = keras.mixed_precision.global_policy()
    keras.mixed_precision.set_global_policy("mixed_float16" if mixed else "float32")
    try:
        yield
    finally:
        keras.mixed_precision.set_global_policy(previous)


def _search(
    cfg: TrainConfig,
    fixed: kt.HyperParameters,
    train,
    validation,
    class_weight,
    steps_per_epoch: int,
    checkpoints: str,
) -> tuple[kt.HyperParameters | None, list[dict], float]:
    started = time.perf_counter()
    best, trials = tuning.search(
        cfg.family,
        train,
        validation,
        kind=cfg.tuner,
        max_trials=cfg.max_trials,
        epochs=cfg.epochs,
        patience=cfg.early_stopping_patience,
        seed=cfg.seed,
        directory=cfg.tuner_dir or os.path.join(checkpoints, resume.TUNER_DIR),
        weights=cfg.resnet_weights,
        class_weight=class_weight,
        fixed=fixed,
        steps_per_epoch=steps_per_epoch,
        role=cfg.role,
    )
    return best, trials, time.perf_counter() - started


def _write_predictions(model: keras.Model, examples_dir: str, output_dir: str, cfg: TrainConfig):
    feature = FEATURE_OF[cfg.family]
    for split in SPLITS:
        batches = data.dataset(examples_dir, split, feature, cfg.batch_size, with_ids=True)

        def rows(batches=batches):
            for x, y, ids in batches:
                probabilities = model.predict_on_batch(x)
                labels = np.argmax(y.numpy(), axis=1)
                for clip_id, label, probs in zip(ids.numpy(), labels, probabilities, strict=True):
                    yield clip_id.decode(), int(label), probs

        model_files.write_predictions(output_dir, split, rows())


def run(examples_dir: str, output_dir: str, cfg: TrainConfig) -> TrainResult:
    """Trains (optionally tunes first) one family and writes its model artifact directory.

    Args:
        examples_dir: Featurize output directory (``examples/<split>/*.tfrecord.gz``).
        output_dir: The model artifact directory to write.
        cfg: Family, budgets and seeds.

    Returns:
        Timings, hyperparameters and final metrics.

    Raises:
        shards.MissingFeatureError: If featurize did not compute the family's feature set.
    """
    cfg.role.check()
    if cfg.role.distributed and not cfg.tuned:
        raise ValueError("a tuner_id is for a tuned run (--tuned): a seed run searches nothing")
    keras.utils.set_random_seed(cfg.seed)
    feature = FEATURE_OF[cfg.family]
    shards.require_feature(examples_dir, feature, cfg.name)
    train = data.dataset(
        examples_dir,
        "train",
        feature,
        cfg.batch_size,
        shuffle=True,
        shuffle_buffer=cfg.shuffle_buffer,
        seed=cfg.seed,
        cache=cfg.cache_examples,
    )
    validation = data.dataset(
        examples_dir, "validation", feature, cfg.batch_size, cache=cfg.cache_examples
    )
    counts = data.class_counts(examples_dir)
    class_weight = data.class_weights(counts) if cfg.class_weights else None
    steps_per_epoch = math.ceil(int(counts.sum()) / cfg.batch_size)
    hp, tuning_seconds = fixed_hyperparameters(cfg.family, cfg.fixed_hparams), 0.0
    tf.io.gfile.makedirs(output_dir)
    checkpoints = resume.checkpoint_dir(output_dir, cfg)
    if cfg.tuned:
        with _precision(cfg.mixed_precision):
            best, trials, tuning_seconds = _search(
                cfg, hp, train, validation, class_weight, steps_per_epoch, checkpoints
            )
        files.write_json(os.path.join(output_dir, TRIALS_FILE), trials)
        if best is None:  # a distributed worker: the chief trains the best trial
            resume.clear(checkpoints)
            return TrainResult(
                name=cfg.name,
                feature=feature,
                tuned=True,
                model_dir=output_dir,
                epochs_trained=0,
                training_seconds=0.0,
                seconds_per_epoch=0.0,
                tuning_seconds=round(tuning_seconds, 3),
                hyperparameters={},
                worker_only=True,
                trials_run=len(trials),
            )
        hp = best
        model_files.write_best_hparams(output_dir, dict(hp.values))
    keras.utils.set_random_seed(cfg.seed)
    total_steps = cfg.epochs * steps_per_epoch
    with _precision(cfg.mixed_precision):
        model = build_model(cfg.family, hp, weights=cfg.resnet_weights, total_steps=total_steps)
    stop = resume.ResumableEarlyStopping(checkpoints, cfg.early_stopping_patience)
    logging.info("train: %s for up to %d epochs", cfg.name, cfg.epochs)
    model.fit(
        recipe.augment(train, augmentation(cfg.family, hp), cfg.seed),
        validation_data=validation,
        epochs=cfg.epochs,
        # the journal first (resume.py)
        callbacks=[stop, resume.backup(checkpoints), EpochLog(cfg.name, cfg.epochs)],
        class_weight=class_weight,
        shuffle=False,  # the tf.data pipeline shuffles, with a bounded buffer
        verbose=0,  # Keras prints to stdout; EpochLog logs
    )
    if stop.resumed_from:
        logging.info("train: %s resumed after epoch %d", cfg.name, stop.resumed_from)
    if cfg.mixed_precision:  # the artifact computes in float32 wherever it is served
        trained, model = model, build_model(cfg.family, hp, total_steps=total_steps)
        model.set_weights(trained.get_weights())
    model.save(os.path.join(output_dir, KERAS_MODEL_FILE))
    _write_predictions(model, examples_dir, output_dir, cfg)
    history_rows = stop.history()
    seconds = [row["seconds"] for row in stop.rows]
    best_epoch = int(np.argmin(history_rows["val_loss"]))
    result = TrainResult(
        name=cfg.name,
        feature=feature,
        tuned=cfg.tuned,
        model_dir=output_dir,
        epochs_trained=len(seconds),
        training_seconds=round(sum(seconds), 3),
        seconds_per_epoch=round(float(np.mean(seconds)), 3),
        tuning_seconds=round(tuning_seconds, 3),
        hyperparameters=dict(hp.values),
        final={key: values[best_epoch] for key, values in history_rows.items()},
    )
    model_files.write_model_card(
        output_dir,
        {
            "name": cfg.name,
            "framework": KERAS,
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
            "resumed_after_epoch": stop.resumed_from,
            "pretrained": pretrained_files(cfg.family),
        },
    )
    resume.clear(checkpoints)
    return result
