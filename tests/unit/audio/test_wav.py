"""The in-graph WAV parser: every encoding decodes as soundfile does; bad files are named."""

import io

import numpy as np
import pytest
import soundfile
import tensorflow as tf

from components.audio import wav
from tests.helpers import wavs
from tests.helpers.audio import tone, wav_bytes

decode = tf.function(wav.decode, input_signature=[tf.TensorSpec([], tf.string)])


def noise(frames: int, channels: int, seed: int = 0) -> np.ndarray:
    """Full-scale-ish random samples: every bit of every encoding matters."""
    samples = np.random.default_rng(seed).uniform(-0.99, 0.99, (frames, channels))
    return samples.astype(np.float32)


def assert_equals_soundfile(data: bytes) -> np.ndarray:
    expected, rate = soundfile.read(io.BytesIO(data), dtype="float32", always_2d=True)
    samples, got_rate = decode(tf.constant(data))
    assert int(got_rate) == rate
    np.testing.assert_array_equal(samples.numpy(), expected)
    return expected


@pytest.mark.parametrize("container", ["WAV", "WAVEX"])
@pytest.mark.parametrize("subtype", ["PCM_U8", "PCM_16", "PCM_24", "PCM_32", "FLOAT", "DOUBLE"])
@pytest.mark.parametrize("channels", [1, 2, 6])
def test_every_encoding_decodes_as_soundfile_does(subtype, container, channels):
    buffer = io.BytesIO()
    soundfile.write(buffer, noise(4001, channels), 16000, subtype=subtype, format=container)
    data = buffer.getvalue()
    fmt_at = data.find(b"fmt ") + 8
    if container == "WAVEX":  # what soundfile wrote is what the test claims to cover
        assert int.from_bytes(data[fmt_at : fmt_at + 2], "little") == wavs.EXTENSIBLE
    expected = assert_equals_soundfile(data)
    assert expected.shape == (4001, channels)


@pytest.mark.parametrize("channels", [1, 3, 8])
def test_one_to_eight_channels(channels):
    assert_equals_soundfile(wav_bytes(noise(4800, channels), 48000))


@pytest.mark.parametrize("rate", [8000, 11025, 16000, 22050, 24000, 32000, 44100, 48000, 96000])
def test_every_supported_rate_is_read_from_the_header(rate):
    assert_equals_soundfile(wav_bytes(tone(440.0, 0.2, rate), rate, "PCM_24"))


def hand_built(order: str, frames: int = 2205) -> bytes:
    """A stereo 16-bit file whose chunks come in ``order`` (f=fmt, d=data, L/c/x=LIST/cue/fact)."""
    samples = noise(frames, 2, seed=3)
    parts = {
        "f": wavs.chunk(b"fmt ", wavs.fmt_body(wavs.PCM, 2, 22050, 16)),
        "d": wavs.chunk(b"data", wavs.pcm16(samples)),
        "L": wavs.info_list(b"odd name"),
        "c": wavs.cue(2),
        "x": wavs.fact(frames),
        "o": wavs.chunk(b"junk", b"odd"),  # 3 bytes + pad byte
    }
    return wavs.riff(*(parts[key] for key in order))


@pytest.mark.parametrize("order", ["Lfd", "fLcd", "fdLc", "oxfLdoc", "fxdL", "oLfcxd"])
def test_extra_chunks_in_any_order_with_odd_sizes(order):
    assert_equals_soundfile(hand_built(order))


def test_data_before_fmt_is_read():
    # libsndfile refuses this order; the parser walks every chunk, so it reads it.
    frames = noise(1600, 1, seed=5)
    data = wavs.riff(
        wavs.chunk(b"data", wavs.pcm16(frames)),
        wavs.chunk(b"fmt ", wavs.fmt_body(wavs.PCM, 1, 16000, 16)),
    )
    samples, rate = decode(tf.constant(data))
    assert int(rate) == 16000
    expected = np.clip(np.round(frames * 32768), -32768, 32767) / 32768
    np.testing.assert_array_equal(samples.numpy(), expected.astype(np.float32))


def test_trailing_partial_frame_is_ignored_as_libsndfile_does():
    body = wavs.pcm16(noise(800, 2)) + b"\x01\x02"  # half a stereo frame left over
    data = wavs.riff(
        wavs.chunk(b"fmt ", wavs.fmt_body(wavs.PCM, 2, 8000, 16)), wavs.chunk(b"data", body)
    )
    assert assert_equals_soundfile(data).shape == (800, 2)


def _fmt(tag=wavs.PCM, channels=1, rate=16000, bits=16, **kwargs) -> bytes:
    return wavs.chunk(b"fmt ", wavs.fmt_body(tag, channels, rate, bits, **kwargs))


_DATA = wavs.chunk(b"data", wavs.pcm16(noise(1600, 1)))  # 100 ms, the shortest accepted
_GOOD = wavs.riff(_FMT := _fmt(), _DATA)


def _float_with(value: float) -> bytes:
    samples = noise(1600, 1)
    samples[50] = value
    return wav_bytes(samples, 16000, "FLOAT")


def _adpcm() -> bytes:
    buffer = io.BytesIO()
    soundfile.write(buffer, tone(440.0, 0.5, 16000), 16000, subtype="MS_ADPCM", format="WAV")
    return buffer.getvalue()


