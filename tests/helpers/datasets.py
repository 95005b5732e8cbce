"""Tiny datasets in their real layouts on disk: an ESC-50 copy and a manifest CSV, short WAVs."""

import csv
from pathlib import Path

import numpy as np
import soundfile

ESC50_COLUMNS = ["filename", "fold", "target", "category", "esc10", "src_file", "take"]


def write_wav(path: Path, samples: int = 800, rate: int = 8000) -> None:
    """A short constant 16-bit WAV file (folders created)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    soundfile.write(path, np.full(samples, 0.1, np.float32), rate)


def write_esc50(root: Path, rows: list[list]) -> None:
    """``meta/esc50.csv`` with ``rows`` (``ESC50_COLUMNS``) and a WAV per row under ``audio/``."""
    (root / "meta").mkdir(parents=True)
    with (root / "meta" / "esc50.csv").open("w", newline="") as handle:
        csv.writer(handle).writerows([ESC50_COLUMNS, *rows])
    for row in rows:
        write_wav(root / "audio" / row[0])


def write_manifest_csv(root: Path, columns: list[str], rows: list[list]) -> None:
    """``manifest.csv`` with ``columns`` (``uri`` first) and a WAV per row at its ``uri``."""
    root.mkdir(parents=True, exist_ok=True)
    with (root / "manifest.csv").open("w", newline="") as handle:
        csv.writer(handle).writerows([columns, *rows])
    for row in rows:
        write_wav(root / row[0])
