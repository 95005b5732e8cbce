"""YAMNet's pretrained weights as shipped with the project: reading, checking, dequantising.

``yamnet_assets/yamnet_weights.npz`` holds the AudioSet-trained YAMNet of Google's
tensorflow/models (Apache-2.0; see ``yamnet_assets/NOTICE``), converted from a TFLite file by
``scripts/convert_yamnet.py``. Most kernels are int8 with one float32 scale per output channel,
kept as they are (3.9 MB instead of 15 MB of float32) and dequantised here exactly as TFLite does
(``float32(q) * scale``); the first convolution, two depthwise kernels and every bias are float32.
Keys are ``<layer>.kernel`` or ``<layer>.kernel.int8`` + ``<layer>.kernel.scale``, and
``<layer>.bias``, in Keras layouts (conv HWIO, depthwise ``(3, 3, C, 1)``, dense ``(in, out)``);
``mel_matrix`` (``[257, 64]``) is the front end's filterbank as stored in the same file. The file's
sha256 is checked on every load, so a corrupted or swapped file fails loudly instead of yielding
a network that silently computes something else.
"""

import csv
import functools
import hashlib
from pathlib import Path

import numpy as np

ASSETS = Path(__file__).resolve().parent / "yamnet_assets"
WEIGHTS_FILE = ASSETS / "yamnet_weights.npz"
CLASS_MAP_FILE = ASSETS / "yamnet_class_map.csv"
WEIGHTS_SHA256 = "e77d2741b37790f4e0c8e5cbfd52bdace14049a96fc6a33bf32850be643c9c6e"
INT8_SUFFIX = ".int8"
SCALE_SUFFIX = ".scale"


class WeightsError(ValueError):
    """The YAMNet weights file is missing, altered or not the one this code was written for."""


def sha256_of(path: Path) -> str:
    """Hex sha256 of a file's bytes."""
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def dequantise(arrays: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Turns ``name.int8`` + ``name.scale`` pairs into float32 ``name``; float arrays pass."""
    weights: dict[str, np.ndarray] = {}
    for key, value in arrays.items():
        if key.endswith(SCALE_SUFFIX):
            continue
        if key.endswith(INT8_SUFFIX):
            name = key.removesuffix(INT8_SUFFIX)
            scale = arrays[name + SCALE_SUFFIX]
            weights[name] = value.astype(np.float32) * scale.astype(np.float32)
        else:
            weights[key] = value.astype(np.float32)
    return weights


@functools.cache
def _load_checked(path: Path, expected_sha256: str) -> dict[str, np.ndarray]:
    if not path.is_file():
        raise WeightsError(
            f"YAMNet weights not found at {path}; reinstall the package or regenerate them with "
            "scripts/convert_yamnet.py"
        )
    actual = sha256_of(path)
    if actual != expected_sha256:
        raise WeightsError(
            f"YAMNet weights {path} have sha256 {actual}, expected {expected_sha256}: the file is "
            "corrupted or not the shipped conversion (see yamnet_assets/NOTICE)"
        )
    with np.load(path, allow_pickle=False) as data:
        weights = dequantise({key: data[key] for key in data.files})
    for array in weights.values():  # shared by every caller of the cache
        array.flags.writeable = False
    return weights


def load(path: Path = WEIGHTS_FILE, expected_sha256: str = WEIGHTS_SHA256) -> dict[str, np.ndarray]:
    """Reads, checks and dequantises a YAMNet weights file (cached per path).

    Args:
        path: The ``.npz`` file; the shipped one by default.
        expected_sha256: The sha256 its bytes must have.

    Returns:
        ``{"<layer>.kernel": ..., "<layer>.bias": ..., "mel_matrix": ...}``, all float32.

    Raises:
        WeightsError: If the file is missing or its sha256 differs.
    """
    return _load_checked(Path(path), expected_sha256)


@functools.cache
def class_names() -> tuple[str, ...]:
    """The 521 AudioSet display names, in the order of YAMNet's scores."""
    with CLASS_MAP_FILE.open(newline="", encoding="utf-8") as handle:
        return tuple(row["display_name"] for row in csv.DictReader(handle))
