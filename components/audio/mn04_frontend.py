"""EfficientAT's front end as TensorFlow ops: 32 kHz waveform → the network's log-mel.

The input ``mn04`` was trained on (EfficientAT's mel module in evaluation mode), rebuilt from its
description: pre-emphasis ``y[n] = x[n + 1] − 0.97·x[n]`` (a valid two-tap filter, so one sample
shorter), a centred STFT (reflect padding of ``N_FFT // 2`` each side) with 1,024-point frames
every 320 samples (10 ms) under an 800-sample symmetric Hann window zero-padded to 1,024 in the
middle, the power spectrum, 128 Kaldi mel bands from 0 to 15 kHz (``kaldi_mel_matrix``, built
here with NumPy and embedded as a constant; its last column, the Nyquist bin, is zero; applied
by ``melbank``, over only the bins each run of bands weighs),
``log(mel + 1e-5)`` and the fixed normalisation ``(x + 4.5) / 5``. Input is ``[batch, samples]``
float32 (every waveform of a batch the same length); output ``[batch, 128, frames]``, bands first
as in ``features.py``, with ``frames = num_frames(samples)``.
"""

import functools

import numpy as np
import tensorflow as tf

from components.audio import melbank

SAMPLE_RATE = 32_000
PREEMPHASIS = 0.97
N_FFT = 1024
WINDOW_LENGTH = 800  # 25 ms
HOP_LENGTH = 320  # 10 ms
N_MELS = 128
F_MIN = 0.0
# EfficientAT's default upper edge: Nyquist less half of its (training-only) 2 kHz jitter range.
F_MAX = 15_000.0
LOG_OFFSET = 1e-5
NORM_SHIFT = 4.5
NORM_SCALE = 5.0
# Reflect padding needs more samples than it pads (after pre-emphasis takes one away).
MIN_SAMPLES = N_FFT // 2 + 2


def num_frames(num_samples: int) -> int:
    """Log-mel frames of a waveform of ``num_samples`` (≥ ``MIN_SAMPLES``) samples."""
    return 1 + (num_samples - 1) // HOP_LENGTH


def _kaldi_mel(hz: np.ndarray) -> np.ndarray:
    """``1127·ln(1 + f/700)`` in float32, the logarithm correctly rounded (see below)."""
    ratio = np.float32(1.0) + np.asarray(hz, np.float32) / np.float32(700.0)
    return np.float32(1127.0) * np.log(ratio.astype(np.float64)).astype(np.float32)


