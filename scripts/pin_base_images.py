"""Pin the project image's base images by digest: ``make pin-images``.

Reads every base of ``docker/pipeline.Dockerfile`` (a ``FROM`` image, or the default of the
global ``ARG`` a ``FROM ${NAME}`` names), expands ``${ARG}`` references with the global ARG
defaults (``${BEAM_VERSION}``), resolves each tag's manifest-list digest in the registry with the
first tool that is installed (``docker buildx imagetools inspect``, ``skopeo inspect --raw``,
``crane digest``) and rewrites each reference as ``name:tag@sha256:<digest>``: the tag stays for
readers (unexpanded, so ``BEAM_VERSION`` remains the one place of Beam's version) and the digest
decides what is pulled, so rerun it after changing a tag or ``BEAM_VERSION`` (every base is
resolved again). Nothing is written unless every base resolved. ``--check`` needs no registry:
it exits 1 listing the bases without a digest (a release CI gate). Usage:
``python scripts/pin_base_images.py [--check] [--dockerfile PATH]``.
"""

import argparse
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

DOCKERFILE = Path(__file__).resolve().parents[1] / "docker/pipeline.Dockerfile"
DIGEST = re.compile(r"sha256:[0-9a-f]{64}")
TIMEOUT_S = 120


class PinError(Exception):
    """A base that cannot be pinned: no resolver, no registry answer, or an unreadable recipe."""


@dataclass(frozen=True)
class Base:
    """One base reference: where it is written (line number) and as written there."""

    line: int
    written: str  # name:tag, or name:tag@sha256:..., ${ARG}s unexpanded

    @property
    def tagged(self) -> str:
        """The reference without its digest."""
        return self.written.split("@", 1)[0]

    @property
    def pinned(self) -> bool:
        """Whether the reference carries a digest."""
        return "@" in self.written


def global_args(lines: list[str]) -> dict[str, tuple[int, str]]:
    """The ``ARG NAME=default`` lines before the first ``FROM``: name → (line index, default)."""
    found: dict[str, tuple[int, str]] = {}
    for number, line in enumerate(lines):
        words = line.split()
        if words and words[0].upper() == "FROM":
            break
        if len(words) > 1 and words[0].upper() == "ARG" and "=" in words[1]:
            name, _, default = line.split(None, 1)[1].partition("=")
            found[name.strip()] = (number, default.strip())
    return found


def bases(text: str) -> list[Base]:
    """The base references of a Dockerfile, in order, without stage names or duplicates."""
    lines = text.splitlines()
    defaults = global_args(lines)
    stages: set[str] = set()
    found: list[Base] = []
    for number, line in enumerate(lines):
        words = line.split()
        if not words or words[0].upper() != "FROM":
            continue
        image = next(w for w in words[1:] if not w.startswith("--"))
        known_stage = image in stages or image.lower() == "scratch"
        if len(words) >= 4 and words[-2].upper() == "AS":
            stages.add(words[-1])
        if known_stage:
            continue
        where = number
        if arg := re.fullmatch(r"\$\{?(\w+)\}?", image):
            if arg[1] not in defaults:
                raise PinError(f"line {number + 1}: FROM {image} has no global ARG default")
            where, image = defaults[arg[1]]
        if all(b.line != where for b in found):
            found.append(Base(where, image))
    return found


def expand(reference: str, text: str) -> str:
    """``reference`` with every ``${NAME}`` replaced by the global ARG default of ``NAME``."""
    defaults = {name: default for name, (_, default) in global_args(text.splitlines()).items()}

    def value(match: re.Match[str]) -> str:
        if match[1] not in defaults:
            raise PinError(f"{reference}: no global ARG default for {match[1]}")
        return defaults[match[1]]

    expanded = re.sub(r"\$\{(\w+)\}", value, reference)
    if not re.fullmatch(r"[\w./-]+(:\d+)?(/[\w./-]+)*:[\w.-]+", expanded):
        raise PinError(f"{reference}: not name:tag (a tag keeps the pin readable)")
    return expanded


def _run(args: list[str]) -> bytes:
    try:
        done = subprocess.run(args, capture_output=True, timeout=TIMEOUT_S, check=False)
    except subprocess.TimeoutExpired as error:
        raise PinError(f"{' '.join(args)}: no answer in {TIMEOUT_S} s") from error
    if done.returncode != 0:
        why = done.stderr.decode(errors="replace").strip()[-500:]
        raise PinError(f"{' '.join(args)} failed (rc {done.returncode}): {why}")
    return done.stdout


def _buildx(reference: str) -> str:
    inspect = ["docker", "buildx", "imagetools", "inspect", reference]
    manifest = _run([*inspect, "--format", "{{json .Manifest}}"])  # the index, as JSON
    try:
        return json.loads(manifest)["digest"]
    except (ValueError, KeyError, TypeError) as error:
        raise PinError(f"docker buildx answered no digest for {reference}") from error


def _skopeo(reference: str) -> str:
    # The raw bytes of the top-level manifest (the list): their sha256 is its digest.
    raw = _run(["skopeo", "inspect", "--raw", f"docker://{reference}"])
    return f"sha256:{hashlib.sha256(raw).hexdigest()}"


def _crane(reference: str) -> str:
    return _run(["crane", "digest", reference]).decode().strip()


def resolver() -> tuple[str, Callable[[str], str]]:
    """The first installed resolver: buildx (if the docker CLI has the plugin), skopeo, crane."""
    if shutil.which("docker"):
        plugin = subprocess.run(
            ["docker", "buildx", "version"], capture_output=True, timeout=TIMEOUT_S, check=False
        )
        if plugin.returncode == 0:
            return "docker buildx imagetools", _buildx
    for tool, resolve in (("skopeo", _skopeo), ("crane", _crane)):
        if shutil.which(tool):
            return tool, resolve
    raise PinError("no resolver: install docker buildx, skopeo or crane (with registry access)")


def pin(text: str) -> str:
    """``text`` with every base rewritten as ``name:tag@sha256:...``, freshly resolved."""
    found = bases(text)
    name, resolve = resolver()
    lines = text.splitlines(keepends=True)
    for base in found:
        reference = expand(base.tagged, text)
        digest = resolve(reference)
        if not DIGEST.fullmatch(digest):
            raise PinError(f"{name} answered {digest!r} for {reference}, not sha256:<64 hex>")
        lines[base.line] = lines[base.line].replace(base.written, f"{base.tagged}@{digest}", 1)
        print(f"{reference} -> {digest} ({name})")
    return "".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Pin (or with ``--check`` list unpinned) bases; 1 = unpinned, 2 = error, file untouched."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="exit 1 if a base has no digest")
    parser.add_argument("--dockerfile", type=Path, default=DOCKERFILE)
    args = parser.parse_args(argv)
    path: Path = args.dockerfile
    try:
        text = path.read_text()
        if args.check:
            unpinned = [b.written for b in bases(text) if not b.pinned]
            for written in unpinned:
                print(f"{path}: base {written} has no digest (run `make pin-images`)")
            return 1 if unpinned else 0
        pinned = pin(text)
    except (PinError, OSError) as error:
        print(f"pin_base_images: {error}; {path} unchanged", file=sys.stderr)
        return 2
    staged = path.with_name(f".{path.name}.pinning")
    staged.write_text(pinned)
    staged.chmod(path.stat().st_mode)
    os.replace(staged, path)  # atomic: a reader sees the old recipe or the whole new one
    return 0


if __name__ == "__main__":
    sys.exit(main())
