"""Decoding is bounded by what a file may cost, checked before decoding, with precise reasons."""

import os
import threading
import tracemalloc

import numpy as np
import pytest
import soundfile

from components.audio import decode, waveform
from tests.helpers import hostile
from tests.helpers.audio_files import decode_data


def reason_of(call) -> str:
    with pytest.raises(decode.AudioDecodeError) as caught:
        call()
    assert caught.value.detail
    return caught.value.reason


def traced_peak(call) -> int:
    """Peak bytes allocated (numpy buffers included) while ``call`` runs."""
    tracemalloc.start()
    try:
        call()
    except decode.AudioDecodeError:
        pass
    finally:
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
    return peak


def test_header_claims_are_refused_before_any_sample_is_decoded():
    tiny = hostile.flac(hostile.MAX_FLAC_FRAMES, 110)  # the 2^36-frame FLAC
    assert len(tiny) <= 110
    assert reason_of(lambda: decode_data(tiny)) == "too_long"
    assert traced_peak(lambda: decode_data(tiny)) < 1 << 20
    bomb = hostile.flac(hostile.FLAC_BLOCK * 66_000, 1_000_000)  # 1 MB → 4.3 G frames, honest
    assert reason_of(lambda: decode_data(bomb)) == "too_long"
    assert reason_of(lambda: decode_data(hostile.flac(0, 10_000))) == "unknown_length"
    assert reason_of(lambda: decode_data(hostile.flac(100, 200, rate=12000))) == (
        "unsupported_rate"
    )
    six = hostile.encode(hostile.tone(0.1, 16000, 6), 16000, "WAV", "PCM_16")
    limits = decode.DecodeLimits(max_channels=4)
    assert reason_of(lambda: decode_data(six, limits=limits)) == "too_many_channels"
    short = decode.DecodeLimits(max_seconds=0.05)
    assert reason_of(lambda: decode_data(six, limits=short)) == "too_long"


def test_samples_far_beyond_full_scale_are_refused():
    loud = np.full((800, 1), 1e30, np.float32)  # a flipped exponent bit in a FLOAT file
    data = hostile.encode(loud, 16000, "WAV", "FLOAT")
    assert reason_of(lambda: decode_data(data)) == "out_of_range"
    over = hostile.encode(np.full((1600, 1), 1.5, np.float32), 16000, "WAV", "FLOAT")
    assert decode_data(over).peak == 1.5  # a float file a little over full scale is audio


def test_a_long_constant_flac_decodes_block_by_block_in_bounded_memory():
    frames = 599 * 44100  # just under the 600 s limit: decoded, 26 M frames from 1 MB
    data = hostile.flac(frames, 1_000_000)
    decoded = decode_data(data, keep_frames=waveform.samples_needed)
    assert decoded.frames == frames and decoded.duration_s == pytest.approx(599)
    assert decoded.head.size == waveform.samples_needed(44100)
    assert decoded.rms == pytest.approx(1000 / 32768) and decoded.peak == pytest.approx(
        1000 / 32768
    )
    peak = traced_peak(lambda: decode_data(data, keep_frames=waveform.samples_needed))
    assert peak < 8 << 20, peak  # a whole-file read would hold 106 MB of float32


@pytest.mark.parametrize("channels", [1, 2, 6])
def test_block_decoding_equals_a_whole_file_read(channels):
    samples = hostile.tone(1.3, 22050, channels)
    data = hostile.encode(samples, 22050, "WAV", "PCM_24")
    whole = soundfile.read(hostile.io.BytesIO(data), dtype="float32", always_2d=True)[0]
    mono = whole[:, 0] if channels == 1 else whole.mean(axis=1, dtype=np.float32)
    for block in (1000, 4096 * channels, 2**18):
        limits = decode.DecodeLimits(block_samples=block)
        decoded = decode_data(data, limits=limits)
        assert decoded.frames == whole.shape[0] and decoded.channels == channels
        np.testing.assert_array_equal(decoded.mono(), mono)
        rms = float(np.sqrt(np.mean(np.square(mono, dtype=np.float64))))
        assert decoded.rms == pytest.approx(rms)
        assert decoded.peak == float(np.max(np.abs(mono)))
        kept = decode_data(data, keep_frames=lambda rate: 12345, limits=limits)
        np.testing.assert_array_equal(kept.mono(), mono[:12345])
        assert kept.frames == whole.shape[0] and kept.rms == pytest.approx(decoded.rms)


def test_a_flac_shorter_than_its_header_is_truncated():
    data = hostile.flac(hostile.FLAC_BLOCK * 10, 81)  # claims 10 FLAC frames, holds 3
    assert reason_of(lambda: decode_data(data)) == "truncated"


def test_paths_that_are_not_audio_files_have_precise_reasons(tmp_path):
    paths = hostile.place(tmp_path)
    done = threading.Event()
    reasons = {}

    def run():
        for name, path in paths.items():
            reasons[name] = reason_of(lambda path=path: decode.decode_file(str(path)))
        reasons["device"] = reason_of(lambda: decode.decode_file("/dev/zero"))
        done.set()

    threading.Thread(target=run, daemon=True).start()
    assert done.wait(20), "decoding a FIFO or device blocked"
    assert reasons == {
        "directory": "not_a_file",
        "missing": "unreadable",
        "symlink_loop": "symlink_loop",
        "fifo": "not_a_file",
        "device": "not_a_file",
    }
    (tmp_path / "empty.wav").write_bytes(b"")
    assert reason_of(lambda: decode.decode_file(str(tmp_path / "empty.wav"))) == "empty_file"
    assert reason_of(lambda: decode.decode_file(None)) == "unreadable"


def test_size_is_checked_with_stat_before_reading(tmp_path):
    sparse = tmp_path / "huge.wav"
    with open(sparse, "wb") as handle:  # 300 MB apparent size, nothing written
        handle.truncate(300 * 1024 * 1024)
    assert reason_of(lambda: decode.decode_file(str(sparse))) == "too_large"
    assert traced_peak(lambda: decode.decode_file(str(sparse))) < 1 << 20


def test_local_files_decode_every_good_format_and_close_their_descriptor(tmp_path):
    for name, data in hostile.good_files().items():
        path = tmp_path / f"{name}.bin"
        path.write_bytes(data)
        decoded = decode.decode_file(str(path))
        whole = soundfile.read(str(path), dtype="float32", always_2d=True)[0]
        np.testing.assert_array_equal(decoded.mono(), whole.mean(axis=1, dtype=np.float32))
        assert (decoded.frames, decoded.subtype) == (whole.shape[0], soundfile.info(path).subtype)
        assert not any(
            p
            for p in os.listdir("/proc/self/fd")
            if os.path.realpath(f"/proc/self/fd/{p}") == str(path)
        ), "file descriptor leaked"


@pytest.mark.parametrize(
    ("error", "reason"),
    [
        (PermissionError(13, "Permission denied", "/x.wav"), "permission_denied"),
        (OSError(40, "Too many levels of symbolic links", "/x.wav"), "symlink_loop"),
        (MemoryError(), "out_of_memory"),
        (RuntimeError("libsndfile internal"), "decoder_error"),
    ],
)
def test_every_decoder_failure_becomes_a_reason(error, reason):
    def fail():
        raise error

    assert reason_of(lambda: decode._guarded(fail)) == reason
    assert reason in decode.REASONS
