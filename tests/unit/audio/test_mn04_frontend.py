"""EfficientAT's front end as TF ops: mel matrix, frame count, a float64 NumPy twin, batching.

The parity with the official front end on the 17 reference clips is in ``test_mn04.py`` (it
shares the reference file); here the parts are checked on their own. The mel matrix is held to
the one the reference used (``kaldi_mel_128x513.npy``, ../shared/models/efficientat; skipped
without it): measured ≤ 1.8e-5 absolute, ≤ 5.1e-4 of each weight, and zero exactly where it is
zero.
"""

import numpy as np
import pytest
import tensorflow as tf

from components.audio import melbank, mn04_frontend
from tests.helpers.audio import tone
from tests.helpers.paths import SHARED

REFERENCE_MEL = SHARED / "models" / "efficientat" / "kaldi_mel_128x513.npy"
SR = mn04_frontend.SAMPLE_RATE


def numpy_log_mel(samples: np.ndarray) -> np.ndarray:
    """The front end in float64 NumPy, from its description."""
    x = samples.astype(np.float64)
    x = np.pad(x[1:] - 0.97 * x[:-1], 512, mode="reflect")
    frames = 1 + (x.size - 1024) // 320
    window = np.zeros(1024)
    window[112:912] = 0.5 - 0.5 * np.cos(2 * np.pi * np.arange(800) / 799)
    framed = np.stack([x[i * 320 : i * 320 + 1024] for i in range(frames)]) * window
    power = np.abs(np.fft.rfft(framed, 1024)) ** 2
    mel = power @ mn04_frontend.kaldi_mel_matrix().astype(np.float64).T
    return ((np.log(mel + 1e-5) + 4.5) / 5).T


def test_mel_matrix_is_the_one_the_network_was_trained_with():
    if not REFERENCE_MEL.is_file():
        pytest.skip("../shared/models/efficientat/kaldi_mel_128x513.npy is not present")
    reference = np.load(REFERENCE_MEL)
    ours = mn04_frontend.kaldi_mel_matrix()
    assert ours.shape == reference.shape == (128, 513) and ours.dtype == np.float32
    np.testing.assert_array_equal(ours > 0, reference > 0)
    assert np.abs(ours - reference).max() < 3e-5
    nonzero = reference > 0
    assert (np.abs(ours - reference)[nonzero] / reference[nonzero]).max() < 1e-3
    assert not ours[:, -1].any()


def test_mel_filters_are_kaldis_triangles():
    matrix = mn04_frontend.kaldi_mel_matrix()
    assert matrix.max() <= 1.0 and matrix.min() == 0.0
    peaks = matrix.argmax(axis=1)
    assert np.all(np.diff(peaks) >= 0)  # band centres rise with the band index
    # 15 kHz is bin 480: nothing above it, and band 0 starts at DC.
    assert not matrix[:, 481:].any() and matrix[0, 1] > 0


@pytest.mark.parametrize(
    ("samples", "frames"), [(514, 2), (9536, 30), (160_000, 500), (320_000, 1000)]
)
def test_frame_count(samples, frames):
    assert mn04_frontend.num_frames(samples) == frames
    log_mel = mn04_frontend.log_mel(np.full((1, samples), 0.1, np.float32))
    assert log_mel.shape == (1, 128, frames)


def test_too_short_waveform_is_refused_by_name():
    with pytest.raises(tf.errors.InvalidArgumentError, match="at least 514 samples"):
        mn04_frontend.log_mel(np.zeros((1, 513), np.float32))


def test_window_is_symmetric_hann_centred_in_the_fft():
    window = mn04_frontend.stft_window()
    assert window.shape == (1024,)
    assert not window[:112].any() and not window[912:].any()
    np.testing.assert_allclose(window[112:912], window[112:912][::-1], atol=1e-7)
    assert window[112] == 0.0 and window[911] == 0.0


@pytest.mark.parametrize("kind", ["tone", "noise", "silence"])
def test_log_mel_matches_float64_numpy(kind):
    rng = np.random.default_rng(0)
    samples = {
        "tone": tone(1000.0, 1.0, SR) + tone(7000.0, 1.0, SR),
        "noise": (0.1 * rng.standard_normal(SR)).astype(np.float32),
        "silence": np.zeros(SR, np.float32),
    }[kind]
    ours = mn04_frontend.log_mel(samples[None]).numpy()[0]
    np.testing.assert_allclose(ours, numpy_log_mel(samples), atol=1e-4)


def test_batch_rows_are_independent():
    a, b = tone(440.0, 0.5, SR), tone(3000.0, 0.5, SR)
    batched = mn04_frontend.log_mel(np.stack([a, b])).numpy()
    np.testing.assert_allclose(batched[1], mn04_frontend.log_mel(b[None]).numpy()[0], atol=1e-6)
    assert np.abs(batched[0] - batched[1]).max() > 0.1


@pytest.mark.parametrize("samples", [514, 515, 9536, 160_000, 160_321])
def test_log_mel_of_two_halves_equals_the_whole_stfts_to_the_bit(samples):
    waveforms = (0.1 * np.random.default_rng(samples).standard_normal((2, samples))).astype(
        np.float32
    )
    padded = mn04_frontend.centred(mn04_frontend.preemphasis(waveforms))
    whole = mn04_frontend.power_spectrogram(padded)
    halves = [mn04_frontend.power_spectrogram(span) for span in mn04_frontend.frame_halves(padded)]
    frames = int(whole.shape[1])
    assert [int(half.shape[1]) for half in halves] == [frames // 2, frames - frames // 2]
    np.testing.assert_array_equal(np.concatenate(halves, axis=1), whole.numpy())
    mel = melbank.apply(whole, mn04_frontend.kaldi_mel_matrix())
    expected = (tf.math.log(mel + 1e-5) + 4.5) / 5
    np.testing.assert_array_equal(mn04_frontend.log_mel(waveforms).numpy(), expected.numpy())
