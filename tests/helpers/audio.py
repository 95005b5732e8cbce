"""Synthetic audio for the tests: deterministic tones and WAV files encoded in memory."""

import io

import numpy as np
import soundfile


def tone(freq_hz: float, seconds: float, rate: int, amplitude: float = 0.3) -> np.ndarray:
    """A sine tone with a little deterministic noise, float32 ``[samples]``."""
    t = np.arange(int(round(seconds * rate))) / rate
    noise = np.random.default_rng(int(freq_hz)).standard_normal(t.size)
    return (amplitude * np.sin(2 * np.pi * freq_hz * t) + 0.01 * noise).astype(np.float32)


def wav_bytes(samples: np.ndarray, rate: int, subtype: str = "PCM_16") -> bytes:
    """Encodes ``[samples]`` or ``[samples, channels]`` as a WAV file in memory."""
    buffer = io.BytesIO()
    soundfile.write(buffer, samples, rate, subtype=subtype, format="WAV")
    return buffer.getvalue()
