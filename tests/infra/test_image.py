"""The project image's recipe: pinned base, hash-checked lock install, non-root, no credentials.

The build itself is too slow and needs root tools (scripts/image-smoke.sh, `make image-smoke`);
these checks read the Dockerfile and .dockerignore (the lock files: test_locks.py).
"""

import re
import runpy
import subprocess
import tomllib
from pathlib import Path

import pytest

from tests.helpers.paths import ROOT

pytestmark = pytest.mark.xdist_group("infra")

DOCKERFILE = (ROOT / "docker/pipeline.Dockerfile").read_text()
FINAL_STAGE = DOCKERFILE.split("\nFROM ${PYTHON_BASE}\n", 1)[1]


def _instructions(text: str) -> list[tuple[str, str]]:
    joined = re.sub(r"\\\n", " ", text)
    lines = [line.strip() for line in joined.splitlines()]
    return [tuple(line.split(None, 1)) for line in lines if line and not line.startswith("#")]


def test_pinned_multi_stage_base() -> None:
    instructions = _instructions(DOCKERFILE)
    assert instructions[0][0] == "ARG", "the base is a global build arg, used by both stages"
    name, default = instructions[0][1].split("=", 1)
    assert name == "PYTHON_BASE"
    # An exact version on both bases, never a floating tag; a digest where `make pin-images`
    # really resolved one (allowed, not required: no registry is reachable where this is developed).
    digest = r"(@sha256:[0-9a-f]{64})?"
    assert re.fullmatch(rf"python:3\.11\.\d+-slim-bookworm{digest}", default)
    froms = [arg for op, arg in instructions if op == "FROM"]
    assert len(froms) == 4, "Beam's SDK harness + the serving TensorFlow + builder + final"
    args = dict(arg.split("=", 1) for op, arg in instructions if op == "ARG" and "=" in arg)
    beam = rf"apache/beam_python3\.11_sdk:\$\{{BEAM_VERSION\}}{digest}"
    assert re.fullmatch(beam, args["BEAM_SDK_IMAGE"]), "BEAM_VERSION is its one version"
    assert froms[0] == "${BEAM_SDK_IMAGE} AS beam_sdk", "only /opt/apache/beam is taken"
    assert froms[1:] == [
        "${PYTHON_BASE} AS serving_tf",
        "${PYTHON_BASE} AS builder",
        "${PYTHON_BASE}",
    ]
    assert "COPY --from=builder /opt/venv /opt/venv" in DOCKERFILE


def test_carries_the_beam_sdk_harness_of_the_locked_beam_version() -> None:
    # Beam's boot launcher must match the SDK the workers import (requirements.lock).
    lock = (ROOT / "requirements.lock").read_text()
    (beam,) = re.findall(r"^apache-beam==([^\s\\]+)", lock, re.M)
    assert f"ARG BEAM_VERSION={beam}\n" in DOCKERFILE
    python = re.search(r"^ARG PYTHON_BASE=python:(3\.\d+)\.", DOCKERFILE, re.M)[1]
    assert f"ARG BEAM_SDK_IMAGE=apache/beam_python{python}_sdk:" in DOCKERFILE, "same Python"
    assert "COPY --from=beam_sdk /opt/apache/beam /opt/apache/beam" in FINAL_STAGE
    assert "RUN_PYTHON_SDK_IN_DEFAULT_ENVIRONMENT=1" in FINAL_STAGE  # the venv, not a new one
    # Where the harness came from is recorded, so a smoke build's stand-in can never be pushed.
    assert 'org.household-sounds.beam-sdk-image="${BEAM_SDK_IMAGE}"' in FINAL_STAGE
    entrypoints = [arg for op, arg in _instructions(DOCKERFILE) if op == "ENTRYPOINT"]
    assert entrypoints == ['["/usr/local/bin/household-sounds-entrypoint"]']


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["--id=1-1", "--provision_endpoint=localhost:1"], "boot --id=1-1 --provision_endpoint"),
        (["--worker_pool"], "boot --worker_pool"),
        (["household-sounds", "--help"], "household-sounds --help"),
        (["python3", "-m", "kfp.dsl.executor_main"], "python3 -m kfp.dsl.executor_main"),
    ],
)
def test_the_entrypoint_starts_beam_for_runner_flags_and_runs_commands_otherwise(
    args, expected, tmp_path
) -> None:
    # The script with `exec` replaced by echo, so the decision is visible without Beam's boot.
    script = (ROOT / "docker/entrypoint.sh").read_text().replace("exec ", "echo ")
    script = script.replace("/opt/apache/beam/boot", "boot")
    (tmp_path / "entrypoint.sh").write_text(script)
    out = subprocess.run(
        ["sh", str(tmp_path / "entrypoint.sh"), *args], capture_output=True, text=True, check=True
    ).stdout
    assert out.startswith(expected)


def test_installs_only_the_runtime_lock_with_hashes() -> None:
    runs = [arg for op, arg in _instructions(DOCKERFILE) if op == "RUN"]
    pip_installs = [cmd for r in runs for cmd in r.split("&&") if "pip install" in cmd]
    assert len(pip_installs) == 4, (
        "installer (serving TensorFlow's stage), installer, runtime, project"
    )
    serving_installer, installer, runtime, project = (" ".join(c.split()) for c in pip_installs)
    for command in (serving_installer, installer):
        assert command.endswith("pip install --require-hashes --no-deps -r requirements-build.lock")
    assert runtime.endswith(
        "pip install --require-hashes --no-deps --no-build-isolation -r requirements.lock"
    )
    # A local tree has no hash: the one install outside hash mode, and it fetches nothing.
    assert project.endswith("pip install --no-deps --no-build-isolation .")
    copied = [arg for op, arg in _instructions(DOCKERFILE) if op == "COPY"]
    assert not [c for c in copied if "requirements-dev" in c], "test/lint/notebook tools stay out"


