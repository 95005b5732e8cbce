"""A distributed Keras Tuner search on 127.0.0.1: one chief and two workers, as three processes.

Each process is ``household-sounds train --tuned`` with its role (``--tuner-id``); one worker is
given the chief's address, the other reads it from the rendezvous folder the chief publishes
in. Everything runs under a hard deadline, so a hang fails the test instead of stalling it.
"""

import json
import os
import signal
import socket
import subprocess
import sys
import time

import pytest

from tests.helpers.training_examples import write_examples

CLI = [sys.executable, "-m", "cli.main", "train"]
FAMILY = "dense_mean_mfcc"
SEARCH = ["--family", FAMILY, "--tuned", "--epochs", "2", "--patience", "2", "--batch-size", "16"]
DEADLINE_S = 900  # the whole search, three TensorFlow processes on a loaded 2-core machine


@pytest.fixture(scope="module")
def examples_dir(tmp_path_factory) -> str:
    root = tmp_path_factory.mktemp("distributed_examples")
    return write_examples(root, {"train": 12, "validation": 3, "test": 3}, seed=2)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Search:
    """The processes of one search, each logging to ``<tmp>/<name>.log``, under one deadline."""

    def __init__(self, examples_dir: str, tmp_path, trials: int, timeout_s: float) -> None:
        self.examples_dir, self.tmp_path = examples_dir, tmp_path
        self.options = [*SEARCH, "--max-trials", str(trials), "--tuner-timeout", str(timeout_s)]
        self.processes: dict[str, subprocess.Popen] = {}
        self.deadline = time.monotonic() + DEADLINE_S

    def start(self, name: str, *role: str) -> subprocess.Popen:
        output = ["--examples", self.examples_dir, "--output", str(self.tmp_path / name)]
        log = open(self.tmp_path / f"{name}.log", "w")  # noqa: SIM115 - closed with the process
        self.processes[name] = subprocess.Popen(
            [*CLI, *output, *self.options, *role], stdout=log, stderr=subprocess.STDOUT
        )
        return self.processes[name]

    def wait(self, name: str) -> int:
        try:
            return self.processes[name].wait(max(1.0, self.deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            self.stop()
            pytest.fail(f"{name} still running after {DEADLINE_S} s:\n{self.log(name)}")

    def log(self, name: str) -> str:
        return (self.tmp_path / f"{name}.log").read_text()[-3000:]

    def trials(self, name: str) -> list[dict]:
        return json.loads((self.tmp_path / name / "trials.json").read_text())

    def stop(self) -> None:
        for process in self.processes.values():
            if process.poll() is None:
                process.kill()
                process.wait(30)


@pytest.fixture
def search(examples_dir, tmp_path):
    searches = []

    def make(trials: int, timeout_s: float) -> Search:
        searches.append(Search(examples_dir, tmp_path, trials, timeout_s))
        return searches[-1]

    yield make
    for each in searches:
        each.stop()


@pytest.mark.slow
@pytest.mark.timeout(DEADLINE_S + 120)
def test_a_chief_and_two_workers_share_the_trials_and_the_chief_trains_the_best(search, tmp_path):
    run = search(trials=4, timeout_s=300)
    port, rendezvous = free_port(), str(tmp_path / "rendezvous")
    # The workers start first: one waits for the chief at its address, one for its rendezvous.
    run.start("tuner0", "--tuner-id", "tuner0", "--oracle-address", f"127.0.0.1:{port}")
    run.start("tuner1", "--tuner-id", "tuner1", "--tuner-rendezvous", rendezvous)
    chief_role = ["--tuner-id", "chief", "--oracle-address", f"127.0.0.1:{port}"]
    run.start("chief", *chief_role, "--tuner-rendezvous", rendezvous)
    for name in ("chief", "tuner0", "tuner1"):
        assert run.wait(name) == 0, run.log(name)

    everything = run.trials("chief")
    assert len(everything) == 4 and {t["status"] for t in everything} == {"COMPLETED"}
    by_id = {trial["trial_id"]: trial for trial in everything}
    mine = {name: run.trials(name) for name in ("tuner0", "tuner1")}
    ids = {name: [trial["trial_id"] for trial in trials] for name, trials in mine.items()}
    assert ids["tuner0"] and ids["tuner1"], ids  # shared: each worker ran some
    assert sorted(ids["tuner0"] + ids["tuner1"]) == sorted(by_id), ids  # none twice, none left
    for trial in mine["tuner0"] + mine["tuner1"]:
        assert trial == by_id[trial["trial_id"]]  # the chief's scored copy
    for name in ("tuner0", "tuner1"):  # a worker trains no model
        assert os.listdir(tmp_path / name) == ["trials.json"]

    best = min(everything, key=lambda trial: trial["val_loss"])
    assert everything[0] == best
    hparams = json.loads((tmp_path / "chief" / "best_hparams.json").read_text())
    card = json.loads((tmp_path / "chief" / "model.json").read_text())
    assert hparams == best["hyperparameters"] == card["hyperparameters"]
    assert card["name"] == f"{FAMILY}_tuned" and (tmp_path / "chief" / "model.keras").exists()


def ongoing_trial(oracle_file, tuner_id: str) -> str | None:
    """The trial the chief's saved oracle has ``tuner_id`` running (written atomically)."""
    if not oracle_file.exists():
        return None
    return json.loads(oracle_file.read_text())["ongoing_trials"].get(tuner_id)


@pytest.mark.slow
@pytest.mark.timeout(DEADLINE_S + 120)
def test_a_worker_killed_mid_trial_loses_its_trial_and_the_chief_finishes(search, tmp_path):
    timeout_s = 30
    run = search(trials=4, timeout_s=timeout_s)
    port = free_port()
    address = ["--oracle-address", f"127.0.0.1:{port}"]
    run.start("tuner0", "--tuner-id", "tuner0", *address)
    victim = run.start("tuner1", "--tuner-id", "tuner1", *address)
    tuner_dir = tmp_path / "chief_tuner"
    run.start("chief", "--tuner-id", "chief", *address, "--tuner-dir", str(tuner_dir))
    oracle_file = tuner_dir / FAMILY / "oracle.json"
    killed = None
    while killed is None:
        assert victim.poll() is None, f"tuner1 ended before it ran a trial:\n{run.log('tuner1')}"
        assert time.monotonic() < run.deadline, "tuner1 never ran a trial"
        trial_id = ongoing_trial(oracle_file, "tuner1")
        if trial_id is None:
            time.sleep(0.1)
            continue
        # Frozen, it cannot end the trial; a report already on its way lands within the second.
        victim.send_signal(signal.SIGSTOP)
        time.sleep(1.0)
        if ongoing_trial(oracle_file, "tuner1") == trial_id:
            victim.kill()
            killed = trial_id
        victim.send_signal(signal.SIGCONT)
    victim.wait(30)
    killed_at = time.monotonic()
    assert run.wait("chief") == 0, run.log("chief")
    assert run.wait("tuner0") == 0, run.log("tuner0")
    # The chief waited for the silent trial about timeout_s, then finished the search and
    # trained its best model (on a loaded machine that final fit takes tens of seconds).
    assert time.monotonic() - killed_at < timeout_s + 300

    everything = {trial["trial_id"]: trial for trial in run.trials("chief")}
    assert len(everything) == 4
    lost = everything.pop(killed)
    assert lost["status"] == "FAILED" and lost["val_loss"] is None
    assert lost["message"] == f"lost: worker tuner1 was not heard of for {float(timeout_s)} s"
    assert {trial["status"] for trial in everything.values()} == {"COMPLETED"}
    assert {trial["trial_id"] for trial in run.trials("tuner0")} <= everything.keys()
    best = min(everything.values(), key=lambda trial: trial["val_loss"])
    hparams = json.loads((tmp_path / "chief" / "best_hparams.json").read_text())
    assert hparams == best["hyperparameters"]
