"""scripts/pin_base_images.py (`make pin-images`) against fake resolvers, no registry.

Each fake `docker`/`skopeo`/`crane` on an otherwise empty PATH answers in the real tool's output
format (buildx's `{{json .Manifest}}` index, skopeo's raw manifest bytes, crane's digest line)
with digests that are obviously test values; the real digests are resolved only by a maintainer
with registry access.
"""

import hashlib
import re
import subprocess
import sys

import pytest

from tests.helpers.paths import ROOT

pytestmark = pytest.mark.xdist_group("infra")

SCRIPT = ROOT / "scripts/pin_base_images.py"
FAKE_PYTHON = "sha256:" + "a" * 64  # test values, not digests of any image
FAKE_BEAM = "sha256:" + "b" * 64
BEAM = "apache/beam_python3.11_sdk"
RECIPE = f"""\
# a header
ARG PYTHON_BASE=python:3.11.14-slim-bookworm
ARG BEAM_VERSION=2.77.0
FROM {BEAM}:${{BEAM_VERSION}} AS beam_sdk
FROM ${{PYTHON_BASE}} AS builder
RUN true
FROM ${{PYTHON_BASE}}
COPY --from=beam_sdk /opt/apache/beam /opt/apache/beam
"""
PINNED = RECIPE.replace("slim-bookworm\n", f"slim-bookworm@{FAKE_PYTHON}\n").replace(
    "} AS beam_sdk", f"}}@{FAKE_BEAM} AS beam_sdk"
)

# `docker buildx imagetools inspect REF --format '{{json .Manifest}}'` prints the index as
# indented JSON with its digest at the top (buildx docs/reference/buildx_imagetools_inspect.md).
# The fakes use shell builtins only: PATH holds nothing but them.
FAKE_DOCKER = (
    r"""#!/bin/sh
echo "$*" >> "${0%/*}/calls"
case "$*" in
  "buildx version") echo "github.com/docker/buildx v0.0.0-fake"; exit 0 ;;
  "buildx imagetools inspect python:3.11.14-slim-bookworm --format {{json .Manifest}}")
    digest=PYTHON_DIGEST ;;
  "buildx imagetools inspect BEAM:2.77.0 --format {{json .Manifest}}") digest=BEAM_DIGEST ;;
  *) echo "unexpected: $*" >&2; exit 3 ;;
esac
printf '{\n  "schemaVersion": 2,\n  "mediaType": "application/vnd.oci.image.index.v1+json",\n'
printf '  "digest": "%s",\n  "size": 855,\n  "manifests": []\n}\n' "$digest"
""".replace("PYTHON_DIGEST", FAKE_PYTHON)
    .replace("BEAM_DIGEST", FAKE_BEAM)
    .replace("BEAM", BEAM)
)
# The docker CLI of a machine without the buildx plugin (like the one this was written on).
NO_BUILDX = """#!/bin/sh
echo "docker: unknown command: docker $1" >&2
exit 1
"""
# `crane digest REF` prints the digest and a newline.
FAKE_CRANE = f"""#!/bin/sh
echo "$*" >> "${{0%/*}}/calls"
case "$2" in python:*) echo {FAKE_PYTHON} ;; *) echo {FAKE_BEAM} ;; esac
"""
# `skopeo inspect --raw docker://REF` writes the manifest's bytes as served, no newline added.
RAW_INDEX = '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json"}'
FAKE_SKOPEO = f"""#!/bin/sh
echo "$*" >> "${{0%/*}}/calls"
printf '%s' '{RAW_INDEX}'
"""
OFFLINE_DOCKER = """#!/bin/sh
[ "$*" = "buildx version" ] && exit 0
echo "ERROR: failed to do request: dial tcp: lookup registry-1.docker.io: no such host" >&2
exit 1
"""


@pytest.fixture
def dockerfile(tmp_path):
    path = tmp_path / "pipeline.Dockerfile"
    path.write_text(RECIPE)
    return path


def _tools(tmp_path, **scripts: str):
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for name, script in scripts.items():
        (bin_dir / name).write_text(script)
        (bin_dir / name).chmod(0o755)
    return bin_dir


