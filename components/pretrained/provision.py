"""Fills the weights cache: ``household-sounds weights``.

For every asset of every backbone, in order: a copy already in the cache whose sha256 matches
is kept; else each of the asset's sources, best first, is downloaded from its official URL
(unless offline) or copied from the first local folder that holds it (``--from DIR``, as the
file itself or one folder down, e.g. ``../shared/models``); a file is moved into the cache only
after its sha256 matched, so an interrupted or wrong download never lands. A failed attempt is
reported and the next one tried; assets that no attempt could fill are listed in one
``WeightsError`` at the end, after everything else was provisioned. Each backbone's folder gets
its ``NOTICE``.
"""

import shutil
import tempfile
import time
import urllib.request
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from components.pretrained import cache as weights_cache
from components.pretrained.catalog import BACKBONES, Asset, Backbone, Source

DOWNLOAD_TIMEOUT_S = 60.0  # per network operation (connect, each read), not per file


@dataclass(frozen=True)
class Provisioned:
    """How one asset was filled: ``cached``, ``downloaded`` or ``copied`` (from ``origin``)."""

    backbone: str
    file: str
    sha256: str
    how: str
    origin: str


def _install(staged: Path, source: Source, folder: Path) -> None:
    """Moves a staged file into the cache if its sha256 matches (raises ``ValueError`` else)."""
    actual = weights_cache.sha256_of(staged)
    if actual != source.sha256:
        raise ValueError(f"sha256 {actual}, expected {source.sha256}")
    staged.replace(folder / source.name)


def _staging(folder: Path, source: Source) -> Path:
    handle, name = tempfile.mkstemp(prefix=f".{source.name}.", suffix=".part", dir=folder)
    Path(name).chmod(0o644)
    with open(handle, "wb"):
        pass
    return Path(name)


def _download(source: Source, folder: Path, timeout_s: float, log: Callable[[str], None]) -> None:
    staged = _staging(folder, source)
    try:
        started = time.monotonic()
        with urllib.request.urlopen(source.url, timeout=timeout_s) as response:
            with staged.open("wb") as out:
                shutil.copyfileobj(response, out, 1 << 20)
        size = staged.stat().st_size
        log(f"  downloaded {size / 1e6:.1f} MB in {time.monotonic() - started:.1f} s")
        _install(staged, source, folder)
    finally:
        staged.unlink(missing_ok=True)


def _local_candidates(directory: Path, name: str) -> list[Path]:
    return [
        path for path in (directory / name, *sorted(directory.glob(f"*/{name}"))) if path.is_file()
    ]


def _copy(candidate: Path, source: Source, folder: Path) -> None:
    staged = _staging(folder, source)
    try:
        shutil.copyfile(candidate, staged)
        _install(staged, source, folder)
    finally:
        staged.unlink(missing_ok=True)


def _cached(asset: Asset, folder: Path, log: Callable[[str], None]) -> Source | None:
    for source in asset.sources:
        path = folder / source.name
        if path.is_file():
            if weights_cache.matches(path, source.sha256):
                return source
            log(f"  {path} does not match its sha256: removed")
            path.unlink()
    return None


def _fill(
    asset: Asset,
    folder: Path,
    local_dirs: Sequence[Path],
    download: bool,
    timeout_s: float,
    log: Callable[[str], None],
) -> tuple[Source, str, str] | list[str]:
    """``(source, how, origin)`` of the first attempt that worked, else every failure."""
    failures = []
    for source in asset.sources:
        if download and source.url:
            log(f"  fetching {source.url}")
            try:
                _download(source, folder, timeout_s, log)
                return source, "downloaded", source.url
            except (OSError, ValueError) as error:
                failures.append(f"{source.url}: {error}")
                log(f"  failed: {error}")
        for directory in local_dirs:
            for candidate in _local_candidates(directory, source.name):
                try:
                    _copy(candidate, source, folder)
                    return source, "copied", str(candidate)
                except (OSError, ValueError) as error:
                    failures.append(f"{candidate}: {error}")
                    log(f"  {candidate}: {error}")
    if not failures:
        failures.append(
            "not downloadable (offline, or no official URL) and no --from folder holds it"
        )
    return failures


def provision(
    backbones: Sequence[Backbone] = BACKBONES,
    *,
    cache: Path | None = None,
    local_dirs: Sequence[Path] = (),
    download: bool = True,
    timeout_s: float = DOWNLOAD_TIMEOUT_S,
    log: Callable[[str], None] = print,
) -> list[Provisioned]:
    """Makes every asset of ``backbones`` present and checked in the weights cache.

    Args:
        backbones: What to provision (all of ``catalog.BACKBONES`` by default).
        cache: The cache folder; ``cache.cache_dir()`` when ``None``.
        local_dirs: Folders to copy files from when they cannot be downloaded.
        download: Whether to try the official URLs.
        timeout_s: Network timeout per operation.
        log: Where progress lines go.

    Returns:
        One ``Provisioned`` per asset.

    Raises:
        WeightsError: Listing every asset no attempt could fill (the others are provisioned).
    """
    root = cache or weights_cache.cache_dir()
    done: list[Provisioned] = []
    missing: list[str] = []
    for backbone in backbones:
        folder = root / backbone.name
        folder.mkdir(parents=True, exist_ok=True)
        (folder / weights_cache.NOTICE).write_text(backbone.notice, encoding="utf-8")
        for asset in backbone.assets:
            log(f"{backbone.name} {asset.role} ({asset.names()})")
            source = _cached(asset, folder, log)
            if source is not None:
                log(f"  cached: {folder / source.name}")
                done.append(Provisioned(backbone.name, source.name, source.sha256, "cached", ""))
                continue
            result = _fill(asset, folder, local_dirs, download, timeout_s, log)
            if isinstance(result, list):
                missing.append(
                    f"{backbone.name} {asset.role} ({asset.names()}): " + "; ".join(result)
                )
                continue
            source, how, origin = result
            log(f"  {how}: {folder / source.name}")
            done.append(Provisioned(backbone.name, source.name, source.sha256, how, origin))
    if missing:
        raise weights_cache.WeightsError(
            f"could not provision into {root}:\n  "
            + "\n  ".join(missing)
            + "\nWith no network, point `household-sounds weights --from DIR` at a folder "
            "holding these files (their sha256 are pinned in components/pretrained/catalog.py)."
        )
    return done
