"""Parity of the TF featurizer with librosa (the reference), on synthetic and real audio.

Tolerances: log-mel within 0.01 dB at the 99th percentile and 0.05 dB at worst (float32 FFTs
in TF and NumPy round differently; the largest gaps sit in the quietest bins near the 80 dB
floor), MFCC and mean-MFCC relative error <= 1e-3 of the coefficient range.
"""

import librosa
import numpy as np
import pytest
import scipy.fft

from components.audio import features, waveform
from tests.helpers.audio import tone

SR = waveform.SAMPLE_RATE


def reference(samples: np.ndarray) -> dict[str, np.ndarray]:
    mel = librosa.feature.melspectrogram(
        y=samples, sr=SR, n_fft=2048, hop_length=512, n_mels=128, center=True, pad_mode="constant"
    )
    mfcc = librosa.feature.mfcc(
        y=samples, sr=SR, n_mfcc=32, n_fft=2048, hop_length=512, n_mels=128, pad_mode="constant"
    )
    return {"log_mel": librosa.power_to_db(mel), "mfcc": mfcc, "mean_mfcc": mfcc.mean(axis=1)}


def assert_parity(samples: np.ndarray) -> None:
    ours = {k: v.numpy()[0] for k, v in features.compute(samples[None]).items()}
    ref = reference(samples)
    db_error = np.abs(ours["log_mel"] - ref["log_mel"])
    assert np.percentile(db_error, 99) < 0.01, np.percentile(db_error, 99)
    assert db_error.max() < 0.05, db_error.max()
    for key in ("mfcc", "mean_mfcc"):
        relative = np.abs(ours[key] - ref[key]).max() / np.abs(ref[key]).max()
        assert relative <= 1e-3, (key, relative)


def clip(samples: np.ndarray) -> np.ndarray:
    return np.pad(samples, (0, waveform.CLIP_SAMPLES - samples.size))[: waveform.CLIP_SAMPLES]


def test_shapes_are_the_studys():
    out = features.compute(np.zeros((2, waveform.CLIP_SAMPLES), np.float32) + 0.1)
    assert out["log_mel"].shape == (2, 128, 216)
    assert out["mfcc"].shape == (2, 32, 216)
    assert out["mean_mfcc"].shape == (2, 32)


def test_mel_filterbank_equals_librosa():
    np.testing.assert_allclose(
        features.mel_filterbank(), librosa.filters.mel(sr=SR, n_fft=2048, n_mels=128), atol=1e-7
    )


def test_dct_matrix_is_scipys_orthonormal_dct_ii():
    x = np.random.default_rng(0).standard_normal((features.N_MELS, 7))
    expected = scipy.fft.dct(x, type=2, norm="ortho", axis=0)[: features.N_MFCC]
    np.testing.assert_allclose(features.dct_matrix() @ x, expected, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("freq", [110.0, 440.0, 3000.0, 9000.0])
def test_parity_on_tones(freq):
    assert_parity(tone(freq, 5.0, SR))


def test_parity_on_noise_bursts_and_short_padded_clip():
    rng = np.random.default_rng(1)
    bursts = (rng.standard_normal(SR * 5) * (np.arange(SR * 5) % 5000 < 800)).astype(np.float32)
    assert_parity(0.2 * bursts)
    assert_parity(clip(tone(1000.0, 0.4, SR)))


def test_parity_on_real_recordings(shared_audio):
    files = sorted((shared_audio / "librosa-data").glob("*.ogg"))[:6]
    files += sorted((shared_audio / "fsdd").glob("*.wav"))[:2]
    assert files
    for path in files:
        samples, _ = librosa.load(path, sr=SR, duration=5.0)
        assert_parity(clip(samples))


def test_features_are_deterministic_and_batch_independent():
    a, b = tone(440.0, 5.0, SR), tone(2000.0, 5.0, SR)
    single = features.compute(a[None])["log_mel"].numpy()[0]
    batched = features.compute(np.stack([a, b]))["log_mel"].numpy()[0]
    np.testing.assert_allclose(single, batched, atol=1e-4)
    np.testing.assert_array_equal(single, features.compute(a[None])["log_mel"].numpy()[0])
