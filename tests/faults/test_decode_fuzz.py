"""Property: whatever a clip file holds, the Beam decode path never raises and loses nothing.

Real small WAV (PCM_16, FLOAT stereo, PCM_24 6-channel), FLAC and OGG/Vorbis files are mutated
by hypothesis (truncation, bit flips, byte overwrites and insertions anywhere, and overwrites of
the header fields that size a decode: WAV channels/rate/bits/data size, FLAC STREAMINFO
rate/channels/bits/total frames, Vorbis channels/rate with the Ogg CRCs recomputed so the change
reaches the decoder) and fed, as files, through ``DecodeClip`` exactly as the Beam job calls it.
Every clip must come out either as one example plus its stats, or as one dead-letter row with a
known reason, within a bounded allocation; the clips that come out are then featurized and their
features must be finite. The number of examples and the per-example deadline bound the time.
"""

import logging
import struct
import tracemalloc

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from components.artifacts.names import CLIP_STATS, DEAD_LETTER
from components.audio import decode, waveform
from components.audio.resample import SUPPORTED_RATES
from components.featurize import clips
from tests.faults import hostile

SEEDS = hostile.good_files()
MAX_TRACED_BYTES = 32 << 20  # per decode; the seeds are < 100 kB
EXTREMES = [0, 1, 2, 255, 2**15, 2**16 - 1, 2**31 - 1, 2**31, 2**32 - 1]


def _put(data: bytearray, offset: int, fmt: str, value: int) -> None:
    size = struct.calcsize(fmt)
    if 0 <= offset and offset + size <= len(data):
        data[offset : offset + size] = struct.pack(fmt, value % (1 << (8 * size)))


def _wav_field(data: bytearray, field: str, value: int) -> None:
    fmt_chunk, data_chunk = data.find(b"fmt "), data.find(b"data")
    offsets = {"channels": (fmt_chunk + 10, "<H"), "rate": (fmt_chunk + 12, "<I"),
               "byte_rate": (fmt_chunk + 16, "<I"), "block_align": (fmt_chunk + 20, "<H"),
               "bits": (fmt_chunk + 22, "<H"), "data_size": (data_chunk + 4, "<I"),
               "riff_size": (4, "<I")}  # fmt: skip
    offset, fmt = offsets[field]
    _put(data, offset, fmt, value)


def _flac_field(data: bytearray, field: str, value: int) -> None:
    if data[:4] != b"fLaC" or len(data) < 42:
        return
    info = int.from_bytes(data[8:42], "big")
    shift, width = {"rate": (172, 20), "channels": (169, 3), "bits": (164, 5),
                    "total_frames": (128, 36), "max_block": (240, 16)}[field]  # fmt: skip
    mask = ((1 << width) - 1) << shift
    info = (info & ~mask) | ((value % (1 << width)) << shift)
    data[8:42] = info.to_bytes(34, "big")


def _vorbis_field(data: bytearray, field: str, value: int) -> None:
    start = data.find(b"\x01vorbis")
    if start >= 0:
        offset, fmt = {"channels": (start + 11, "<B"), "rate": (start + 12, "<I")}[field]
        _put(data, offset, fmt, value)


@st.composite
def mutated_files(draw) -> tuple[str, bytes]:
    """A seed file and a few mutations of it."""
    name = draw(st.sampled_from(sorted(SEEDS)))
    data = bytearray(SEEDS[name])
    values = st.one_of(st.sampled_from(EXTREMES), st.integers(0, 2**36 - 1))
    for _ in range(draw(st.integers(1, 3))):
        kind = draw(st.sampled_from(["truncate", "flip", "overwrite", "insert", "field"]))
        if not data:
            break
        position = draw(st.integers(0, len(data) - 1))
        header = draw(st.integers(0, min(len(data), 128) - 1))
        if kind == "truncate":
            del data[position:]
        elif kind == "flip":
            data[header if draw(st.booleans()) else position] ^= 1 << draw(st.integers(0, 7))
        elif kind == "overwrite":
            fmt = draw(st.sampled_from(["<B", "<H", ">H", "<I", ">I", "<Q"]))
            _put(data, header, fmt, draw(values))
        elif kind == "insert":
            data[position:position] = draw(st.binary(min_size=1, max_size=64))
        elif name.startswith("wav"):
            field = draw(st.sampled_from(["channels", "rate", "byte_rate", "block_align", "bits",
                                          "data_size", "riff_size"]))  # fmt: skip
            _wav_field(data, field, draw(values))
        elif name == "flac":
            field = draw(st.sampled_from(["rate", "channels", "bits", "total_frames", "max_block"]))
            _flac_field(data, field, draw(values))
        else:
            _vorbis_field(data, draw(st.sampled_from(["channels", "rate"])), draw(values))
            data = bytearray(hostile.ogg_with_valid_crcs(bytes(data)))
    return name, bytes(data)


