"""A real kfp.local run's console: a line per task by name, its log in a file, stdout left alone.

A tiny pipeline of the same shape as the real one (a first step, then a ``ParallelFor`` two at
a time) whose tasks announce themselves through ``components.wrapper.task_label`` as the steps
do and print to stdout and stderr. It runs three times into one folder: from scratch, from the
cache, and with an item that fails; and once through ``household-sounds run``, whose stdout
must be its JSON alone. (The real pipeline's console, TensorFlow's banners and all, is checked
by ``test_local_resume.py``, which runs it through the command line anyway.)
"""

import json
import re

import pytest
from kfp import dsl

from cli import main as cli
from pipelines import local
from pipelines.progress import LOGS_DIR, PIPELINE_LOG, RECORD_FILE

pytestmark = pytest.mark.slow  # 14 kfp.local task processes


@dsl.component(base_image="example.org/tiny:1", install_kfp_package=False)
def first(data_root: str, prepared: dsl.Output[dsl.Dataset]):
    import sys

    from components.wrapper.task_label import announce

    announce("prepare data", prepared)
    print("prepare: to stdout", flush=True)
    print("prepare: to stderr", file=sys.stderr, flush=True)
    with open(prepared.path, "w") as handle:
        handle.write(data_root)


@dsl.component(base_image="example.org/tiny:1", install_kfp_package=False)
def each(item: str, prepared: dsl.Input[dsl.Dataset], done: dsl.Output[dsl.Dataset]):
    from components.wrapper.task_label import announce

    announce(f"each {item}", done)
    for number in range(3):
        print(f"{item} line {number}", flush=True)
    if item == "bad":
        raise RuntimeError(f"item {item} fails on purpose")
    with open(done.path, "w") as handle:
        handle.write(item)


@dsl.pipeline(name="console")
def console_pipeline(
    data_root: str,
    data_fingerprint: str,
    data_format: str = "",
    more_data_roots: list = [],  # noqa: B006 - KFP reads defaults from the signature
    model_base: str = "",
    checkpoint_root: str = "",
    items: list = ["a", "b", "c"],  # noqa: B006 - KFP reads defaults from the signature
):
    prepared = first(data_root=data_root).outputs["prepared"]
    with dsl.ParallelFor(items, parallelism=2) as item:
        each(item=item, prepared=prepared)


def _task_lines(err: str) -> list[str]:
    return [line for line in err.splitlines() if re.match(r"\[\s*\d+/\d+ \d+:\d\d", line)]


def test_a_run_reads_as_one_line_per_task_and_keeps_every_log(tmp_path, capsys):
    run_dir = tmp_path / "run"
    arguments = {"data_root": "/data", "data_fingerprint": "f1"}
    local.run(console_pipeline, str(run_dir), arguments)
    out, err = capsys.readouterr()
    assert out == ""  # kfp.local prints everything to stdout; a run prints nothing there
    lines = _task_lines(err)
    assert len(lines) == len(err.splitlines()), err  # nothing but the run's own lines
    labels = ["prepare data", "each a", "each b", "each c"]
    for label in labels:
        assert any(re.search(rf"\] start  {label}$", line) for line in lines), (label, err)
        assert any(re.search(rf"\] done   {label} in \d+:\d\d$", line) for line in lines), label
    assert lines[-1].startswith("[4/4 ") and "finished: 4 tasks done" in lines[-1]
    assert [int(line[1 : line.index("/")]) for line in lines] == sorted(
        int(line[1 : line.index("/")]) for line in lines
    )
    for noise in ("Executing task", "KFP Executor", "prepare: to std", "b line 0"):
        assert noise not in err, noise
    logs = run_dir / LOGS_DIR
    prepared = (logs / "prepare-data.log").read_text()
    assert "prepare: to stdout" in prepared and "prepare: to stderr" in prepared
    assert "Executing task 'first'" in prepared  # kfp's lines too: the task's whole story
    assert [
        line for line in (logs / "each-b.log").read_text().splitlines() if "b line" in line
    ] == [
        "b line 0",
        "b line 1",
        "b line 2",
    ]  # neither indented by kfp nor mixed with the task beside it
    assert "Running pipeline" in (logs / PIPELINE_LOG).read_text()

    local.run(console_pipeline, str(run_dir), arguments)  # everything from the cache
    lines = _task_lines(capsys.readouterr().err)
    assert {line.split("] ", 1)[1] for line in lines[:-1]} == {
        f"cached {label}" for label in labels
    }
    assert "(4 from the cache)" in lines[-1]

    with pytest.raises(local.TaskFailed, match=r"each bad \(log: .*each-bad\.log\)"):
        local.run(console_pipeline, str(run_dir), {**arguments, "items": ["a", "bad"]})
    err = capsys.readouterr().err
    failed = err[err.index("FAILED each bad") :]
    assert (
        "    | bad line 2" in failed and "    | RuntimeError: item bad fails on purpose" in failed
    )
    assert "stopped: 1 failed, 2 tasks done (2 from the cache)" in err
    record = json.loads((logs / RECORD_FILE).read_text())
    assert record["complete"] is False and record["tasks"]["each bad"]["status"] == "failed"


def test_household_sounds_run_prints_only_its_json_on_stdout(tmp_path, capsys, monkeypatch):
    from pipelines import training

    monkeypatch.setattr(training, "build_pipeline", lambda **_: console_pipeline)
    (tmp_path / "data").mkdir()
    argv = ["run", "--data-root", str(tmp_path / "data"), "--output", str(tmp_path / "run")]
    assert cli.main([*argv, "--param", 'items=["x"]']) == 0
    out, err = capsys.readouterr()
    result = json.loads(out)  # `household-sounds run ... | jq` works
    assert result["run_dir"] == str(tmp_path / "run")
    assert "] done   each x in " in err and "finished: 2 tasks done" in err
    assert (tmp_path / "run" / LOGS_DIR / "each-x.log").exists()
