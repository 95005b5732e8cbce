"""Keras Tuner search over a family's space (``build_model(family, hp)``), alone or distributed.

Bayesian optimisation (``max_trials`` trials) or Hyperband (budget set by ``max_epochs`` and
factor 3; ``max_trials`` does not apply) minimises validation loss, each trial with the same
early stopping as final training. The result is the best ``HyperParameters`` and a trials summary
(id, status, score, values, best epoch) sorted best first.

Distributed tuning uses Keras Tuner's chief/worker mode (``distributed.py``: roles, how workers
find the chief, lost workers): every process runs the same search under its ``Role``. The chief
serves the oracle and returns when the trials are done; its result is the search's best
hyperparameters and every trial. A worker trains the trials the chief hands it; its result is
no hyperparameters (it does not see the whole search) and the trials it ran, as the chief
scored them. keras-tuner writes its state files (``oracle.json``, ``tuner0.json``, each
``trial.json``) in place, so a task killed mid-write left an empty ``oracle.json`` that no
rerun could load (seen in a test under load); during a search they are written to a temporary
file and renamed over the old one instead (``atomic_state_files``).
"""

import contextlib
import json
from collections.abc import Iterable, Iterator

import keras
import keras_tuner as kt
import tensorflow as tf

from components.train import recipe
from components.train.config import Role
from components.train.distributed import WorkerHooks, environment, prepare
from components.train.epoch_log import EpochLog
from components.train.model import augmentation, build_model

ALONE = Role()  # a search in one process


class _WithoutTensorBoard:
    """Skips Keras Tuner's TensorBoard hook, which we never use.

    keras-tuner 1.4.8 imports ``tensorboard`` on every trial under the TensorFlow backend, even
    without a TensorBoard callback, and tensorflow-cpu 2.21 no longer installs tensorboard; the
    hook only rewrites TensorBoard callbacks, and none is ever passed here.
    """

    def _configure_tensorboard_dir(self, callbacks, trial, execution=0) -> None:
        return None


class _BayesianOptimization(WorkerHooks, _WithoutTensorBoard, kt.BayesianOptimization):
    pass


class _Hyperband(WorkerHooks, _WithoutTensorBoard, kt.Hyperband):
    pass


class RecipeHyperModel(kt.HyperModel):
    """A family's space as a Keras Tuner hypermodel whose ``fit`` applies the trial's recipe.

    ``build`` is ``build_model`` (given the planned steps, for a cosine learning rate); ``fit``
    augments the training batches as the trial's hyperparameters say (``recipe.augment``), so
    SpecAugment and mixup are searched like any other choice and never enter the model.
    """

    def __init__(self, family: str, weights: str | None, total_steps: int, seed: int) -> None:
        super().__init__(name=family)
        self.family, self.weights, self.total_steps, self.seed = family, weights, total_steps, seed

    def build(self, hp: kt.HyperParameters) -> keras.Model:
        """The family's compiled model for ``hp``."""
        return build_model(self.family, hp, weights=self.weights, total_steps=self.total_steps)

    def fit(self, hp: kt.HyperParameters, model: keras.Model, train, *args, **kwargs):
        """``model.fit`` on the training batches augmented as ``hp`` says."""
        batches = recipe.augment(train, augmentation(self.family, hp), self.seed)
        return model.fit(batches, *args, **kwargs)


def _save_json_atomically(path: str, obj: object) -> str:
    """keras-tuner's ``utils.save_json``, made atomic: a temporary file renamed over ``path``."""
    text = json.dumps(obj)
    temporary = f"{path}.partial"
    with tf.io.gfile.GFile(temporary, "w") as handle:
        handle.write(text)
    tf.io.gfile.rename(temporary, path, overwrite=True)
    return text


@contextlib.contextmanager
def atomic_state_files() -> Iterator[None]:
    """While open, keras-tuner saves every state file atomically (``_save_json_atomically``)."""
    from keras_tuner.src import utils  # where keras-tuner 1.4's Stateful.save looks it up

    original, utils.save_json = utils.save_json, _save_json_atomically
    try:
        yield
    finally:
        utils.save_json = original


def _tuner(
    family: str,
    kind: str,
    max_trials: int,
    epochs: int,
    seed: int,
    directory: str,
    weights: str | None,
    fixed: kt.HyperParameters | None,
    total_steps: int,
) -> kt.Tuner:
    hypermodel = RecipeHyperModel(family, weights, total_steps, seed)

    common = {
        "objective": "val_loss",
        "seed": seed,
        "directory": directory,
        "project_name": family,
        # A rerun in the same directory (a retried task) reloads the finished trials.
        "overwrite": False,
        "hyperparameters": fixed,
        "tune_new_entries": True,
    }
    if kind == "bayesian":
        return _BayesianOptimization(hypermodel, max_trials=max_trials, **common)
    if kind == "hyperband":
        return _Hyperband(hypermodel, max_epochs=epochs, factor=3, **common)
    raise ValueError(f"unknown tuner {kind!r}; expected 'bayesian' or 'hyperband'")


