"""The local run's console: task counts from the pipeline's spec, and only honest estimates."""

import io
import json

from google.protobuf import json_format

from components.audio import feature_sets
from components.baselines.config import models_reading
from components.train.config import DEFAULT_TUNED_FAMILIES, families_reading
from components.wrapper.task_label import METADATA_KEY
from pipelines.progress import RECORD_FILE, RunProgress, clock, count_tasks, log_name
from pipelines.training import BASELINE_MODELS, KERAS_FAMILIES, STEPS, training_pipeline

CYAN, RESET = "\x1b[96m", "\x1b[0m"


def test_the_pipelines_tasks_are_counted_with_its_loops_items():
    spec = json_format.MessageToDict(training_pipeline.pipeline_spec)
    # train and baselines run in loops; the families' reading task runs twice (seed, tuned)
    one_each = len(STEPS) - 2 + 1
    every = list(feature_sets.ALL)
    tuned = ["dense_mean_mfcc", "yamnet"]
    expected = one_each + len(KERAS_FAMILIES) + len(tuned) + len(BASELINE_MODELS)
    assert count_tasks(spec, {"tuned_families": tuned, "feature_sets": every}) == expected
    # the defaults: YAMNet's embedding and mn04's log-mel are not computed, so the families and
    # baselines that read them do not run; every family but the fine-tuned mn04 is tuned
    families = families_reading(list(feature_sets.DEFAULT), KERAS_FAMILIES)
    baselines = models_reading(list(feature_sets.DEFAULT), BASELINE_MODELS)
    tuned_by_default = [family for family in families if family in DEFAULT_TUNED_FAMILIES]
    default = one_each + len(families) + len(tuned_by_default) + len(baselines)
    assert count_tasks(spec, {}) == default
    assert count_tasks(spec, {"feature_sets": ["no_such_set"]}) is None  # the run will refuse it


def test_a_condition_makes_the_count_unknown():
    spec = {
        "root": {
            "dag": {
                "tasks": {"t": {"componentRef": {"name": "c"}, "triggerPolicy": {"condition": "x"}}}
            }
        },
        "components": {"c": {}},
    }
    assert count_tasks(spec, {}) is None


def test_log_names_and_clock():
    assert log_name("train cnn_log_mel (seed)") == "train-cnn_log_mel-seed"
    assert log_name("baselines svc on mn04_embedding") == "baselines-svc-on-mn04_embedding"
    assert (clock(75), clock(3725)) == ("1:15", "1:02:05")


def _progress(run_dir, arguments, total=3) -> tuple[RunProgress, io.StringIO]:
    console = io.StringIO()
    return RunProgress(run_dir, total, console, arguments=arguments), console


def _run_one_task(progress: RunProgress, label: str) -> None:
    progress.on_line(1, f"05:12:04.817 - INFO - Executing task {CYAN}'train'{RESET}")
    progress.on_line(1, f"household-sounds task: {label}")
    progress.on_line(1, "05:12:05.000 - INFO - Task 'train' finished with status SUCCESS")


def test_time_left_only_after_a_complete_uncached_run_of_the_same_arguments(tmp_path):
    first, console = _progress(tmp_path, {"epochs": 2})
    _run_one_task(first, "train a (seed)")
    assert "left" not in console.getvalue()  # no earlier run to go by
    first.finish(complete=True)
    record = json.loads((tmp_path / "logs" / RECORD_FILE).read_text())
    record["seconds"] = 3600.0  # as if it had taken an hour
    (tmp_path / "logs" / RECORD_FILE).write_text(json.dumps(record))

    second, console = _progress(tmp_path, {"epochs": 2, "data_fingerprint": "new data"})
    _run_one_task(second, "train a (seed)")
    assert ", ~59:5" in console.getvalue() and " left] done   train a (seed)" in console.getvalue()
    second.on_line(2, "Task ingest cache hit (key=0123456789ab); skipping execution.")
    assert "left" not in console.getvalue().splitlines()[-1]  # a cached task: the estimate is off

    other, console = _progress(tmp_path, {"epochs": 3})
    _run_one_task(other, "train a (seed)")
    assert "left" not in console.getvalue()  # other arguments, other work


def test_a_cached_task_is_named_by_the_label_its_outputs_recorded(tmp_path):
    cache = tmp_path / "cache"
    cache.mkdir()
    entry = {
        "model": {
            "__kfp_artifact__": True,
            "uri": "/x",
            "metadata": {METADATA_KEY: "train b (tuned)"},
        },
        "metrics": {"__kfp_artifact__": True, "uri": "/y", "metadata": {}},
    }
    (cache / f"0123456789abcdef{'0' * 48}.json").write_text(json.dumps(entry))
    console = io.StringIO()
    progress = RunProgress(tmp_path / "run", 2, console, cache_root=cache)
    progress.on_line(7, "Task train cache hit (key=0123456789ab); skipping execution.")
    progress.on_line(7, "Task train cache hit (key=ffffffffffff); skipping execution.")
    lines = console.getvalue().splitlines()
    assert lines[0].endswith("] cached train b (tuned)")
    assert lines[1].startswith("[2/2 ") and lines[1].endswith(
        "] cached train"
    )  # no entry: kfp's name
