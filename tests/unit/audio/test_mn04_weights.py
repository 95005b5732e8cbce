"""The torch-free checkpoint reader: the official file, hand-written archives, refusals.

The hand-written archives are the byte format ``torch.save`` writes (a zip holding
``<root>/data.pkl`` and raw storages ``<root>/data/<key>``), built here from pickle opcodes so
that the tests need no torch.
"""

import io
import pickle
import struct
import zipfile
from pathlib import Path

import numpy as np
import pytest

from components.audio import mn04_weights
from tests.helpers.paths import SHARED

CHECKPOINT = SHARED / "models" / "efficientat" / "mn04_as_mAP_432.pt"


def _unicode(text: str) -> bytes:
    data = text.encode()
    return pickle.BINUNICODE + struct.pack("<I", len(data)) + data


def _int(value: int) -> bytes:
    return pickle.BININT + struct.pack("<i", value)


def _ints(values: tuple[int, ...]) -> bytes:
    return pickle.MARK + b"".join(_int(v) for v in values) + pickle.TUPLE


def tensor_pickle(entries: dict[str, tuple[str, str, int, int, tuple, tuple]]) -> bytes:
    """A ``data.pkl``: ``{name: _rebuild_tensor_v2(storage, offset, size, stride, ...)}``.

    Each entry is ``(storage class, storage key, numel, offset, size, stride)``.
    """
    out = pickle.PROTO + b"\x02" + pickle.EMPTY_DICT + pickle.MARK
    for name, (storage, key, numel, offset, size, stride) in entries.items():
        persistent_id = (
            pickle.MARK
            + _unicode("storage")
            + pickle.GLOBAL
            + f"torch\n{storage}\n".encode()
            + _unicode(key)
            + _unicode("cpu")
            + _int(numel)
            + pickle.TUPLE
        )
        out += _unicode(name) + pickle.GLOBAL + b"torch._utils\n_rebuild_tensor_v2\n"
        out += pickle.MARK + persistent_id + pickle.BINPERSID + _int(offset)
        out += _ints(size) + _ints(stride) + pickle.NEWFALSE
        out += pickle.GLOBAL + b"collections\nOrderedDict\n" + pickle.EMPTY_TUPLE + pickle.REDUCE
        out += pickle.TUPLE + pickle.REDUCE
    return out + pickle.SETITEMS + pickle.STOP


def write_archive(path: Path, data_pkl: bytes, storages: dict[str, bytes], root="model") -> Path:
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr(f"{root}/data.pkl", data_pkl)
        for key, raw in storages.items():
            archive.writestr(f"{root}/data/{key}", raw)
        archive.writestr(f"{root}/version", "3\n")
    return path


def test_official_checkpoint_reads_without_torch():
    if not CHECKPOINT.is_file():
        pytest.skip("../shared/models/efficientat/mn04_as_mAP_432.pt is not present")
    state = mn04_weights.read_checkpoint(CHECKPOINT)
    assert len(state) == 312
    assert state["features.0.0.weight"].shape == (8, 1, 3, 3)
    assert state["classifier.5.weight"].shape == (527, 512)
    counters = [k for k in state if k.endswith("num_batches_tracked")]
    assert all(state[k].dtype == np.int64 and state[k].shape == () for k in counters)
    learned = [
        k for k in state if not k.endswith(("num_batches_tracked", "running_mean", "running_var"))
    ]
    assert sum(state[k].size for k in learned) == 983_599  # EfficientAT's parameter count
    assert all(state[k].dtype == np.float32 and np.isfinite(state[k]).all() for k in learned)


def test_offsets_strides_and_dtypes_are_honoured(tmp_path):
    floats = np.arange(10, dtype="<f4")
    data = tensor_pickle(
        {
            "transposed": ("FloatStorage", "0", 10, 1, (3, 2), (1, 3)),  # a view of [1:7]
            "count": ("LongStorage", "1", 1, 0, (), ()),
        }
    )
    path = write_archive(
        tmp_path / "x.pt", data, {"0": floats.tobytes(), "1": np.int64(7).tobytes()}
    )
    state = mn04_weights.read_checkpoint(path)
    assert list(state) == ["transposed", "count"]
    np.testing.assert_array_equal(state["transposed"], floats[1:7].reshape(2, 3).T)
    assert state["transposed"].flags.writeable and state["transposed"].flags.c_contiguous
    assert state["count"].dtype == np.int64 and state["count"] == 7


def test_tensor_past_its_storage_is_refused(tmp_path):
    data = tensor_pickle({"w": ("FloatStorage", "0", 4, 2, (4,), (1,))})
    path = write_archive(tmp_path / "x.pt", data, {"0": np.zeros(4, "<f4").tobytes()})
    with pytest.raises(mn04_weights.CheckpointError, match="past its storage"):
        mn04_weights.read_checkpoint(path)


def test_pickle_that_names_other_code_is_refused(tmp_path):
    data = pickle.dumps({"w": io.BytesIO}, protocol=2)  # any global beyond the tensor ones
    path = write_archive(tmp_path / "x.pt", data, {})
    with pytest.raises(mn04_weights.CheckpointError, match="_io.BytesIO"):
        mn04_weights.read_checkpoint(path)


def test_non_checkpoints_are_refused(tmp_path):
    not_zip = tmp_path / "a.pt"
    not_zip.write_bytes(b"not a zip")
    with pytest.raises(mn04_weights.CheckpointError, match="not a readable"):
        mn04_weights.read_checkpoint(not_zip)
    empty = tmp_path / "b.pt"
    zipfile.ZipFile(empty, "w").close()
    with pytest.raises(mn04_weights.CheckpointError, match="expected one"):
        mn04_weights.read_checkpoint(empty)
    missing_storage = write_archive(
        tmp_path / "c.pt", tensor_pickle({"w": ("FloatStorage", "9", 1, 0, (1,), (1,))}), {}
    )
    with pytest.raises(mn04_weights.CheckpointError, match="not a readable"):
        mn04_weights.read_checkpoint(missing_storage)
