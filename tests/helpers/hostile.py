"""Hostile audio files for the fault tests: real small files to mutate, and crafted FLAC bombs.

``good_files`` encodes short tones with soundfile (WAV PCM_16/FLOAT, FLAC, OGG/Vorbis), the
seeds that the fuzzer truncates, flips and overwrites. ``flac`` writes FLAC streams byte by byte
(STREAMINFO plus CONSTANT-subframe frames with their CRCs) so a test can make a header claim any
length: the 110-byte file that claims 2^36 - 1 frames, or a 1 MB file of constant samples that
decodes to gigabytes. ``place`` lays out the non-file hostile paths: a directory, a missing
file, a symbolic-link loop and a FIFO.
"""

import io
import os
import struct
from pathlib import Path

import numpy as np
import soundfile

MAX_FLAC_FRAMES = 2**36 - 1  # STREAMINFO's total-samples field has 36 bits
FLAC_BLOCK = 65535  # largest FLAC block: one ~15-byte CONSTANT frame decodes to 65,535 frames


def tone(seconds: float, rate: int, channels: int = 1, freq: float = 440.0) -> np.ndarray:
    """A sine tone with deterministic noise, ``[frames, channels]`` float32."""
    t = np.arange(int(round(seconds * rate))) / rate
    noise = np.random.default_rng(int(freq) + rate).standard_normal((t.size, channels))
    wave = 0.3 * np.sin(2 * np.pi * freq * t)[:, None] + 0.01 * noise
    return wave.astype(np.float32)


def encode(samples: np.ndarray, rate: int, fmt: str, subtype: str) -> bytes:
    """Encodes samples with soundfile into a file held in memory."""
    buffer = io.BytesIO()
    soundfile.write(buffer, samples, rate, format=fmt, subtype=subtype)
    return buffer.getvalue()


def good_files() -> dict[str, bytes]:
    """Small, valid seeds of every container the featurizer reads."""
    return {
        "wav16": encode(tone(0.3, 16000), 16000, "WAV", "PCM_16"),
        "wav_float_stereo": encode(tone(0.2, 44100, 2), 44100, "WAV", "FLOAT"),
        "wav24_6ch": encode(tone(0.1, 48000, 6), 48000, "WAV", "PCM_24"),
        "flac": encode(tone(0.3, 22050), 22050, "FLAC", "PCM_16"),
        "ogg": encode(tone(0.5, 16000), 16000, "OGG", "VORBIS"),
    }


def _crc_table(polynomial: int, width: int) -> list[int]:
    top, mask = 1 << (width - 1), (1 << width) - 1
    table = []
    for byte in range(256):
        crc = byte << (width - 8)
        for _ in range(8):
            crc = ((crc << 1) ^ polynomial) & mask if crc & top else (crc << 1) & mask
        table.append(crc)
    return table


_CRC8, _CRC16, _CRC32 = _crc_table(0x07, 8), _crc_table(0x8005, 16), _crc_table(0x04C11DB7, 32)


def _crc8(data: bytes) -> int:
    crc = 0
    for byte in data:
        crc = _CRC8[crc ^ byte]
    return crc


def _crc16(data: bytes) -> int:
    crc = 0
    for byte in data:
        crc = ((crc << 8) & 0xFFFF) ^ _CRC16[(crc >> 8) ^ byte]
    return crc


def ogg_with_valid_crcs(data: bytes) -> bytes:
    """Recomputes the CRC of every whole Ogg page, so a mutated header reaches the decoder.

    Without this, libogg drops any page whose bytes changed and a field overwrite never gets
    past the container.
    """
    out = bytearray(data)
    position = out.find(b"OggS")
    while 0 <= position and position + 27 <= len(out):
        segments = out[position + 26]
        body = position + 27 + segments
        if body > len(out):
            break
        end = body + sum(out[position + 27 : body])
        if end > len(out):
            break
        out[position + 22 : position + 26] = bytes(4)
        crc = 0
        for byte in out[position:end]:
            crc = ((crc << 8) & 0xFFFFFFFF) ^ _CRC32[(crc >> 24) ^ byte]
        out[position + 22 : position + 26] = crc.to_bytes(4, "little")
        position = out.find(b"OggS", end)
    return bytes(out)


def _utf8_number(number: int) -> bytes:
    """FLAC's UTF-8-like coding of a frame number."""
    if number < 0x80:
        return bytes([number])
    for length, limit in ((2, 0x800), (3, 0x10000), (4, 0x200000), (5, 0x4000000)):
        if number < limit:
            tail = []
            for _ in range(length - 1):
                tail.append(0x80 | (number & 0x3F))
                number >>= 6
            return bytes([((0xFF00 >> length) & 0xFF) | number, *reversed(tail)])
    raise ValueError(f"frame number {number} too large")


def streaminfo(rate: int, channels: int, bits: int, total_frames: int) -> bytes:
    """``fLaC`` marker plus a last STREAMINFO block declaring these facts."""
    packed = (rate << 44) | ((channels - 1) << 41) | ((bits - 1) << 36) | total_frames
    body = struct.pack(">HH", FLAC_BLOCK, FLAC_BLOCK) + bytes(6) + packed.to_bytes(8, "big")
    return b"fLaC" + bytes([0x80, 0, 0, 34]) + body + bytes(16)


def _constant_frame(number: int, value: int) -> bytes:
    head = b"\xff\xf8\x70\x00" + _utf8_number(number) + struct.pack(">H", FLAC_BLOCK - 1)
    frame = head + bytes([_crc8(head)]) + b"\x00" + struct.pack(">h", value)
    return frame + struct.pack(">H", _crc16(frame))


def flac(total_frames: int, size_bytes: int, rate: int = 44100, value: int = 1000) -> bytes:
    """A mono 16-bit FLAC of constant samples, at most ``size_bytes`` long, claiming a length.

    Each frame holds ``FLAC_BLOCK`` copies of ``value`` in ~15 bytes, so 1 MB decodes to about
    4.3 billion frames whatever ``total_frames`` the header claims.
    """
    out = bytearray(streaminfo(rate, 1, 16, total_frames))
    number = 0
    while True:
        frame = _constant_frame(number, value)
        if len(out) + len(frame) > size_bytes and number:
            return bytes(out)
        out += frame
        number += 1


def place(root: Path) -> dict[str, Path]:
    """Creates the non-file hostile paths under ``root``; returns them by name."""
    paths = {
        "directory": root / "directory.wav",
        "missing": root / "missing.wav",
        "symlink_loop": root / "loop_a.wav",
        "fifo": root / "fifo.wav",
    }
    paths["directory"].mkdir()
    os.symlink(root / "loop_b.wav", root / "loop_a.wav")
    os.symlink(root / "loop_a.wav", root / "loop_b.wav")
    os.mkfifo(paths["fifo"])
    return paths