@functools.cache
def kaldi_mel_matrix(
    n_mels: int = N_MELS,
    n_fft: int = N_FFT,
    sample_rate: int = SAMPLE_RATE,
    f_min: float = F_MIN,
    f_max: float = F_MAX,
) -> np.ndarray:
    """Kaldi's triangular mel filters over the FFT bins, ``[n_mels, 1 + n_fft // 2]`` float32.

    Kaldi (``MelBanks``, no VTLN warping) places ``n_mels + 2`` edges evenly on the mel scale
    ``1127·ln(1 + f/700)`` from ``f_min`` to ``f_max`` and weighs the first ``n_fft // 2`` bins
    by unnormalised triangles interpolated *in mel*, not in Hz; the Nyquist bin gets no weight.
    The slopes are evaluated in float32, as in the matrix the network was trained with: the
    weight at a triangle's foot is a small difference of two mels, and exact arithmetic moves
    the smallest weights by up to 100 % of their value (it zeroes some), the log-mel by up to
    4e-4; float32 reproduces the trained matrix to 5e-4 of each weight.
    """
    mel_min = 1127.0 * np.log1p(f_min / 700.0)
    mel_step = (1127.0 * np.log1p(f_max / 700.0) - mel_min) / (n_mels + 1)
    edge = np.arange(n_mels, dtype=np.float32)[:, None]
    left, centre, right = (
        np.float32(mel_min) + (edge + np.float32(k)) * np.float32(mel_step) for k in range(3)
    )
    bins = _kaldi_mel(np.arange(n_fft // 2, dtype=np.float32) * np.float32(sample_rate / n_fft))
    rising = (bins - left) / (centre - left)
    falling = (right - bins) / (right - centre)
    weights = np.maximum(np.float32(0.0), np.minimum(rising, falling))
    return np.pad(weights, [(0, 0), (0, 1)])


@functools.cache
def stft_window() -> np.ndarray:
    """The 800-point symmetric Hann window, zero-padded centred to ``N_FFT`` samples."""
    window = np.hanning(WINDOW_LENGTH)  # symmetric: 0.5 − 0.5·cos(2πn / (L − 1))
    left = (N_FFT - WINDOW_LENGTH) // 2
    return np.pad(window, (left, N_FFT - WINDOW_LENGTH - left)).astype(np.float32)


def preemphasis(waveforms: tf.Tensor) -> tf.Tensor:
    """``x[..., 1:] − 0.97·x[..., :-1]``: one sample shorter than ``waveforms``."""
    return waveforms[..., 1:] - PREEMPHASIS * waveforms[..., :-1]


def centred(signals: tf.Tensor) -> tf.Tensor:
    """``signals`` reflect-padded by ``N_FFT // 2`` each side, as the centred STFT frames them."""
    return tf.pad(signals, [[0, 0], [N_FFT // 2, N_FFT // 2]], mode="REFLECT")


def power_spectrogram(padded: tf.Tensor) -> tf.Tensor:
    """Power STFT, ``[batch, frames, 1 + N_FFT // 2]``, of ``[batch, samples]`` already centred."""
    window = tf.constant(stft_window())
    spectrum = tf.signal.stft(
        padded,
        frame_length=N_FFT,
        frame_step=HOP_LENGTH,
        fft_length=N_FFT,
        window_fn=lambda length, dtype: window,
        pad_end=False,
    )
    return tf.math.square(tf.math.real(spectrum)) + tf.math.square(tf.math.imag(spectrum))


def frame_halves(padded: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
    """The centred signal as two spans whose frames are the first and second half of its frames.

    Each span holds exactly the samples its frames read (the first ends with its last frame, the
    second starts at its first), so the two STFTs give the whole one's frames, to the bit.
    """
    frames = 1 + (tf.shape(padded)[1] - N_FFT) // HOP_LENGTH
    half = frames // 2
    return padded[:, : (half - 1) * HOP_LENGTH + N_FFT], padded[:, half * HOP_LENGTH :]


def log_mel(waveforms: tf.Tensor) -> tf.Tensor:
    """The network's input, ``[batch, N_MELS, frames]``, of ``[batch, samples]`` at 32 kHz.

    The frames are computed as two independent halves (``frame_halves``) joined at the end, so
    a runtime with two inter-op threads, as the served model's TF Serving has, runs them on
    both cores (one 5 s clip: 3.2–3.4 → 2.3–2.6 ms; on one thread +0.1 ms); the result is the
    same to the bit.

    Args:
        waveforms: Float32 mono waveforms at ``SAMPLE_RATE``, at least ``MIN_SAMPLES`` long.

    Returns:
        ``(log(kaldi_mel_matrix · power + 1e-5) + 4.5) / 5`` per frame, bands first.

    Raises:
        tf.errors.InvalidArgumentError: When run on waveforms shorter than ``MIN_SAMPLES``.
    """
    waveforms = tf.ensure_shape(tf.convert_to_tensor(waveforms, tf.float32), [None, None])
    tf.debugging.assert_greater_equal(
        tf.shape(waveforms)[1],
        MIN_SAMPLES,
        message=f"mn04's front end needs at least {MIN_SAMPLES} samples (reflect padding)",
    )
    halves = []
    for span in frame_halves(centred(preemphasis(waveforms))):
        mel = melbank.apply(power_spectrogram(span), kaldi_mel_matrix())
        halves.append((tf.math.log(mel + LOG_OFFSET) + NORM_SHIFT) / NORM_SCALE)
    return tf.concat(halves, axis=-1)