def test_runs_as_a_numeric_non_root_user() -> None:
    users = [arg for op, arg in _instructions(DOCKERFILE) if op == "USER"]
    assert users == ["10001:10001"]
    env = " ".join(arg for op, arg in _instructions(DOCKERFILE) if op == "ENV")
    assert "PATH=/opt/venv/bin:$PATH" in env


def test_no_credentials() -> None:
    lowered = DOCKERFILE.lower()
    for marker in ("password", "token", "secret", "_key", "credentials.json", "-----begin"):
        assert marker not in lowered
    # Mirror settings are build args of the build stages only; the final stage takes the source
    # commit (label, and the env var the model card reads) and the Beam SDK image (a label).
    args = [line for line in FINAL_STAGE.splitlines() if line.startswith("ARG ")]
    assert args == ["ARG GIT_COMMIT=unknown", "ARG BEAM_SDK_IMAGE"]


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
        allowed = [f"!{src}", *(f"!{parent}" for parent in Path(src).parents if parent.name)]
        assert set(allowed) & set(patterns), f"{src} is COPY'd but excluded by .dockerignore"


def test_the_gpu_image_swaps_tensorflow_cpu_for_the_cuda_build_of_its_version() -> None:
    """`make image-gpu` (build arg TENSORFLOW=gpu): docker/gpu_lock.py over the runtime lock."""
    gpu_lock = runpy.run_path(str(ROOT / "docker/gpu_lock.py"))
    lock = (ROOT / "requirements.lock").read_text()
    gpu = (ROOT / "requirements-gpu.lock").read_text()
    cpu_entries = {name: block for name, _, block in gpu_lock["entries"](lock)}
    merged = gpu_lock["gpu_lock"](lock, gpu)
    cuda_entries = {name: block for name, _, block in gpu_lock["entries"](merged)}
    versions = {name: version for name, version, _ in gpu_lock["entries"](merged)}
    cpu_version = cpu_entries["tensorflow-cpu"].split("==")[1].split()[0]
    assert versions["tensorflow"] == cpu_version  # the same version family
    assert "tensorflow-cpu" not in cuda_entries
    libraries = set(cuda_entries) - set(cpu_entries) - {"tensorflow"}
    assert libraries and all(name.startswith("nvidia-") for name in libraries)
    for name, block in cpu_entries.items():  # nothing else moves, hashes included
        assert name == "tensorflow-cpu" or cuda_entries[name] == block, name
    assert all("--hash=sha256:" in block for block in cuda_entries.values())
    assert "ARG TENSORFLOW=cpu" in DOCKERFILE
    assert "python gpu_lock.py requirements.lock requirements-gpu.lock" in DOCKERFILE
    stale = gpu.replace(f"tensorflow=={cpu_version}", "tensorflow==2.0.0")
    with pytest.raises(ValueError, match="the lock tensorflow-cpu=="):
        gpu_lock["gpu_lock"](lock, stale)


def test_image_push_tags_and_pushes_to_the_registry_with_the_engine_found(tmp_path) -> None:
    """make image-push with a stand-in docker on PATH: what it is asked to tag and push."""
    calls = tmp_path / "calls"
    (beam,) = re.findall(r"^ARG BEAM_VERSION=(\S+)", DOCKERFILE, re.M)
    fake = tmp_path / "bin" / "docker"
    fake.parent.mkdir()
    # It answers `image inspect` with the harness label an official build carries.
    fake.write_text(
        f'#!/usr/bin/env bash\necho "$*" >> {calls}\n'
        f'[[ $1 == image ]] && echo "${{HARNESS:-apache/beam_python3.11_sdk:{beam}}}"\nexit 0\n'
    )
    fake.chmod(0o755)
    image = subprocess.run(
        ["bash", "scripts/image-tag.sh"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.strip()
    env = {"PATH": f"{fake.parent}:/usr/bin:/bin", "REGISTRY": "registry.example.com/ml/"}
    done = subprocess.run(
        ["bash", "scripts/image-push.sh"], cwd=ROOT, env=env, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    pushed = f"registry.example.com/ml/{image.split('/')[-1]}"
    lines = calls.read_text().splitlines()
    assert lines[0] == "info"
    assert any(line.startswith("image inspect --format") for line in lines)
    assert f"tag {image} {pushed}" in lines and f"push {pushed}" in lines
    assert f"--image {pushed}" in done.stdout
    smoke = subprocess.run(
        ["bash", "scripts/image-push.sh"],
        cwd=ROOT,
        env={**env, "HARNESS": "localhost/household-sounds-smoke/beam-sdk-standin:2.77.0"},
        capture_output=True,
        text=True,
    )
    assert smoke.returncode != 0 and "(a smoke build?)" in smoke.stderr
    refused_calls = calls.read_text().splitlines()[len(lines) :]
    assert not [call for call in refused_calls if call.startswith(("tag", "push"))]
    missing = subprocess.run(
        ["bash", "scripts/image-push.sh"],
        cwd=ROOT,
        env={"PATH": env["PATH"]},
        capture_output=True,
        text=True,
    )
    assert missing.returncode != 0 and "set REGISTRY" in missing.stderr