def decode_through_dofn(dofn: clips.DecodeClip, path: str) -> tuple[list, int]:
    """Runs the DoFn on one file; returns what it yielded and the peak traced allocation."""
    record = {"clip_id": "fuzz", "uri": path, "split": "train", "label_index": 3}
    tracemalloc.start()
    try:
        outputs = list(dofn.process(record))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return outputs, peak


def check_outcome(outputs: list) -> dict | None:
    """Asserts one clip's outcome is an example plus stats or one dead-letter row."""
    tagged = [out for out in outputs if not isinstance(out, dict)]
    examples = [out for out in outputs if isinstance(out, dict)]
    if examples:
        assert len(examples) == 1 and [t.tag for t in tagged] == [CLIP_STATS]
        example = examples[0]
        assert example["sample_rate"] in SUPPORTED_RATES
        assert example["samples"].dtype == np.float32 and example["samples"].ndim == 1
        assert 0 < example["samples"].size <= waveform.samples_needed(example["sample_rate"])
        assert np.all(np.isfinite(example["samples"]))
        return example
    assert len(tagged) == 1 and tagged[0].tag == DEAD_LETTER, outputs
    row = tagged[0].value
    assert row["reason"] in decode.REASONS and row["detail"], row
    assert row["clip_id"] == "fuzz" and row["uri"]
    return None


@pytest.fixture
def quiet():
    """Silences the DoFn's per-clip dead-letter warnings (hundreds of them)."""
    logging.disable(logging.WARNING)
    yield
    logging.disable(logging.NOTSET)


@pytest.mark.timeout(120)
@pytest.mark.filterwarnings("ignore:Generating overly large repr")
def test_mutated_files_are_featurized_or_dead_lettered(tmp_path, quiet):
    dofn = clips.DecodeClip()
    dofn.setup()
    accepted: list[dict] = []
    reasons: dict[str, int] = {}
    path = str(tmp_path / "clip")
    for name, data in SEEDS.items():  # warm up (first calls load codecs); seeds must decode
        (tmp_path / name).write_bytes(data)
        assert check_outcome(decode_through_dofn(dofn, str(tmp_path / name))[0]) is not None

    @settings(
        max_examples=300,
        deadline=3000,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )
    @given(mutated_files())
    def property_(case):
        _, data = case
        with open(path, "wb") as handle:
            handle.write(data)
        outputs, peak = decode_through_dofn(dofn, path)
        assert peak < MAX_TRACED_BYTES, peak
        example = check_outcome(outputs)
        if example is None:
            reason = outputs[0].value["reason"]
            reasons[reason] = reasons.get(reason, 0) + 1
        elif len(accepted) < 64:
            accepted.append(example)

    property_()
    # Mutations that leave a valid file must featurize to finite numbers, not poison the scaling.
    assert accepted and len(reasons) >= 3, reasons
    compute = clips.ComputeFeatures()
    compute.setup()
    for start in range(0, len(accepted), 16):
        for _, serialized in compute.process(accepted[start : start + 16]):
            example = waveform.tf.train.Example.FromString(serialized)
            for key in ("log_mel", "mfcc", "mean_mfcc"):
                values = np.array(example.features.feature[key].float_list.value)
                assert values.size and np.all(np.isfinite(values)), key
    print(f"accepted {len(accepted)}; dead-lettered by reason {reasons}")
