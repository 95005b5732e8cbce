"""Sample-rate conversion as TensorFlow ops: a polyphase windowed-sinc resampler.

Audio reaches the featurizer at whatever rate it was recorded (8 kHz speech corpora, 44.1 kHz
FSD50K, 48 kHz field recorders) and must be converted to the study's 22,050 Hz before the
spectrogram. The conversion has to be identical in the Beam job and inside the served
SavedModel, so it is written once, here, as TF ops. For a rate ratio ``up/down`` (reduced) the
output sample ``n = q*up + r`` depends on input ``q*down + offset_r`` and its neighbours through
phase ``r`` of a Kaiser-windowed sinc filter; framing the input with step ``down`` turns the whole
conversion into one matrix product ``frames @ phase_matrix``, computed as a strided 1-D
convolution. Filter tables are computed with
NumPy once per supported rate and embedded as constants.
"""

import functools
import math

import numpy as np
import tensorflow as tf

# Rates the served model and the featurizer accept. Anything else is rejected with a clear
# message rather than silently resampled by a slower generic path.
SUPPORTED_RATES: tuple[int, ...] = (8000, 11025, 16000, 22050, 24000, 32000, 44100, 48000, 96000)

ZERO_CROSSINGS = 16  # filter half-width, in zero crossings of the (narrowest) sinc
ROLLOFF = 0.945  # cutoff as a fraction of the lower Nyquist frequency
KAISER_BETA = 8.6  # stop-band attenuation of roughly 85 dB


def rate_ratio(source_rate: int, target_rate: int) -> tuple[int, int]:
    """Returns the reduced ``(up, down)`` factors converting ``source_rate`` to ``target_rate``."""
    g = math.gcd(source_rate, target_rate)
    return target_rate // g, source_rate // g


@functools.cache
def phase_matrix(source_rate: int, target_rate: int) -> tuple[np.ndarray, int]:
    """Builds the polyphase filter matrix for one rate pair.

    Args:
        source_rate: Input sample rate in Hz.
        target_rate: Output sample rate in Hz.

    Returns:
        ``(matrix, pad)``: a float32 ``[down + 2*pad, up]`` matrix whose column ``r`` holds the
        taps of output phase ``r``, and the number of zeros to prepend to the input.
    """
    up, down = rate_ratio(source_rate, target_rate)
    cutoff = min(1.0, up / down) * ROLLOFF  # in cycles per input sample, relative to Nyquist
    half_width = ZERO_CROSSINGS / cutoff  # in input samples
    pad = int(math.ceil(half_width))
    frame_length = down + 2 * pad
    matrix = np.zeros((frame_length, up), dtype=np.float64)
    taps = np.arange(-pad + 1, pad + 1)
    for phase in range(up):
        base, remainder = divmod(phase * down, up)
        offset = remainder / up - taps  # distance from the output instant to each input tap
        window = np.zeros_like(offset)
        inside = np.abs(offset) < half_width
        window[inside] = np.i0(KAISER_BETA * np.sqrt(1.0 - (offset[inside] / half_width) ** 2))
        weights = cutoff * np.sinc(cutoff * offset) * window / np.i0(KAISER_BETA)
        weights /= weights.sum()  # unit DC gain for every phase
        matrix[base + taps + pad, phase] = weights
    return matrix.astype(np.float32), pad


def output_length(num_samples: int | tf.Tensor, source_rate: int, target_rate: int):
    """Number of samples ``num_samples`` at ``source_rate`` become at ``target_rate`` (ceil)."""
    up, down = rate_ratio(source_rate, target_rate)
    return (num_samples * up + down - 1) // down


def resample(
    waveform: tf.Tensor, source_rate: int, target_rate: int, max_output: int | None = None
) -> tf.Tensor:
    """Resamples a mono float waveform from ``source_rate`` to ``target_rate``.

    Args:
        waveform: ``[samples]`` float32 tensor.
        source_rate: Rate of ``waveform`` in Hz (a Python int: one graph branch per rate).
        target_rate: Wanted rate in Hz.
        max_output: If given, only the first ``max_output`` output samples are computed, so a long
            input costs no more than the clip that will be kept.

    Returns:
        ``[ceil(samples * target_rate / source_rate)]`` samples, or at most ``max_output``.
    """
    waveform = tf.convert_to_tensor(waveform, tf.float32)
    if source_rate == target_rate:
        return waveform if max_output is None else waveform[:max_output]
    up, down = rate_ratio(source_rate, target_rate)
    matrix, pad = phase_matrix(source_rate, target_rate)
    num_out = output_length(tf.shape(waveform)[0], source_rate, target_rate)
    if max_output is not None:
        num_out = tf.minimum(num_out, max_output)
    num_frames = (num_out + up - 1) // up
    # Input needed by the last frame; everything past it is dropped before framing.
    needed = (num_frames - 1) * down + down + 2 * pad
    padded = tf.pad(waveform, [[pad, 0]])[:needed]
    padded = tf.pad(padded, [[0, tf.maximum(needed - tf.shape(padded)[0], 0)]])
    # A strided convolution computes frames @ matrix without materialising the frames (which
    # for 44.1 kHz -> 22.05 kHz would copy the input 35 times).
    out = tf.nn.conv1d(
        padded[None, :, None], tf.constant(matrix[:, None, :]), stride=down, padding="VALID"
    )
    return tf.reshape(out, [-1])[:num_out]
