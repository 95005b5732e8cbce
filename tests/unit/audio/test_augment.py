"""Augmentation of oversampled copies: the requested SNR and pitch shift, deterministically."""

import numpy as np
import pytest

from components.audio import augment

RATE = 22_050


def sine(freq: float, seconds: float = 2.0, rate: int = RATE) -> np.ndarray:
    t = np.arange(int(seconds * rate)) / rate
    return (0.3 * np.sin(2 * np.pi * freq * t)).astype(np.float32)


def peak_hz(signal: np.ndarray, rate: int = RATE) -> float:
    """Dominant frequency with parabolic interpolation between FFT bins."""
    spectrum = np.abs(np.fft.rfft(signal * np.hanning(signal.size)))
    k = int(np.argmax(spectrum))
    a, b, c = np.log(spectrum[k - 1 : k + 2])
    offset = 0.5 * (a - c) / (a - 2 * b + c)
    return (k + offset) * rate / signal.size


def power_db(signal: np.ndarray) -> float:
    return 10 * np.log10(np.mean(np.square(signal, dtype=np.float64)))


@pytest.mark.parametrize("snr_db", [10.0, 20.0, 30.0])
def test_noise_has_requested_snr(snr_db):
    clean = sine(330.0, seconds=5.0)
    noisy = augment.apply(clean, RATE, {"semitones": 0.0, "snr_db": snr_db, "seed": 7})
    measured = power_db(clean) - power_db(noisy - clean)
    assert measured == pytest.approx(snr_db, abs=0.5)


@pytest.mark.parametrize("semitones", [-2.0, -0.7, 1.0, 2.0])
def test_pitch_shift_moves_a_tone_by_requested_semitones(semitones):
    shifted = augment.shift_pitch(sine(440.0), RATE, semitones)
    expected = 440.0 * 2 ** (semitones / 12)
    assert peak_hz(shifted) == pytest.approx(expected, rel=0.02)


def test_apply_is_deterministic_and_keeps_length():
    clip = sine(500.0, seconds=1.3, rate=16_000)
    spec = {"semitones": 1.5, "snr_db": 15.0, "seed": 3}
    first = augment.apply(clip, 16_000, spec)
    assert first.shape == clip.shape and first.dtype == np.float32
    np.testing.assert_array_equal(first, augment.apply(clip, 16_000, spec))
    assert not np.array_equal(first, augment.apply(clip, 16_000, {**spec, "seed": 4}))


def test_shifted_noisy_copy_keeps_snr_relative_to_shifted_clip():
    clip = sine(440.0, seconds=3.0)
    out = augment.apply(clip, RATE, {"semitones": -1.0, "snr_db": 12.0, "seed": 1})
    shifted = augment.shift_pitch(clip, RATE, -1.0)
    assert power_db(shifted) - power_db(out - shifted) == pytest.approx(12.0, abs=0.5)
