"""YAMNet's pretrained weights from the weights cache, as float32 arrays in Keras layouts.

The weights are provisioned, never shipped (``components.pretrained``): the cache's ``yamnet/``
folder holds either the official float ``yamnet.h5`` (read by ``yamnet_h5``, batch
normalisation folded, computed mel filterbank) or the int8 TFLite conversion ``yamnet.tflite``
(read by ``yamnet_tflite``, dequantised, its stored mel filterbank), the h5 preferred. Both give
``<layer>.kernel`` / ``<layer>.bias`` for every convolution and the logits, and ``mel_matrix``
(``[257, 64]``). Each file's sha256 is checked before it is read, so a corrupted or swapped
file fails loudly instead of yielding a network that silently computes something else.
``weight_files`` names what a model built from them was built from (for its model card).
"""

import functools
from pathlib import Path

import numpy as np

from components.audio import yamnet_h5, yamnet_tflite
from components.pretrained import cache
from components.pretrained.catalog import YAMNET


def read(path: Path) -> dict[str, np.ndarray]:
    """The float32 weights of a YAMNet file (``.h5`` or ``.tflite``), unchecked."""
    path = Path(path)
    if path.suffix == ".h5":
        return yamnet_h5.read(path)
    if path.suffix == ".tflite":
        return yamnet_tflite.extract_weights(path.read_bytes())
    raise ValueError(f"{path}: not a YAMNet weights file (.h5 or .tflite)")


@functools.cache
def _read_once(path: Path) -> dict[str, np.ndarray]:
    weights = read(path)
    for array in weights.values():  # shared by every caller of the cache
        array.flags.writeable = False
    return weights


def load() -> dict[str, np.ndarray]:
    """The checked YAMNet weights of the cache (read once per process).

    Returns:
        ``{"<layer>.kernel": ..., "<layer>.bias": ..., "mel_matrix": ...}``, all float32.

    Raises:
        WeightsError: If the cache lacks YAMNet's weights or they differ from their sha256.
    """
    path, _ = cache.locate(YAMNET, "weights")
    return _read_once(path)


def weight_files() -> list[dict[str, str]]:
    """The cached YAMNet files (name, sha256) that ``load`` and ``class_names`` read."""
    return cache.provenance(YAMNET)


def class_names() -> tuple[str, ...]:
    """The 521 AudioSet display names, in the order of YAMNet's scores."""
    return cache.class_names(YAMNET)
