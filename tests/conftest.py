"""Shared fixtures: synthetic audio and the path to the read-only shared samples."""

import io
from pathlib import Path

# kfp.local replaces builtins.print while it runs a pipeline, and numba's first import registers
# `print` by identity and checks it is reachable from its module; if that first import happens
# inside a test's kfp.local run, numba (and with it librosa) is broken for the rest of the
# worker process. Importing numba before any test runs keeps the order safe.
import numba  # noqa: F401
import numpy as np
import pytest
import soundfile

# The serving session fixtures (one exported model), shared by tests/serving and tests/faults.
pytest_plugins = ["tests.serving.fixtures"]

SHARED = Path(__file__).resolve().parents[2] / "shared"
AUDIO_SAMPLES = SHARED / "audio-samples"


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


@pytest.fixture
def shared_audio() -> Path:
    """The real recordings in ../shared/audio-samples (skips when ../shared is absent)."""
    if not AUDIO_SAMPLES.is_dir():
        pytest.skip("../shared/audio-samples is not present")
    return AUDIO_SAMPLES
