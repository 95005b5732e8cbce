"""The ``household-sounds`` command line: ``--help`` without TensorFlow, errors, exit codes."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from cli import cluster as cli_cluster
from cli import local as cli_local
from cli import main as cli
from cli import rollout as cli_rollout
from cli import serving as cli_serving
from tests.helpers.local_run import record_local_runs
from tests.helpers.usage import usage_error

EXPECTED = {
    "demo",
    "run",
    "compile",
    "submit",
    "demo-data",
    "ingest",
    "rebalance",
    "featurize",
    "train",
    "baselines",
    "export",
    "deploy",
    "predict",
    "serve-dev",
    "listen",
    "app",
    "promote",
    "rollback",
}


def test_every_user_facing_command_is_registered():
    assert EXPECTED <= set(cli._COMMANDS)


def test_no_command_name_is_declared_twice():
    modules = (cli, cli_cluster, cli_local, cli_serving, cli_rollout)
    declared = sum(Path(module.__file__).read_text().count("\n@command(") for module in modules)
    assert declared == len(cli._COMMANDS)  # a second declaration would hide the first command


def test_cli_module_stays_dispatch_and_help():
    """Issue 9: the commands live beside what they run; ``cli/main.py`` only dispatches."""
    assert len(Path(cli.__file__).read_text().splitlines()) <= 250


@pytest.mark.parametrize("name", sorted(cli._COMMANDS))
def test_help_works_for_every_subcommand(name, capsys):
    with pytest.raises(SystemExit) as exit_info:
        cli.main([name, "--help"])
    assert exit_info.value.code == 0
    assert "usage: household-sounds" in capsys.readouterr().out


def test_help_is_fast_because_nothing_heavy_is_imported():
    code = "import sys; from cli import main; print('tensorflow' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.stdout.strip() == "False"


@pytest.fixture
def pipeline_arguments(monkeypatch):
    """Runs ``household-sounds run`` with ``local.run`` replaced; yields the arguments it got."""
    return record_local_runs(monkeypatch)


def test_run_passes_a_gs_data_root_through_untouched(pipeline_arguments, tmp_path, capsys):
    argv = ["run", "--data-root", "gs://bucket/datasets/fsd50k", "--output", str(tmp_path / "run")]
    assert cli.main([*argv, "--no-cache"]) == 0  # a cached run would fingerprint the bucket
    assert pipeline_arguments["cache"] is False
    assert pipeline_arguments["data_root"] == "gs://bucket/datasets/fsd50k"
    assert pipeline_arguments["model_base"] == str(tmp_path / "run" / "serving")


def test_run_makes_a_relative_data_root_absolute(pipeline_arguments, tmp_path, monkeypatch):
    from components.ingest.fingerprint import fingerprint

    monkeypatch.chdir(tmp_path)
    (tmp_path / "data" / "mine").mkdir(parents=True)
    (tmp_path / "data" / "mine" / "a.wav").write_bytes(b"RIFF")
    assert cli.main(["run", "--data-root", "data/mine", "--output", "runs/mine"]) == 0
    assert pipeline_arguments["cache"] is True
    assert pipeline_arguments["data_fingerprint"] == fingerprint(str(tmp_path / "data" / "mine"))
    assert pipeline_arguments["data_root"] == str(tmp_path / "data" / "mine")
    assert pipeline_arguments["model_base"] == str(tmp_path / "runs" / "mine" / "serving")


def test_run_in_image_runs_every_task_there_with_the_paths_mounted(
    pipeline_arguments, tmp_path, monkeypatch
):
    from google.protobuf import json_format

    monkeypatch.chdir(tmp_path)
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "a.wav").write_bytes(b"RIFF")
    image = "localhost/household-sounds:smoke"
    argv = ["run", "--data-root", "data", "--output", "run", "--in-image", image]
    assert cli.main(argv) == 0
    runner = pipeline_arguments["runner"]
    assert type(runner).__name__ == "DockerRunner"
    args = runner.container_run_args
    assert args["network_mode"] == "none" and args["user"] == f"{os.getuid()}:{os.getgid()}"
    mounts = {mount["Target"]: (mount["Source"], mount["ReadOnly"]) for mount in args["mounts"]}
    assert mounts == {
        str(tmp_path / "data"): (str(tmp_path / "data"), True),
        str(tmp_path / "run" / "serving"): (str(tmp_path / "run" / "serving"), False),
        str(tmp_path / "run" / "checkpoints"): (str(tmp_path / "run" / "checkpoints"), False),
    }
    spec = json_format.MessageToDict(pipeline_arguments["pipeline"].pipeline_spec)
    images = {e["container"]["image"] for e in spec["deploymentSpec"]["executors"].values()}
    assert images == {image}


def test_serving_flags_default_to_what_the_serving_modules_default_to():
    """Those modules load gRPC and numpy, which ``--help`` must not wait for, so the serving
    commands restate their defaults; this keeps the two equal."""
    import inspect

    from serving import listen
    from serving.alerts import AlertRule
    from serving.app.server import AppConfig
    from serving.client import TIMEOUT_S

    parse = cli.build_parser().parse_args
    listening = parse(["listen"])
    assert listening.timeout == parse(["describe", "--target", "x"]).timeout == TIMEOUT_S
    assert (listening.threshold, listening.debounce) == (AlertRule.threshold, AlertRule.debounce_s)
    assert listening.rate == inspect.signature(listen.MicrophoneSource).parameters["rate"].default
    assert listening.speed == inspect.signature(listen.FileSource).parameters["speed"].default
    assert parse(["app"]).max_upload_mb * 2**20 == AppConfig.max_upload_bytes


def test_version_is_the_installed_distributions(capsys):
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["--version"])
    assert exit_info.value.code == 0
    assert capsys.readouterr().out.strip() == f"household-sounds {cli.version()}"


def test_a_missing_file_is_one_line_and_exit_2_and_debug_shows_the_traceback(tmp_path):
    import tensorflow as tf

    argv = ["rebalance", "--manifest", "/nope.jsonl", "--output", str(tmp_path)]
    assert usage_error(argv) == "household-sounds rebalance: /nope.jsonl; No such file or directory"
    with pytest.raises(tf.errors.NotFoundError):
        cli.main([*argv, "--debug"])
    with pytest.raises(tf.errors.NotFoundError):
        cli.main(["--debug", *argv])


def test_run_checks_its_parameters_and_data_root_before_any_work(pipeline_arguments, tmp_path):
    (tmp_path / "data").mkdir()
    argv = ["run", "--data-root", str(tmp_path / "data"), "--output", str(tmp_path / "run")]
    assert "unknown pipeline parameter 'foo'" in usage_error([*argv, "--param", "foo=1"])
    assert "'epochs' is NUMBER_INTEGER; got str 'x'" in usage_error([*argv, "--param", "epochs=x"])
    missing = ["run", "--data-root", str(tmp_path / "nope"), "--output", str(tmp_path / "run")]
    assert "no such folder or manifest CSV" in usage_error(missing)
    assert pipeline_arguments == {}  # nothing ran
    assert not (tmp_path / "run").exists()


def test_run_takes_a_manifest_csvs_own_path(pipeline_arguments, tmp_path):
    from components.ingest.fingerprint import fingerprint

    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "manifest.csv").write_text("uri,tags\na.wav,dog\n")
    csv_path = str(tmp_path / "data" / "manifest.csv")
    argv = ["run", "--data-root", csv_path, "--data-format", "manifest"]
    assert cli.main([*argv, "--output", str(tmp_path / "run")]) == 0
    assert pipeline_arguments["data_root"] == csv_path
    assert pipeline_arguments["data_fingerprint"] == fingerprint(str(tmp_path / "data"))
    (tmp_path / "data" / "b.wav").write_bytes(b"RIFF")  # new audio beside it: a new fingerprint
    assert fingerprint(csv_path) != pipeline_arguments["data_fingerprint"]


def test_a_failure_of_the_work_is_one_line_and_exit_1(monkeypatch, tmp_path, capsys):
    from pipelines import local

    def failing_run(*args, **kwargs):
        raise RuntimeError("task train-3 failed:\n  see its log")

    monkeypatch.setattr(local, "run", failing_run)
    (tmp_path / "data").mkdir()
    argv = ["run", "--data-root", str(tmp_path / "data"), "--output", str(tmp_path / "run")]
    assert cli.main([*argv, "--no-cache"]) == cli.EXIT_FAILED
    assert capsys.readouterr().err.splitlines()[-1] == (
        "household-sounds run: RuntimeError: task train-3 failed: see its log "
        "(--debug for the traceback)"
    )
