"""Decoding audio files of any common format to float32 samples, with precise failure reasons.

The Beam featurizer reads clips in whatever container they come in (WAV of any bit depth, FLAC,
OGG/Vorbis, AIFF) through libsndfile (``soundfile``); the served model decodes 16-bit WAV
in-graph instead (``waveform.decode_wav``), and for such files both give the same samples
(integer PCM divided by 32,768). Every way a file can be unusable (empty, not audio, truncated,
zero-length, silent, non-finite samples, an unsupported rate, too large) raises
``AudioDecodeError`` with a short machine-readable ``reason`` so the caller can dead-letter it.
"""

import io
import re
from dataclasses import dataclass

import numpy as np
import soundfile

from components.audio.resample import SUPPORTED_RATES

MAX_FILE_BYTES = 256 * 1024 * 1024  # FSD50K's largest clip (30 s, 44.1 kHz, 16-bit) is 2.6 MB


class AudioDecodeError(ValueError):
    """A clip that cannot be featurized; ``reason`` is a stable short code, ``detail`` says why."""

    def __init__(self, reason: str, detail: str):
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail


@dataclass(frozen=True)
class DecodedAudio:
    """Samples of one file plus the facts about it that evaluation slices on."""

    samples: np.ndarray  # [frames, channels] float32
    sample_rate: int
    subtype: str  # e.g. PCM_16, PCM_24, FLOAT, VORBIS

    @property
    def channels(self) -> int:
        """Number of channels in the file."""
        return int(self.samples.shape[1])

    @property
    def duration_s(self) -> float:
        """Duration in seconds before any padding or trimming."""
        return self.samples.shape[0] / self.sample_rate

    def mono(self) -> np.ndarray:
        """Channel average, ``[frames]`` float32."""
        if self.samples.shape[1] == 1:  # most clips: numpy's mean over a length-1 axis is slow
            return self.samples[:, 0].copy()
        return self.samples.mean(axis=1, dtype=np.float32)


def decode_bytes(data: bytes) -> DecodedAudio:
    """Decodes a whole audio file held in memory.

    Args:
        data: The file's bytes.

    Returns:
        The decoded samples and their format.

    Raises:
        AudioDecodeError: With reason ``empty_file``, ``too_large``, ``undecodable``,
            ``no_samples``, ``non_finite``, ``silent`` or ``unsupported_rate``.
    """
    if not data:
        raise AudioDecodeError("empty_file", "file has 0 bytes")
    if len(data) > MAX_FILE_BYTES:
        raise AudioDecodeError("too_large", f"{len(data)} bytes > limit {MAX_FILE_BYTES}")
    try:
        with soundfile.SoundFile(io.BytesIO(data)) as sound:
            samples = sound.read(dtype="float32", always_2d=True)
            sample_rate, subtype = int(sound.samplerate), str(sound.subtype)
    except (soundfile.LibsndfileError, RuntimeError, TypeError, ValueError) as error:
        # libsndfile names the in-memory buffer ("Error opening <_io.BytesIO ...>: "); drop it.
        detail = re.sub(r"^Error opening <[^>]*>: ", "", str(error).strip())
        raise AudioDecodeError("undecodable", detail or type(error).__name__) from None
    if samples.shape[0] == 0:
        raise AudioDecodeError("no_samples", "file decodes to zero audio frames")
    if not np.all(np.isfinite(samples)):
        bad = int(np.size(samples) - np.count_nonzero(np.isfinite(samples)))
        raise AudioDecodeError("non_finite", f"{bad} NaN/Inf samples")
    if not np.any(samples):
        raise AudioDecodeError("silent", "every sample is exactly zero (digital silence)")
    if sample_rate not in SUPPORTED_RATES:
        raise AudioDecodeError(
            "unsupported_rate", f"{sample_rate} Hz; supported: {list(SUPPORTED_RATES)}"
        )
    return DecodedAudio(samples=samples, sample_rate=sample_rate, subtype=subtype)
