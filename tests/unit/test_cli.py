"""Every ``household-sounds`` subcommand answers ``--help`` (without importing TensorFlow)."""

import subprocess
import sys

import pytest

from pipelines import cli

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
}


def test_every_user_facing_command_is_registered():
    assert EXPECTED <= set(cli._COMMANDS)


@pytest.mark.parametrize("name", sorted(cli._COMMANDS))
def test_help_works_for_every_subcommand(name, capsys):
    with pytest.raises(SystemExit) as exit_info:
        cli.main([name, "--help"])
    assert exit_info.value.code == 0
    assert "usage: household-sounds" in capsys.readouterr().out


def test_help_is_fast_because_nothing_heavy_is_imported():
    code = "import sys; from pipelines import cli; print('tensorflow' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.stdout.strip() == "False"