def _keep_completed(oracle: kt.Oracle) -> None:
    """Stops a reloaded oracle from running a completed trial again.

    keras-tuner 1.4.8 saves the oracle at a trial's end before it drops the trial from the
    ongoing ones, and a reload sends every ongoing trial back to be run: a task killed between
    one trial's end and the next one's start would train the finished trial a second time.
    """
    completed = kt.engine.trial.TrialStatus.COMPLETED
    oracle._retry_queue = [
        trial_id for trial_id in oracle._retry_queue if oracle.trials[trial_id].status != completed
    ]


def summarize_trials(trials: Iterable[kt.engine.trial.Trial]) -> list[dict]:
    """One row per trial, best (lowest validation loss) first; unscored trials last.

    A trial that did not complete carries the last line of its message (the error, or why it
    was lost).
    """
    rows = []
    for trial in trials:
        row = {
            "trial_id": trial.trial_id,
            "status": trial.status,
            "val_loss": trial.score,
            "best_epoch": trial.best_step,
            "hyperparameters": dict(trial.hyperparameters.values),
        }
        if trial.message:
            row["message"] = trial.message.strip().splitlines()[-1]
        rows.append(row)
    return sorted(rows, key=lambda row: (row["val_loss"] is None, row["val_loss"] or 0.0))


def search(
    family: str,
    train: tf.data.Dataset,
    validation: tf.data.Dataset,
    *,
    kind: str,
    max_trials: int,
    epochs: int,
    patience: int,
    seed: int,
    directory: str,
    weights: str | None = None,
    class_weight: dict[int, float] | None = None,
    fixed: kt.HyperParameters | None = None,
    steps_per_epoch: int = 0,
    role: Role = ALONE,
) -> tuple[kt.HyperParameters | None, list[dict]]:
    """Runs one search (or this process's part of a distributed one, ``role``).

    Args:
        family: Model family whose space is searched.
        train: Training batches.
        validation: Validation batches (the objective is their loss).
        kind: ``bayesian`` or ``hyperband``.
        max_trials: Trial budget (Bayesian).
        epochs: Maximum epochs per trial (Hyperband's ``max_epochs``).
        patience: Early-stopping patience on validation loss within a trial.
        seed: Tuner seed.
        directory: Where the tuner keeps trial state (shared storage when distributed); a search
            started again in the same directory reloads it and runs only the trials left.
        weights: ResNet50 backbone weights, passed through to ``build_model``.
        class_weight: Optional per-class loss weights.
        fixed: Hyperparameters held at fixed values, left out of the search.
        steps_per_epoch: Training batches per epoch (a cosine schedule spans ``epochs`` of them).
        role: Alone (the default), the chief or a worker of a distributed search.

    Raises:
        RuntimeError: If no trial completed (on the chief, or alone).
        TimeoutError: If a worker found no chief's address in the rendezvous in time.

    Returns:
        The best hyperparameters (None on a distributed worker, which does not see the whole
        search) and the trials summary: every trial of the search, or a worker's own.
    """
    total_steps = epochs * steps_per_epoch
    stop = keras.callbacks.EarlyStopping(monitor="val_loss", patience=patience)
    with environment(role), atomic_state_files():
        tuner = _tuner(
            family, kind, max_trials, epochs, seed, directory, weights, fixed, total_steps
        )
        prepare(tuner, role)
        if not role.is_worker:  # a worker's oracle is the chief's, behind gRPC
            _keep_completed(tuner.oracle)
        tuner.search(
            train,
            validation_data=validation,
            epochs=epochs,
            callbacks=[stop, EpochLog(family, epochs, trials=True)],
            class_weight=class_weight,
            shuffle=False,
            verbose=0,
        )
    if role.is_worker:
        return None, summarize_trials(tuner.ran)
    trials = summarize_trials(tuner.oracle.trials.values())
    # Keras Tuner records a failing trial and moves on; a search with no completed trial must
    # not hand back the first trial's hyperparameters as if they were the best.
    if not any(row["status"] == "COMPLETED" for row in trials):
        statuses = ", ".join(f"{row['trial_id']}: {row['status']}" for row in trials) or "none ran"
        raise RuntimeError(f"no tuning trial of {family} completed ({statuses}); see the log")
    return tuner.get_best_hyperparameters(1)[0], trials
