"""Static checks of the infrastructure files with the pinned linters from .venv/bin.

yamllint over k8s/ (and serving's kustomization), hadolint over every Dockerfile, and
``bash -n`` + shellcheck over every script in scripts/ (including the kind and image scripts
that cannot run on a machine without Docker or a cluster).
"""

import re

import pytest

from tests.helpers.paths import ROOT
from tests.helpers.tools import run, tool

pytestmark = pytest.mark.xdist_group("infra")

SCRIPTS = sorted(str(p.relative_to(ROOT)) for p in (ROOT / "scripts").glob("*.sh"))
DOCKERFILES = sorted(str(p.relative_to(ROOT)) for p in (ROOT / "docker").glob("*Dockerfile*"))


def test_yamllint_k8s() -> None:
    run(
        tool("yamllint"),
        "--strict",
        "-c",
        "k8s/.yamllint.yaml",
        "k8s",
        "serving/kustomization.yaml",
    )


@pytest.mark.parametrize("dockerfile", DOCKERFILES)
def test_hadolint(dockerfile: str) -> None:
    run(tool("hadolint"), "--failure-threshold", "info", dockerfile)


def test_there_is_something_to_lint() -> None:
    assert "docker/pipeline.Dockerfile" in DOCKERFILES
    expected = {
        "image-smoke.sh",
        "image-build.sh",
        "image-push.sh",
        "image-engine.sh",
        "kind-up.sh",
        "kind-run.sh",
        "kind-serve.sh",
        "kind-down.sh",
    }
    assert expected <= {s.split("/")[-1] for s in SCRIPTS}


@pytest.mark.parametrize("script", SCRIPTS)
def test_bash_syntax_and_shellcheck(script: str) -> None:
    run("bash", "-n", script)
    # -x follows `source scripts/kind-lib.sh` so variables defined there are known.
    run(tool("shellcheck"), "-x", "--severity=style", script)


@pytest.mark.parametrize("script", [s for s in SCRIPTS if not s.endswith("-lib.sh")])
def test_scripts_are_strict(script: str) -> None:
    text = (ROOT / script).read_text()
    assert text.startswith("#!/usr/bin/env bash\n# "), "shebang, then a header comment"
    assert "set -euo pipefail" in text


def world_writable_chmods(text: str) -> list[str]:
    """The modes of ``chmod`` commands in ``text`` that give others write permission."""
    found = []
    for mode in re.findall(r"chmod\s+(?:-\S+\s+)*(\S+)", text):
        if re.fullmatch(r"[0-7]{3,4}", mode):
            if int(mode[-1]) & 2:
                found.append(mode)
            continue
        for clause in mode.split(","):
            symbolic = re.fullmatch(r"([ugoa]*)([-+=])([rwxXst]*)", clause)
            if symbolic and set(symbolic[1]) & {"a", "o"} and symbolic[2] != "-":
                if "w" in symbolic[3]:
                    found.append(mode)
    return found


def test_world_writable_check_catches_what_kind_up_used_to_do() -> None:
    assert world_writable_chmods('chmod 0777 "$STORE"\nchmod -R a+rwX "$STORE/data"') == [
        "0777",
        "a+rwX",
    ]
    assert world_writable_chmods("chmod 0755 x; chmod -R a+rX y; chmod go-w z; chmod u+w w") == []


@pytest.mark.parametrize("script", SCRIPTS)
def test_scripts_make_nothing_world_writable(script: str) -> None:
    """The kind store is shared with the pods' uid through ACLs (kind-lib.sh), never 0777."""
    assert world_writable_chmods((ROOT / script).read_text()) == []