def _pin(dockerfile, bin_dir, *flags: str) -> subprocess.CompletedProcess[str]:
    # Only the fakes on PATH: a real docker/skopeo/crane of this machine is never called.
    return subprocess.run(
        [sys.executable, str(SCRIPT), "--dockerfile", str(dockerfile), *flags],
        env={"PATH": str(bin_dir)},
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_pins_both_bases_exactly_and_idempotently_with_buildx(dockerfile, tmp_path) -> None:
    bin_dir = _tools(tmp_path, docker=FAKE_DOCKER)
    assert _pin(dockerfile, bin_dir, "--check").returncode == 1
    first = _pin(dockerfile, bin_dir)
    assert first.returncode == 0, first.stderr
    assert dockerfile.read_text() == PINNED  # ${BEAM_VERSION} stays the one source of the version
    calls = (bin_dir / "calls").read_text().splitlines()
    assert f"buildx imagetools inspect {BEAM}:2.77.0 --format {{{{json .Manifest}}}}" in calls
    again = _pin(dockerfile, bin_dir)  # re-resolves (a pin may be stale), same answer: no change
    assert again.returncode == 0, again.stderr
    assert dockerfile.read_text() == PINNED
    check = _pin(dockerfile, bin_dir, "--check")
    assert check.returncode == 0, check.stdout


def test_check_lists_every_unpinned_base(dockerfile, tmp_path) -> None:
    check = _pin(dockerfile, _tools(tmp_path), "--check")  # needs no resolver, no registry
    assert check.returncode == 1
    assert f"base {BEAM}:${{BEAM_VERSION}} has no digest" in check.stdout
    assert "base python:3.11.14-slim-bookworm has no digest" in check.stdout
    half = RECIPE.replace("slim-bookworm\n", f"slim-bookworm@{FAKE_PYTHON}\n")
    dockerfile.write_text(half)
    check = _pin(dockerfile, tmp_path / "bin", "--check")
    assert check.returncode == 1
    assert "python:" not in check.stdout and BEAM in check.stdout


def test_falls_back_to_crane_when_docker_has_no_buildx(dockerfile, tmp_path) -> None:
    bin_dir = _tools(tmp_path, docker=NO_BUILDX, crane=FAKE_CRANE)
    result = _pin(dockerfile, bin_dir)
    assert result.returncode == 0, result.stderr
    assert dockerfile.read_text() == PINNED
    assert "digest python:3.11.14-slim-bookworm" in (bin_dir / "calls").read_text()


def test_skopeo_digest_is_the_sha256_of_the_raw_manifest(dockerfile, tmp_path) -> None:
    bin_dir = _tools(tmp_path, skopeo=FAKE_SKOPEO)
    result = _pin(dockerfile, bin_dir)
    assert result.returncode == 0, result.stderr
    digest = "sha256:" + hashlib.sha256(RAW_INDEX.encode()).hexdigest()
    assert dockerfile.read_text().count(f"@{digest}") == 2
    calls = (bin_dir / "calls").read_text().splitlines()
    assert calls == [
        f"inspect --raw docker://{BEAM}:2.77.0",
        "inspect --raw docker://python:3.11.14-slim-bookworm",
    ]


@pytest.mark.parametrize(
    ("tools", "message"),
    [
        ({}, "no resolver: install docker buildx, skopeo or crane"),
        ({"docker": NO_BUILDX}, "no resolver"),
        ({"docker": OFFLINE_DOCKER}, "no such host"),
        ({"crane": "#!/bin/sh\necho latest\n"}, "not sha256:<64 hex>"),
    ],
)
def test_errors_are_clear_and_leave_the_file_unchanged(
    tools, message, dockerfile, tmp_path
) -> None:
    result = _pin(dockerfile, _tools(tmp_path, **tools))
    assert result.returncode == 2
    assert message in result.stderr and "unchanged" in result.stderr
    assert dockerfile.read_text() == RECIPE
    assert {p.name for p in dockerfile.parent.iterdir()} == {"pipeline.Dockerfile", "bin"}


def test_finds_the_two_bases_of_the_real_dockerfile(tmp_path) -> None:
    # Pinned or not (no registry is reachable where this repository is developed), the script
    # must see both bases of the real recipe, or `--check` would pass with one unpinned.
    real = ROOT / "docker/pipeline.Dockerfile"
    check = _pin(real, _tools(tmp_path), "--check")
    unpinned = re.findall(r"base (\S+) has no digest", check.stdout)
    written = r"^(?:ARG PYTHON_BASE=|ARG BEAM_SDK_IMAGE=|FROM )(\S+)@sha256:[0-9a-f]{64}"
    pinned = re.findall(written, real.read_text(), re.M)
    beam, python = sorted(unpinned + pinned)
    assert beam == f"{BEAM}:${{BEAM_VERSION}}"
    assert re.fullmatch(r"python:3\.11\.\d+-slim-bookworm", python)
    assert check.returncode == (1 if unpinned else 0)
