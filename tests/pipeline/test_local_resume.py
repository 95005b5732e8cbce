"""`household-sounds run`, killed during training and run again, finishes what it had not done.

The whole pipeline runs through kfp.local on a small generated demo dataset with short training
budgets. The first run is SIGKILLed (its whole process group, as a node loss would) once a
training task has backed up its first epoch; the second run, with the same command, must reuse
every step the first finished (kfp.local's cache: no output of theirs in the second run's
folder), continue the interrupted task from its backed-up epoch, and publish a complete result.
Prints both runs' seconds (docs/benchmarks.md#resumable-training).
"""

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from components.baselines.config import models_reading
from components.featurize.config import FeaturizeConfig
from components.train.config import families_reading, task_label
from demo_data.dataset import DemoConfig, generate
from pipelines.presets import DEMO_ARGUMENTS
from pipelines.progress import log_name
from pipelines.training import BASELINE_MODELS, KERAS_FAMILIES

# The models that read the default feature sets (no YAMNet embedding, no mn04 log-mel).
FAMILIES = families_reading(list(FeaturizeConfig.feature_sets), KERAS_FAMILIES)
BASELINES = models_reading(list(FeaturizeConfig.feature_sets), BASELINE_MODELS)

EPOCHS = 3
TINY = DemoConfig(seed=3, dev_clips=80, eval_clips=40, dev_uploaders=8, eval_uploaders=6)
OVERRIDES = {
    family: {"epochs": EPOCHS, "max_trials": 1, "early_stopping_patience": EPOCHS}
    for family in KERAS_FAMILIES
}
OVERRIDES["cnn_log_mel"]["hparams"] = {"filters": 16, "kernel_size": 3}


def _backed_up(checkpoints: Path) -> dict[str, int]:
    """Interrupted-task key → epochs its backup holds."""
    found = {}
    for path in checkpoints.glob("*/fit/backup/training_metadata.json"):
        try:
            found[path.parts[-4]] = json.loads(path.read_text())["epoch"]
        except (FileNotFoundError, json.JSONDecodeError):
            continue
    return found


def _keras_models(pipeline_dir: Path) -> dict[str, dict]:
    """Model name → model card, of the Keras models a pipeline folder holds."""
    cards = (json.loads(path.read_text()) for path in pipeline_dir.glob("**/model/model.json"))
    return {card["name"]: card for card in cards if card["framework"] == "keras"}


@pytest.mark.slow
@pytest.mark.timeout(3600)
def test_a_run_killed_during_training_resumes_and_completes(tmp_path):
    data, output = tmp_path / "data", tmp_path / "run"
    generate(str(data), TINY)
    command = [sys.executable, "-m", "cli.main", "run", "--data-root", str(data)]
    command += ["--output", str(output), "--preset", "demo", "--param", "target_per_class=8"]
    command += ["--param", f"family_overrides={json.dumps(OVERRIDES)}"]
    log = (tmp_path / "first.log").open("w")
    started = time.monotonic()
    first = subprocess.Popen(command, stdout=log, stderr=log, start_new_session=True)
    try:
        while not any(epochs >= 1 for epochs in _backed_up(output / "checkpoints").values()):
            assert first.poll() is None, (tmp_path / "first.log").read_text()[-3000:]
            assert time.monotonic() - started < 1800, "no training epoch within 30 minutes"
            time.sleep(0.05)
    finally:
        os.killpg(first.pid, signal.SIGKILL)  # the run and every task process it started
        first.wait()
    first_seconds = time.monotonic() - started
    interrupted = _backed_up(output / "checkpoints")
    (first_dir,) = [path for path in (output / "kfp").iterdir() if "-" in path.name]
    done_before = _keras_models(first_dir)
    assert not (output / "run.json").exists()  # nothing published by the killed run

    started = time.monotonic()
    second = subprocess.run(command, capture_output=True, text=True, timeout=2400)
    second_seconds = time.monotonic() - started
    assert second.returncode == 0, second.stderr[-3000:]
    print(f"first run, killed in training: {first_seconds:.1f} s; rerun: {second_seconds:.1f} s")

    run = json.loads((output / "run.json").read_text())
    second_dir = output / run["kfp_run_dir"]
    assert second_dir != first_dir
    # Steps the first run finished come from the cache: the rerun wrote none of their outputs.
    for step in ("ingest", "rebalance", "featurize"):
        assert not list(second_dir.glob(f"{step}*")), step
        assert run["published"][{"ingest": "manifest"}.get(step, step)].startswith(
            os.path.relpath(first_dir, output)
        )
    trained_again = _keras_models(second_dir)
    assert not set(done_before) & set(trained_again)
    tuned = {f"{family}_tuned" for family in DEMO_ARGUMENTS["tuned_families"]}
    names = set(FAMILIES) | tuned
    assert set(done_before) | set(trained_again) == names
    # The interrupted task continued after its backed-up epochs instead of starting over.
    resumed = {name: card for name, card in trained_again.items() if card["resumed_after_epoch"]}
    assert sorted(card["resumed_after_epoch"] for card in resumed.values()) == sorted(
        interrupted.values()
    )
    for card in resumed.values():
        assert len(card["history"]["val_loss"]) == card["epochs_trained"] == EPOCHS
    metrics = json.loads((output / "evaluation" / "metrics.json").read_text())
    assert set(metrics["models"]) == names | set(BASELINES)
    assert not list((output / "checkpoints").iterdir())  # finished tasks cleared their state

    # What a person reads (docs/local-run.md): stdout is the result alone, stderr a line per task.
    assert json.loads(second.stdout)["run_dir"] == str(output)
    for noise in ("oneDNN", "absl::InitializeLog", "Executing task", "KFP Executor"):
        assert noise not in second.stderr, noise
    for step in ("ingest", "rebalance", "featurize"):
        assert re.search(rf"^\[ *\d+/\d+ [\d:]+\] cached {step}$", second.stderr, re.M), step
    for card in trained_again.values():
        label = task_label(card["architecture"], card["tuned"])
        assert re.search(rf"\] done   {re.escape(label)} in \d+:\d\d$", second.stderr, re.M), label
        assert (output / "logs" / f"{log_name(label)}.log").stat().st_size > 0, label
    # ingest, rebalance, featurize, the three reading tasks, evaluate and deploy
    total = len(names) + len(BASELINES) + 8
    assert f"[{total}/{total} " in second.stderr.splitlines()[-1]
