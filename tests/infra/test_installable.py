"""``pip install ".[pipeline]" -c constraints.txt`` resolves, to the locks' tested versions.

``make install`` installs the hashed locks with ``--no-deps``; users who add the package to an
existing environment (a Kubeflow notebook server) go through pip's resolver instead. The fast
tests keep ``constraints.txt`` equal to what ``scripts/constraints.py`` derives from the locks
and the pipeline and vertex extras' pins equal to the lock's; the slow one asks pip (against the
package index, as ``make install`` does) to resolve the pipeline and vertex extras as in a fresh
environment, and checks what it would install.
"""

import json
import re
import runpy
import subprocess
import sys
import tomllib

import pytest

from tests.helpers.paths import ROOT

pytestmark = pytest.mark.xdist_group("infra")
constraints_script = runpy.run_path(str(ROOT / "scripts/constraints.py"))
canonical = constraints_script["canonical"]


def _pins(text: str) -> dict[str, str]:
    pins = (pin.split("==") for pin in constraints_script["pins"](text))
    return {canonical(name): version for name, version in pins}


LOCK_TEXTS = [(ROOT / lock).read_text() for lock in constraints_script["LOCKS"]]
LOCK = {name: version for text in LOCK_TEXTS for name, version in _pins(text).items()}


def test_constraints_file_is_derived_from_the_locks() -> None:
    text = (ROOT / "constraints.txt").read_text()
    assert text == constraints_script["constraints"](LOCK_TEXTS), (
        "run: python scripts/constraints.py > constraints.txt"
    )
    pins = _pins(text)
    assert set(LOCK) - set(pins) == set(constraints_script["EXCLUDED"])
    assert all(LOCK[name] == version for name, version in pins.items())
    assert {"tensorflow-transform", "tfx-bsl", "apache-beam", "kfp", "setuptools"} <= set(pins)


def test_the_pipeline_extras_pins_are_the_locks() -> None:
    """The extra names `tensorflow`; the lock holds the same release's CPU-only wheel."""
    extras = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"][
        "optional-dependencies"
    ]
    pinned = _pins(re.sub(r"\[\w+\]", "", "\n".join(extras["pipeline"] + extras["vertex"])))
    assert pinned.pop("tensorflow") == LOCK["tensorflow-cpu"]
    assert "tensorflow" not in LOCK, "the lock keeps the CPU-only wheel"
    assert {name: LOCK.get(name) for name in pinned} == pinned


@pytest.mark.slow
def test_pip_resolves_the_extras_as_in_a_fresh_environment(tmp_path) -> None:
    """Resolution only (--dry-run; wheels' metadata from the index), ~1-2 min, needs the index."""
    report = tmp_path / "report.json"
    command = [sys.executable, "-m", "pip", "install", "--dry-run", "--ignore-installed"]
    command += ["--quiet", "--report", str(report), ".[pipeline,vertex]", "-c", "constraints.txt"]
    result = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=900)
    assert result.returncode == 0, result.stderr[-4000:]
    chosen = {
        canonical(item["metadata"]["name"]): item["metadata"]["version"]
        for item in json.loads(report.read_text())["install"]
    }
    assert (
        chosen.pop("household-sounds")
        == tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]
    )
    assert chosen.pop("tensorflow") == LOCK["tensorflow-cpu"]
    assert "tensorflow-cpu" not in chosen, "one TensorFlow wheel, not two"
    assert re.fullmatch(r"2\.19\.\d+", chosen.pop("tensorflow-serving-api"))
    assert {name: LOCK.get(name) for name in chosen} == chosen, "everything else as locked"
