"""The weights cache: where it is, and the checked path of a backbone's file in it.

The cache is ``$HOUSEHOLD_SOUNDS_WEIGHTS`` when set, else ``$XDG_CACHE_HOME/household-sounds/
weights`` (``~/.cache/...`` by default): outside the package, so neither the repository nor the
wheel holds a weight, and one cache serves every checkout and virtualenv of a machine. Each
backbone has a folder (``yamnet/``, ``efficientat/``) holding its files and a ``NOTICE``. A file
is used only after its sha256 matched the catalog's pin (checked once per process and file
version); a missing or altered file raises ``WeightsError`` naming the command that fixes it.
"""

import csv
import functools
import hashlib
import os
from pathlib import Path

from components.pretrained.catalog import Backbone, Source

ENV_VAR = "HOUSEHOLD_SOUNDS_WEIGHTS"
NOTICE = "NOTICE"
FIX = "run `household-sounds weights` (offline: `household-sounds weights --from DIR`)"


class WeightsError(RuntimeError):
    """A pretrained file is missing from the weights cache, altered, or could not be fetched."""


def cache_dir() -> Path:
    """The weights cache folder this process uses (it may not exist yet)."""
    if os.environ.get(ENV_VAR):
        return Path(os.environ[ENV_VAR]).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "household-sounds" / "weights"


def sha256_of(path: Path) -> str:
    """Hex sha256 of a file's bytes, read in 1 MiB blocks."""
    digest = hashlib.sha256()
    with Path(path).open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


@functools.cache
def _hash_of_version(path: Path, size: int, mtime_ns: int) -> str:
    return sha256_of(path)


def matches(path: Path, sha256: str) -> bool:
    """Whether the file at ``path`` has ``sha256`` (memoised per file size and mtime)."""
    stat = path.stat()
    return _hash_of_version(path, stat.st_size, stat.st_mtime_ns) == sha256


def locate(backbone: Backbone, role: str, cache: Path | None = None) -> tuple[Path, Source]:
    """The checked cached file of one of ``backbone``'s assets, and which source it is.

    Args:
        backbone: The backbone (``catalog.YAMNET``, ``catalog.EFFICIENTAT``).
        role: The asset's role (``"weights"``, ``"class_map"``, ...).
        cache: The cache folder; ``cache_dir()`` when ``None``.

    Returns:
        ``(path, source)`` for the first of the asset's sources present in the cache.

    Raises:
        WeightsError: If none is present, or the one present does not match its sha256.
    """
    folder = (cache or cache_dir()) / backbone.name
    asset = backbone.asset(role)
    for source in asset.sources:
        path = folder / source.name
        if not path.is_file():
            continue
        if not matches(path, source.sha256):
            raise WeightsError(
                f"{path} has sha256 {sha256_of(path)}, expected {source.sha256}: the file is "
                f"corrupted or not the pinned one; delete it and {FIX}"
            )
        return path, source
    raise WeightsError(f"{backbone.name} {role} ({asset.names()}) not found in {folder}: {FIX}")


def provenance(backbone: Backbone, cache: Path | None = None) -> list[dict[str, str]]:
    """The file name and sha256 of each of ``backbone``'s cached assets, for model cards."""
    files = []
    for asset in backbone.assets:
        _, source = locate(backbone, asset.role, cache)
        files.append({"backbone": backbone.name, "file": source.name, "sha256": source.sha256})
    return files


@functools.cache
def class_names(backbone: Backbone) -> tuple[str, ...]:
    """The ``display_name`` column of ``backbone``'s cached class map, in its scores' order."""
    path, _ = locate(backbone, "class_map")
    with path.open(newline="", encoding="utf-8") as handle:
        return tuple(row["display_name"] for row in csv.DictReader(handle))
