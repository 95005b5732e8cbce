"""Audio the served model is called with in tests: clips per rate, a long clip, bad WAV files.

``BAD_WAVS`` maps a case to its bytes and the INVALID_ARGUMENT message the served signature (and
so the development server) must answer; ``SERVING_DEFAULT_OUTPUTS`` are the outputs of the
``serving_default`` signature.
"""

import io

import numpy as np
import soundfile

from components.artifacts import signature
from components.audio.wav import MAX_INPUT_SECONDS
from tests.helpers import wavs
from tests.helpers.audio import tone, wav_bytes


def sample_clip(rate: int, channels: int = 1) -> np.ndarray:
    # Different content per rate and channel; a 7 s clip exercises the trim, 3 s the padding.
    seconds = 7.0 if rate == 48000 else 3.0
    left = tone(350.0 + rate / 400, seconds, rate, 0.2) + tone(1200.0, seconds, rate, 0.1)
    if channels == 1:
        return left
    return np.stack([left, tone(900.0, seconds, rate, 0.3)], axis=1)


def three_sounds(rate: int) -> np.ndarray:
    """30 s of three different sounds, one every 10 s, each 2 s long and followed by silence
    (so a window starting with one looks like the padded 2 s clips the test model learned)."""
    parts = []
    for freq_hz in (200.0, 800.0, 1250.0):
        parts += [tone(freq_hz, 2.0, rate), np.zeros(8 * rate, np.float32)]
    return np.concatenate(parts)


def _adpcm() -> bytes:
    buffer = io.BytesIO()
    soundfile.write(buffer, tone(440.0, 1.0, 16000), 16000, subtype="IMA_ADPCM", format="WAV")
    return buffer.getvalue()


_GOOD_16K = wav_bytes(tone(440.0, 1.0, 16000), 16000)
BAD_WAVS = {
    "not_wav": (b"this is not audio at all", "not a WAV file"),
    "empty_bytes": (b"", "not a WAV file"),
    "no_samples": (wav_bytes(np.zeros(0, np.float32), 16000), "no audio samples"),
    "adpcm": (_adpcm(), "unsupported WAV format tag 17 "),
    "pcm_12": (
        wavs.riff(wavs.chunk(b"fmt ", wavs.fmt_body(wavs.PCM, 1, 16000, 12, 2)), b"data\0\0\0\0"),
        "unsupported bit depth 12 ",
    ),
    "truncated": (_GOOD_16K[:-1000], "declares 32000 bytes but only 31000 follow"),
    "claims_4gb": (
        wavs.overclaim(wav_bytes(tone(440.0, 0.023, 44100), 44100), 0xFFFFFFF0),
        "audio longer than 600 s: 2147483640 frames at 44100 Hz",  # judged on the header alone
    ),
    "one_sample": (
        wav_bytes(np.array([0.3], np.float32), 16000),
        "audio too short: 1 frames at 16000 Hz",
    ),
    "rate_12k": (wav_bytes(tone(440.0, 1.0, 12000), 12000), "unsupported sample rate 12000 Hz"),
    "too_long": (
        wav_bytes(np.zeros(8000 * (MAX_INPUT_SECONDS + 1), np.float32), 8000, "PCM_U8"),
        f"audio longer than {MAX_INPUT_SECONDS} s",
    ),
}


SERVING_DEFAULT_OUTPUTS = {
    signature.PROBABILITIES,
    signature.CLASS_INDEX,
    signature.CLASS_NAME,
    signature.MAX_PROBABILITIES,
    signature.CLIP_DURATION_S,
    *signature.WINDOW_OUTPUTS,
}
