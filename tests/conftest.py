"""Shared fixtures: synthetic audio and the path to the read-only shared samples."""

from pathlib import Path

# kfp.local replaces builtins.print while it runs a pipeline, and numba's first import registers
# `print` by identity and checks it is reachable from its module; if that first import happens
# inside a test's kfp.local run, numba (and with it librosa) is broken for the rest of the
# worker process. Importing numba before any test runs keeps the order safe.
import numba  # noqa: F401
import pytest

# tone and wav_bytes live in tests/helpers/audio.py; many modules still import them from here.
from tests.helpers.audio import tone, wav_bytes  # noqa: F401

# The serving session fixtures (one exported model), shared by tests/serving and tests/faults.
pytest_plugins = ["tests.serving.fixtures"]

SHARED = Path(__file__).resolve().parents[2] / "shared"
AUDIO_SAMPLES = SHARED / "audio-samples"


@pytest.fixture
def shared_audio() -> Path:
    """The real recordings in ../shared/audio-samples (skips when ../shared is absent)."""
    if not AUDIO_SAMPLES.is_dir():
        pytest.skip("../shared/audio-samples is not present")
    return AUDIO_SAMPLES
