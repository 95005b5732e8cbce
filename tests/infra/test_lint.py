"""Static checks of the infrastructure files with the pinned linters from .venv/bin.

yamllint over k8s/ (and serving's kustomization), hadolint over every Dockerfile, and
``bash -n`` + shellcheck over every script in scripts/ (including the kind and image scripts
that cannot run on a machine without Docker or a cluster).
"""

import pytest

from tests.infra.conftest import ROOT, run, tool

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
