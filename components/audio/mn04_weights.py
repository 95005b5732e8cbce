"""A PyTorch ``state_dict`` checkpoint read into NumPy arrays, without torch.

EfficientAT publishes ``mn04_as`` as a ``torch.save`` file: a zip archive whose ``<root>/data.pkl``
is a pickle of ``{name: tensor}`` in which every tensor is
``torch._utils._rebuild_tensor_v2(storage, offset, size, stride, ...)`` over a raw little-endian
storage ``<root>/data/<key>``, referenced through pickle's persistent ids. ``read_checkpoint``
unpickles that with a ``find_class`` that resolves only those few names (anything else in the
pickle is refused, so a checkpoint cannot run code) and returns one NumPy array per entry. It
takes the checkpoint's path and decides nothing about where checkpoints live; checking a file's
sha256 is the weights cache's job.
"""

import collections
import functools
import io
import pickle
import zipfile
from pathlib import Path

import numpy as np

from components.pretrained import cache
from components.pretrained.catalog import EFFICIENTAT

# torch storage classes → the dtype of their raw little-endian bytes.
STORAGE_DTYPES: dict[str, np.dtype] = {
    "FloatStorage": np.dtype("<f4"),
    "DoubleStorage": np.dtype("<f8"),
    "HalfStorage": np.dtype("<f2"),
    "LongStorage": np.dtype("<i8"),
    "IntStorage": np.dtype("<i4"),
    "ShortStorage": np.dtype("<i2"),
    "CharStorage": np.dtype("i1"),
    "ByteStorage": np.dtype("u1"),
    "BoolStorage": np.dtype("?"),
}


class CheckpointError(ValueError):
    """A checkpoint file is not a readable PyTorch ``state_dict`` zip, or does not fit a model."""


def _rebuild_tensor(
    storage: np.ndarray, offset: int, size: tuple[int, ...], stride: tuple[int, ...], *_: object
) -> np.ndarray:
    """Stand-in for ``torch._utils._rebuild_tensor_v2``: a strided view of a storage, copied."""
    if all(size):  # a tensor with no elements reads nothing
        last = offset + sum((n - 1) * s for n, s in zip(size, stride, strict=True))
        if offset < 0 or min(stride, default=0) < 0 or last >= storage.size:
            raise CheckpointError(f"tensor of size {size} runs past its storage of {storage.size}")
    view = np.lib.stride_tricks.as_strided(
        storage[offset:], shape=size, strides=[s * storage.itemsize for s in stride]
    )
    return np.array(view, order="C")  # a copy: storages are read-only and may be shared


class _StorageType:
    """What a ``torch.<X>Storage`` global unpickles to: the name that says the dtype."""

    def __init__(self, name: str):
        self.dtype = STORAGE_DTYPES[name]


class _StateDictUnpickler(pickle.Unpickler):
    def __init__(self, archive: zipfile.ZipFile, root: str):
        super().__init__(io.BytesIO(archive.read(f"{root}/data.pkl")))
        self._archive = archive
        self._root = root

    def find_class(self, module: str, name: str) -> object:
        if (module, name) == ("torch._utils", "_rebuild_tensor_v2"):
            return _rebuild_tensor
        if (module, name) == ("collections", "OrderedDict"):
            return collections.OrderedDict
        if module == "torch" and name in STORAGE_DTYPES:
            return _StorageType(name)
        raise CheckpointError(f"checkpoint pickle refers to {module}.{name}, not a plain tensor")

    def persistent_load(self, pid: object) -> np.ndarray:
        # ('storage', storage_type, key, location, numel)
        if not (isinstance(pid, tuple) and len(pid) == 5 and pid[0] == "storage"):
            raise CheckpointError(f"unexpected persistent id {pid!r}")
        _, storage_type, key, _, numel = pid
        raw = self._archive.read(f"{self._root}/data/{key}")
        storage = np.frombuffer(raw, storage_type.dtype)
        if storage.size < numel:
            raise CheckpointError(f"storage {key} holds {storage.size} values, expected {numel}")
        return storage


def read_checkpoint(path: Path | str) -> dict[str, np.ndarray]:
    """Reads a ``torch.save``-d ``state_dict`` into writable NumPy arrays.

    Args:
        path: The checkpoint (``.pt``) file.

    Returns:
        ``{name: array}`` in the checkpoint's order, arrays in torch's layout (conv OIHW).

    Raises:
        CheckpointError: If the file is not a zip with one ``data.pkl`` of plain tensors.
    """
    try:
        with zipfile.ZipFile(path) as archive:
            pickles = [name for name in archive.namelist() if name.endswith("/data.pkl")]
            if len(pickles) != 1:
                raise CheckpointError(f"{path}: expected one */data.pkl, found {pickles}")
            state = _StateDictUnpickler(archive, pickles[0].removesuffix("/data.pkl")).load()
    except (zipfile.BadZipFile, KeyError, pickle.UnpicklingError) as error:
        raise CheckpointError(f"{path} is not a readable PyTorch checkpoint: {error}") from error
    if not isinstance(state, dict) or not all(
        isinstance(value, np.ndarray) for value in state.values()
    ):
        raise CheckpointError(f"{path} does not hold a flat state_dict of tensors")
    return dict(state)


@functools.cache
def load() -> dict[str, np.ndarray]:
    """The checked ``mn04_as`` checkpoint of the weights cache (read once per process).

    Raises:
        WeightsError: If the cache lacks the checkpoint or it differs from its sha256.
    """
    path, _ = cache.locate(EFFICIENTAT, "weights")
    state = read_checkpoint(path)
    for array in state.values():  # shared by every caller of the cache
        array.flags.writeable = False
    return state


def weight_files() -> list[dict[str, str]]:
    """The cached EfficientAT files (name, sha256) that ``load`` and ``class_names`` read."""
    return cache.provenance(EFFICIENTAT)


def class_names() -> tuple[str, ...]:
    """The 527 AudioSet display names, in the order of ``mn04``'s logits."""
    return cache.class_names(EFFICIENTAT)
