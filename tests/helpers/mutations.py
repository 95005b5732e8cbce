"""Hypothesis strategies that mutate real audio files: what the fault tests feed every decoder.

``mutated_files`` draws one of ``hostile.good_files()``'s seeds (WAV PCM_16, FLOAT stereo,
PCM_24 6-channel, FLAC, OGG/Vorbis) and applies one to three mutations: truncation, a bit flip,
a byte overwrite (often in the header) or an insertion anywhere, or an overwrite of a header
field that sizes a decode (WAV channels/rate/bits/data size, FLAC STREAMINFO rate/channels/
bits/total frames, Vorbis channels/rate with the Ogg CRCs recomputed so the change reaches the
decoder). The Beam decode fuzz (``test_decode_fuzz.py``) and the served-signature fuzz
(``test_serving_fuzz.py``) draw from this one strategy.
"""

import struct

from hypothesis import strategies as st

from tests.helpers import hostile

SEEDS = hostile.good_files()
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
def mutated_files(draw, seeds: tuple[str, ...] = tuple(sorted(SEEDS))) -> tuple[str, bytes]:
    """A seed file (one of ``seeds``) and a few mutations of it: ``(seed name, bytes)``."""
    name = draw(st.sampled_from(seeds))
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
