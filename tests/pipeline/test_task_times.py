"""``pipelines.task_times``: each task a local run executes is timed on its own, cached ones not."""

import os

import pytest
from kfp import dsl

from pipelines import local, task_times

CPU_SECONDS = 1.0


@dsl.component(base_image="example.org/tiny:1", install_kfp_package=False)
def train(family: str, tuned: bool, cpu_seconds: float, model: dsl.Output[dsl.Model]):
    import time

    end = time.process_time() + cpu_seconds
    while time.process_time() < end:
        pass
    with open(model.path, "w") as handle:
        handle.write(family)


@dsl.pipeline(name="tiny-times")
def tiny(families: list, cpu_seconds: float):
    with dsl.ParallelFor(families, parallelism=2) as family:
        train(family=family, tuned=False, cpu_seconds=cpu_seconds)


def test_labels_name_the_copy_of_a_component():
    assert task_times.label("train", {"family": "mn04", "tuned": True}) == "train mn04 (tuned)"
    assert task_times.label("train", {"family": "mn04", "tuned": False}) == "train mn04 (seed)"
    assert task_times.label("baselines", {"model_name": "svc_mn04"}) == "baselines svc_mn04"
    assert task_times.label("featurize", {"runner": "FnApiRunner"}) == "featurize"
    assert task_times.label("deploy", {"model_name": "household_sounds"}) == "deploy"


@pytest.mark.slow
def test_tasks_side_by_side_are_each_charged_their_own_time_and_a_cached_one_none(tmp_path):
    run_dir = tmp_path / "run"
    arguments = {"families": ["a", "b", "c"], "cpu_seconds": CPU_SECONDS}
    local.run(tiny, str(run_dir), arguments)
    ledger = task_times.read(str(run_dir))
    assert sorted(line["task"] for line in ledger.values()) == [
        "train a (seed)",
        "train b (seed)",
        "train c (seed)",
    ]
    for folder, line in ledger.items():
        with open(os.path.join(run_dir, folder, "model")) as handle:
            assert line["task"] == f"train {handle.read()} (seed)"  # the folder holds its output
        # its own busy loop (and its start-up), not the sibling's beside it too (2x)
        assert CPU_SECONDS <= line["cpu_seconds"] < 1.8 * CPU_SECONDS
        assert line["seconds"] > 0 and line["succeeded"]
    local.run(tiny, str(run_dir), arguments)  # every task from the cache: nothing executed
    assert (run_dir / task_times.LEDGER_FILE).read_text().count("\n") == 3
    local.run(tiny, str(run_dir), {**arguments, "families": ["a", "d"]})
    assert len(task_times.read(str(run_dir))) == 4  # d ran; a came from the cache
