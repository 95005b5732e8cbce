"""A killed train run, started again with the same output, resumes instead of starting over.

The first attempt runs ``household-sounds train`` in a subprocess and is SIGKILLed once its
resume state shows the wanted progress (polled on disk, as a pod would be evicted at any
moment); the second runs in this process with the same output directory.
"""

import glob
import json
import logging
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from components.artifacts.names import RESUME_DIR
from components.train import core, resume, tuning
from tests.helpers.training_examples import write_examples

EPOCHS = 40


@pytest.fixture(scope="module")
def examples_dir(tmp_path_factory):
    root = tmp_path_factory.mktemp("resume_examples")
    return write_examples(root, {"train": 12, "validation": 3, "test": 3}, seed=2)


def _train_until(args: list[str], done, log: Path, timeout: float = 900.0) -> None:
    """Starts ``household-sounds train args`` and SIGKILLs it as soon as ``done()`` holds."""
    command = [sys.executable, "-m", "cli.main", "train", *args]
    with log.open("w") as sink:
        process = subprocess.Popen(command, stdout=sink, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + timeout
    try:
        while not done():
            if process.poll() is not None:
                raise AssertionError(f"train ended before the kill: {log.read_text()[-2000:]}")
            if time.monotonic() > deadline:
                raise AssertionError("train made no progress in time")
            time.sleep(0.02)
    finally:
        process.send_signal(signal.SIGKILL)
        process.wait()


def _backed_up_epochs(output: Path) -> int:
    metadata = output / RESUME_DIR / resume.FIT_DIR / resume.BACKUP_DIR
    metadata = metadata / "training_metadata.json"
    try:
        return json.loads(metadata.read_text())["epoch"]
    except (FileNotFoundError, json.JSONDecodeError):
        return 0


@pytest.mark.slow
def test_a_killed_fit_resumes_at_its_last_epoch(examples_dir, tmp_path, caplog):
    output = tmp_path / "model"
    flags = ["--family", "dense_mean_mfcc", "--batch-size", "16", "--patience", str(EPOCHS)]
    _train_until(
        ["--examples", examples_dir, "--output", str(output), "--epochs", str(EPOCHS), *flags],
        lambda: _backed_up_epochs(output) >= 3,
        tmp_path / "first.log",
    )
    killed_after = _backed_up_epochs(output)
    assert 3 <= killed_after < EPOCHS
    journal = output / RESUME_DIR / resume.FIT_DIR / resume.JOURNAL_FILE
    before = [row["logs"]["val_loss"] for row in json.loads(journal.read_text())["rows"]]
    assert not (output / "model.keras").exists()

    config = core.TrainConfig(
        "dense_mean_mfcc", epochs=EPOCHS, batch_size=16, early_stopping_patience=EPOCHS
    )
    with caplog.at_level(logging.INFO):
        result = core.run(examples_dir, str(output), config)

    # The epoch log (a Keras callback) says which epochs the second attempt ran: only those
    # after the backup.
    ran = [int(n) for n in re.findall(rf"epoch (\d+)/{EPOCHS}:", caplog.text)]
    assert ran == list(range(killed_after + 1, EPOCHS + 1))
    card = json.loads((output / "model.json").read_text())
    assert card["resumed_after_epoch"] == killed_after
    assert result.epochs_trained == EPOCHS == len(card["history"]["val_loss"])
    assert card["history"]["val_loss"][:killed_after] == before[:killed_after]
    for split in ("train", "validation", "test"):
        assert (output / "predictions" / f"{split}.jsonl").read_text().count("\n") > 0
    assert (output / "model.keras").exists()
    assert not (output / RESUME_DIR).exists()  # finished: the resume state is gone


def _completed_trials(project: Path) -> list[dict]:
    trials = []
    for path in glob.glob(str(project / "trial_*" / "trial.json")):
        try:
            trial = json.loads(Path(path).read_text())
        except json.JSONDecodeError:  # being written
            continue
        if trial["status"] == "COMPLETED":
            trials.append(trial)
    return trials


def _ended_trials(project: Path) -> list[str]:
    """The trials the oracle has recorded as ended (its ``oracle.json`` is saved after a trial's
    own ``trial.json``: a process killed between the two reruns that trial, which is right)."""
    try:
        return json.loads((project / "oracle.json").read_text())["end_order"]
    except (OSError, json.JSONDecodeError, KeyError):
        return []


@pytest.mark.slow
def test_a_killed_search_reloads_its_completed_trials(examples_dir, tmp_path, monkeypatch):
    output = tmp_path / "model"
    project = output / RESUME_DIR / resume.TUNER_DIR / "dense_mean_mfcc"
    flags = ["--family", "dense_mean_mfcc", "--tuned", "--max-trials", "3", "--epochs", "6"]
    flags += ["--batch-size", "16", "--patience", "6", "--seed", "1"]
    _train_until(
        ["--examples", examples_dir, "--output", str(output), *flags],
        lambda: len(_ended_trials(project)) >= 1,
        tmp_path / "first.log",
    )
    ended = _ended_trials(project)
    completed = {t["trial_id"]: t for t in _completed_trials(project) if t["trial_id"] in ended}
    assert 1 <= len(completed) < 3

    fits = []
    original_fit = tuning.RecipeHyperModel.fit

    def counting_fit(self, hp, model, *args, **kwargs):
        fits.append(dict(hp.values))
        return original_fit(self, hp, model, *args, **kwargs)

    monkeypatch.setattr(tuning.RecipeHyperModel, "fit", counting_fit)
    config = core.TrainConfig(
        "dense_mean_mfcc",
        epochs=6,
        batch_size=16,
        tuned=True,
        max_trials=3,
        early_stopping_patience=6,
        seed=1,
    )
    core.run(examples_dir, str(output), config)

    assert len(fits) == 3 - len(completed)  # the completed trials were not trained again
    trials = json.loads((output / "trials.json").read_text())
    assert len(trials) == 3 and all(t["status"] == "COMPLETED" for t in trials)
    for trial in trials:
        if trial["trial_id"] in completed:
            assert trial["val_loss"] == completed[trial["trial_id"]]["score"]
    assert (output / "model.keras").exists() and (output / "best_hparams.json").exists()
    assert not (output / RESUME_DIR).exists()
