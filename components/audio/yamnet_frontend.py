"""YAMNet's front end as TensorFlow ops: 16 kHz waveform → log-mel → 0.96 s patches.

A re-implementation of ``features.py`` of YAMNet (tensorflow/models, research/audioset/yamnet)
as the TFLite conversion computes it: the waveform is zero-padded at the end
to at least 15,600 samples (one patch) and then to a whole number of 0.48 s patch hops; frames of
400 samples (25 ms) every 160 (10 ms), not centred, periodic Hann window, 512-point FFT,
*magnitude* spectrum, 64 HTK mel bands 125–7,500 Hz, ``log(mel + 0.001)``; patches of 96 frames
every 48. The mel filterbank comes with the weights (``yamnet_weights``): the TFLite file stores
an int8-rounded one, to which its network was matched; the float ``yamnet.h5`` computes
``tf.signal.linear_to_mel_weight_matrix``.
Every function accepts ``[samples]`` or ``[batch, samples]`` (any leading dimensions).
"""

import tensorflow as tf

SAMPLE_RATE = 16_000
WINDOW_SAMPLES = 400  # 25 ms
HOP_SAMPLES = 160  # 10 ms
FFT_LENGTH = 512
MEL_BANDS = 64
MEL_MIN_HZ = 125.0
MEL_MAX_HZ = 7_500.0
LOG_OFFSET = 0.001
PATCH_FRAMES = 96  # 0.96 s
PATCH_HOP_FRAMES = 48  # 0.48 s
# YAMNet's pad_waveform: one patch needs 0.96 + 0.025 - 0.010 s; longer input is padded up to
# the next patch hop.
MIN_SAMPLES = (PATCH_FRAMES - 1) * HOP_SAMPLES + WINDOW_SAMPLES  # 15,600
PATCH_HOP_SAMPLES = PATCH_HOP_FRAMES * HOP_SAMPLES  # 7,680


def num_patches(num_samples: int) -> int:
    """How many patches a waveform of ``num_samples`` samples yields (at least one)."""
    extra = max(0, num_samples - MIN_SAMPLES)
    return 1 + -(-extra // PATCH_HOP_SAMPLES)


def pad_waveform(waveforms: tf.Tensor) -> tf.Tensor:
    """Zero-pads the last axis to ``MIN_SAMPLES + k * PATCH_HOP_SAMPLES`` samples, as YAMNet."""
    waveforms = tf.convert_to_tensor(waveforms, tf.float32)
    length = tf.shape(waveforms)[-1]
    extra = tf.maximum(length, MIN_SAMPLES) - MIN_SAMPLES
    hops = -(-extra // PATCH_HOP_SAMPLES)
    padding = MIN_SAMPLES + hops * PATCH_HOP_SAMPLES - length
    rank = waveforms.shape.rank
    return tf.pad(waveforms, [[0, 0]] * (rank - 1) + [[0, padding]])


def log_mel_spectrogram(waveforms: tf.Tensor, mel_matrix: tf.Tensor) -> tf.Tensor:
    """``log(|STFT| · mel_matrix + 0.001)``: ``[..., frames, MEL_BANDS]`` of ``[..., samples]``.

    Args:
        waveforms: Float32 waveform(s) at ``SAMPLE_RATE`` (already padded, see ``pad_waveform``).
        mel_matrix: ``[FFT_LENGTH // 2 + 1, MEL_BANDS]`` filterbank.
    """
    spectrum = tf.signal.stft(
        tf.convert_to_tensor(waveforms, tf.float32),
        frame_length=WINDOW_SAMPLES,
        frame_step=HOP_SAMPLES,
        fft_length=FFT_LENGTH,
        window_fn=tf.signal.hann_window,  # periodic
        pad_end=False,
    )
    return tf.math.log(tf.tensordot(tf.abs(spectrum), mel_matrix, axes=1) + LOG_OFFSET)


def frame_patches(log_mel: tf.Tensor) -> tf.Tensor:
    """Patches ``[..., patches, 96, 64]`` of a ``[..., frames, 64]`` log-mel (hop 48 frames)."""
    return tf.signal.frame(log_mel, PATCH_FRAMES, PATCH_HOP_FRAMES, pad_end=False, axis=-2)


def log_mel_patches(waveforms: tf.Tensor, mel_matrix: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
    """The whole front end: pad, log-mel, patches.

    Args:
        waveforms: ``[samples]`` or ``[batch, samples]`` float32 at 16 kHz, any length.
        mel_matrix: Filterbank ``[257, 64]`` (``yamnet_weights.load()["mel_matrix"]``).

    Returns:
        ``(log_mel [..., frames, 64], patches [..., patches, 96, 64])``; a waveform of ``n``
        samples gives ``num_patches(n)`` patches.
    """
    log_mel = log_mel_spectrogram(pad_waveform(waveforms), mel_matrix)
    return log_mel, frame_patches(log_mel)
