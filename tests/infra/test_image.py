"""The project image's recipe: pinned base, lock-driven install, non-root, no credentials.

The build itself is too slow and needs root tools (scripts/image-smoke.sh, `make image-smoke`);
these checks read the Dockerfile, .dockerignore and the image's requirement list.
"""

import re
import runpy
import subprocess
import tomllib

import pytest

from tests.infra.conftest import ROOT

pytestmark = pytest.mark.xdist_group("infra")

DOCKERFILE = (ROOT / "docker/pipeline.Dockerfile").read_text()
image_requirements = runpy.run_path(str(ROOT / "docker/image_requirements.py"))


def _instructions(text: str) -> list[tuple[str, str]]:
    joined = re.sub(r"\\\n", " ", text)
    lines = [line.strip() for line in joined.splitlines()]
    return [tuple(line.split(None, 1)) for line in lines if line and not line.startswith("#")]


def test_pinned_multi_stage_base() -> None:
    froms = [arg for op, arg in _instructions(DOCKERFILE) if op == "FROM"]
    assert len(froms) == 2, "builder + final"
    for ref in froms:
        assert re.fullmatch(
            r"python:3\.11\.\d+-slim-bookworm(@sha256:[0-9a-f]{64})?( AS \w+)?", ref
        )
    assert froms[0].endswith(" AS builder")
    assert "COPY --from=builder /opt/venv /opt/venv" in DOCKERFILE


def test_installs_the_lock_without_resolving() -> None:
    runs = [arg for op, arg in _instructions(DOCKERFILE) if op == "RUN"]
    pip_installs = [r for r in runs if "pip install" in r]
    assert any("--no-deps -r image.lock" in r for r in pip_installs)
    assert any("--no-deps --no-build-isolation ." in r for r in pip_installs)


def test_runs_as_a_numeric_non_root_user() -> None:
    users = [arg for op, arg in _instructions(DOCKERFILE) if op == "USER"]
    assert users == ["10001:10001"]
    env = " ".join(arg for op, arg in _instructions(DOCKERFILE) if op == "ENV")
    assert "PATH=/opt/venv/bin:$PATH" in env


def test_no_credentials() -> None:
    lowered = DOCKERFILE.lower()
    for marker in ("password", "token", "secret", "_key", "credentials.json", "-----begin"):
        assert marker not in lowered
    # Mirror settings are build args of the builder stage only; the final stage takes the source
    # commit (label, and the env var the model card reads).
    final_stage = DOCKERFILE.split("FROM python:", 2)[2]
    args = [line for line in final_stage.splitlines() if line.startswith("ARG ")]
    assert args == ["ARG GIT_COMMIT=unknown"]


def test_image_tag_follows_the_package_version() -> None:
    version = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]
    tag = subprocess.run(
        ["bash", "scripts/image-tag.sh"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.strip()
    assert tag.endswith(f":{version}")
    init = (ROOT / "components/__init__.py").read_text()
    assert f'__version__ = "{version}"' in init


def test_dockerignore_keeps_the_context_small() -> None:
    lines = (ROOT / ".dockerignore").read_text().splitlines()
    patterns = [line for line in lines if line and not line.startswith("#")]
    assert patterns[0] == "*", "allow-list: nothing enters the context unless listed"
    copied = set(re.findall(r"^COPY (?!--from)(.+?) \S+$", DOCKERFILE, flags=re.M))
    sources = {src for group in copied for src in group.split()}
    for src in sources:
        assert f"!{src}" in patterns, f"{src} is COPY'd but excluded by .dockerignore"


def test_image_requirements_drop_only_dev_tools() -> None:
    lock = (ROOT / "requirements.lock").read_text()
    kept = image_requirements["image_requirements"](lock)
    canonical = image_requirements["canonical"]
    dev_only = image_requirements["DEV_ONLY"]
    locked = {canonical(line.split("==")[0]) for line in lock.splitlines() if "==" in line}
    assert dev_only <= locked, "every excluded tool is really in the lock"
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]

    def names(requirements: list[str]) -> set[str]:
        return {canonical(re.split(r"[=<>!~\[; ]", r, maxsplit=1)[0]) for r in requirements}

    assert dev_only <= names(project["optional-dependencies"]["dev"])
    extras = project["optional-dependencies"]
    assert not dev_only & names(project["dependencies"] + extras["client"] + extras["pipeline"])
    assert {canonical(line.split("==")[0]) for line in kept} == locked - dev_only
    assert all("==" in line for line in kept)