MALFORMED = {
    "empty": (b"", "not a WAV file"),
    "text": (b"this is not audio at all", "not a WAV file"),
    "not_wave": (wavs.riff(_FMT, _DATA, form=b"AVI "), "not a WAV file"),
    "rf64": (b"RF64" + _GOOD[4:], "not a WAV file"),
    "header_only": (_GOOD[:12], "no fmt chunk"),
    "no_fmt": (wavs.riff(wavs.info_list(), _DATA), "no fmt chunk"),
    "no_data": (wavs.riff(_FMT, wavs.info_list()), "no data chunk"),
    "fmt_cut": (_GOOD[:30], "fmt chunk runs past the end"),
    "fmt_short": (wavs.riff(wavs.chunk(b"fmt ", b"\1\0\1\0"), _DATA), "fmt chunk too short"),
    "data_cut": (
        _GOOD[: len(_GOOD) - 100],
        r"declares 3200 bytes but only 3100 follow \(truncated file\)",
    ),
    "no_samples": (wavs.riff(_FMT, wavs.chunk(b"data", b"")), "holds no audio samples"),
    "too_short": (
        wavs.riff(_FMT, wavs.chunk(b"data", wavs.pcm16(noise(1599, 1)))),
        r"audio too short: 1599 frames at 16000 Hz \(minimum 100 ms\)",
    ),
    "adpcm": (_adpcm(), "unsupported WAV format tag 2 "),
    "a_law": (wavs.riff(_fmt(tag=6, bits=8), _DATA), "unsupported WAV format tag 6 "),
    "extensible_other": (
        wavs.riff(_fmt(tag=wavs.EXTENSIBLE, sub_format=1, guid_tail=b"\x11" * 14), _DATA),
        "sub-format other than PCM or IEEE float",
    ),
    "extensible_short_fmt": (
        wavs.riff(wavs.chunk(b"fmt ", b"\xfe\xff" + wavs.fmt_body(1, 1, 16000, 16)[2:]), _DATA),
        "fmt chunk too short",
    ),
    "pcm_12": (
        wavs.riff(_fmt(bits=12, block_align=2), _DATA),
        "unsupported bit depth 12 for WAV format tag 1 ",
    ),
    "float_16": (wavs.riff(_fmt(tag=3), _DATA), "unsupported bit depth 16 for WAV format tag 3 "),
    "zero_channels": (
        wavs.riff(_fmt(channels=0, block_align=2), _DATA),
        r"unsupported channel count 0 \(supported: 1 to 8\)",
    ),
    "nine_channels": (wavs.riff(_fmt(channels=9), _DATA), "unsupported channel count 9 "),
    "bad_block_align": (
        wavs.riff(_fmt(channels=2, block_align=3), _DATA),
        r"bad WAV block align 3 \(channels \* bytes per sample = 4\)",
    ),
    "rate_12k": (
        wav_bytes(tone(440.0, 0.5, 12000), 12000),
        r"unsupported sample rate 12000 Hz \(supported: \[8000 11025 16000 22050 24000 32000 "
        r"44100 48000 96000\]\)",
    ),
    "too_long": (
        wav_bytes(np.zeros(8000 * (wav.MAX_INPUT_SECONDS + 1), np.float32), 8000, "PCM_U8"),
        f"audio longer than {wav.MAX_INPUT_SECONDS} s: 4808000 frames at 8000 Hz",
    ),
    "too_many_chunks": (
        wavs.riff(*[wavs.fact(1)] * (wav.MAX_CHUNKS + 1), _FMT, _DATA),
        f"more than {wav.MAX_CHUNKS} chunks",
    ),
    "nan": (_float_with(np.nan), "holds NaN or infinite samples"),
    "inf": (_float_with(np.inf), "holds NaN or infinite samples"),
}


@pytest.mark.parametrize("case", sorted(MALFORMED))
def test_malformed_file_raises_invalid_argument_naming_the_problem(case):
    data, message = MALFORMED[case]
    with pytest.raises(tf.errors.InvalidArgumentError, match=message):
        decode(tf.constant(data))


def test_good_file_of_the_malformed_table_decodes():
    # The broken variants above differ from this one only in what their name says.
    samples, rate = decode(tf.constant(_GOOD))
    assert samples.shape == (1600, 1) and int(rate) == 16000


def test_oversized_request_is_refused_before_parsing():
    data = _GOOD + b"\0" * (wav.MAX_WAV_BYTES - len(_GOOD) + 1)
    with pytest.raises(tf.errors.InvalidArgumentError, match="request too large"):
        decode(tf.constant(data))


def test_declared_duration_is_checked_on_the_header_alone():
    # The header declares 11 min of 16 kHz float64 audio but little follows: rejected as too long
    # from the header, before anything is read (a truncated file of allowed length says so).
    declared = 16000 * 8 * 660
    header = wavs.riff(_fmt(tag=3, bits=64))
    data = header + b"data" + declared.to_bytes(4, "little") + b"\0" * 64
    with pytest.raises(tf.errors.InvalidArgumentError, match="longer than 600 s"):
        decode(tf.constant(data))
