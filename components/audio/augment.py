"""Waveform augmentation of oversampled training copies: pitch shift, then gaussian noise.

The rebalance step only *plans* copies (it draws an ``augment`` spec per manifest record); the
featurize step's ``DecodeClip`` calls ``apply`` on the decoded mono waveform before resampling,
so a copy is featurized exactly like an original. Augmentation is training-only and never part
of the served featurizer, which is why librosa's phase-vocoder pitch shift is acceptable here.
Noise is scaled to the requested SNR relative to the (shifted) clip's mean power and drawn from
a generator seeded by the spec, so a rerun produces the same samples.
"""

import librosa
import numpy as np


def add_noise(mono: np.ndarray, snr_db: float, seed: int) -> np.ndarray:
    """Adds white gaussian noise at ``snr_db`` below the clip's mean power.

    Args:
        mono: Waveform ``[samples]``.
        snr_db: Signal-to-noise ratio of the result, in dB.
        seed: Seed of the noise generator.

    Returns:
        The noisy waveform, float32. A silent clip stays silent (its SNR is undefined).
    """
    signal_power = float(np.mean(np.square(mono, dtype=np.float64)))
    noise_std = np.sqrt(signal_power / 10.0 ** (snr_db / 10.0))
    noise = np.random.default_rng(seed).standard_normal(mono.shape) * noise_std
    return (mono + noise).astype(np.float32)


def shift_pitch(mono: np.ndarray, sample_rate: int, semitones: float) -> np.ndarray:
    """Shifts the pitch by ``semitones`` keeping the duration (librosa phase vocoder)."""
    if semitones == 0:
        return mono.astype(np.float32)
    shifted = librosa.effects.pitch_shift(
        mono.astype(np.float32), sr=sample_rate, n_steps=float(semitones)
    )
    return shifted.astype(np.float32)


def apply(mono: np.ndarray, sample_rate: int, spec: dict) -> np.ndarray:
    """Applies an oversampled copy's augmentation to its source waveform.

    Args:
        mono: Decoded source clip ``[samples]`` at its native rate.
        sample_rate: Its sample rate in Hz.
        spec: The manifest record's ``augment`` object: ``semitones``, ``snr_db``, ``seed``.

    Returns:
        The augmented waveform, same length and rate, float32.
    """
    shifted = shift_pitch(mono, sample_rate, float(spec["semitones"]))
    return add_noise(shifted, float(spec["snr_db"]), int(spec["seed"]))
