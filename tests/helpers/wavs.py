"""Hand-built WAV files for the parser tests: chunks in any order, odd sizes, broken headers.

soundfile writes well-formed files only; these helpers assemble RIFF/WAVE bytes chunk by chunk
so tests can add ``LIST``/``fact``/``cue `` chunks anywhere, odd-sized chunks with their pad byte,
and every kind of malformed header the served parser must reject.
"""

import struct

import numpy as np

PCM, IEEE_FLOAT, EXTENSIBLE = 1, 3, 0xFFFE
GUID_TAIL = b"\x00\x00\x00\x00\x10\x00\x80\x00\x00\xaa\x00\x38\x9b\x71"


def chunk(chunk_id: bytes, body: bytes) -> bytes:
    """One RIFF chunk: id, little-endian size, body and a pad byte when the size is odd."""
    return chunk_id + struct.pack("<I", len(body)) + body + (b"\0" if len(body) % 2 else b"")


def fmt_body(
    tag: int,
    channels: int,
    rate: int,
    bits: int,
    block_align: int | None = None,
    sub_format: int | None = None,
    guid_tail: bytes = GUID_TAIL,
) -> bytes:
    """A ``fmt `` chunk body: 16 bytes, or 40 for ``EXTENSIBLE`` (with ``sub_format``)."""
    align = channels * bits // 8 if block_align is None else block_align
    body = struct.pack("<HHIIHH", tag, channels, rate, rate * align, align, bits)
    if tag == EXTENSIBLE:
        mask = (1 << channels) - 1
        body += struct.pack("<HHIH", 22, bits, mask, sub_format) + guid_tail
    return body


def riff(*chunks: bytes, form: bytes = b"WAVE") -> bytes:
    """The RIFF header around ``chunks``."""
    payload = form + b"".join(chunks)
    return b"RIFF" + struct.pack("<I", len(payload)) + payload


def pcm16(samples: np.ndarray) -> bytes:
    """``[frames]`` or ``[frames, channels]`` float samples as interleaved 16-bit PCM bytes."""
    return (np.clip(np.round(samples * 32768), -32768, 32767).astype("<i2")).tobytes()


def info_list(text: bytes = b"household") -> bytes:
    """A ``LIST``/``INFO`` chunk with one odd-sized ``INAM`` entry."""
    return chunk(b"LIST", b"INFO" + chunk(b"INAM", text + b"\0"))


def cue(points: int = 1) -> bytes:
    """A ``cue `` chunk with ``points`` cue points."""
    body = struct.pack("<I", points) + b"".join(
        struct.pack("<II4sIII", k, 0, b"data", 0, 0, 100 * k) for k in range(points)
    )
    return chunk(b"cue ", body)


def fact(frames: int) -> bytes:
    """A ``fact`` chunk (sample count, as float files carry)."""
    return chunk(b"fact", struct.pack("<I", frames))


def overclaim(data: bytes, claimed: int) -> bytes:
    """A WAV file whose data chunk header claims ``claimed`` bytes, whatever follows it."""
    at = data.index(b"data") + 4
    return data[:at] + struct.pack("<I", claimed) + data[at + 4 :]
