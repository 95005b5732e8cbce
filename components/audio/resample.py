"""Sample-rate conversion as TensorFlow ops: a polyphase windowed-sinc resampler.

Audio reaches the featurizer at whatever rate it was recorded (8 kHz speech corpora, 44.1 kHz
FSD50K, 48 kHz field recorders) and must be converted to the study's 22,050 Hz before the
spectrogram. The conversion has to be identical in the Beam job and inside the served
SavedModel, so it is written once, here, as TF ops. For a rate ratio ``up/down`` (reduced) the
output sample ``n = q*up + r`` depends on input ``q*down + offset_r`` and its neighbours through
phase ``r`` of a Kaiser-windowed sinc filter; framing the input with step ``down`` turns the whole
conversion into one matrix product ``frames @ phase_matrix``, computed as a strided 1-D
convolution. Where a cycle has few phases (44.1 → 22.05 kHz has one) that convolution has a single
output channel and runs ~4x below the machine's speed, so ``block_matrix`` stacks enough cycles
into one step to give it at least ``MIN_BLOCK_OUTPUTS`` (the same products, in the same order, so
the result is identical). ``resample_rows`` converts a batch of clips recorded at one rate in one
convolution (the Beam featurizer's path); each row's outputs are those of ``resample`` on that
row alone. Filter tables are computed with NumPy once per supported rate and embedded as
constants.
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
# Output samples per convolution step at least (measured, one core: 44.1 kHz → 22.05 kHz of a 5 s
# clip takes 2.2 ms one cycle per step, 0.56 ms with 16).
MIN_BLOCK_OUTPUTS = 16
# Input samples per row, about, when a long input is resampled as a batch of rows (see resample).
PART_SAMPLES = 1 << 22


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


@functools.cache
def block_matrix(source_rate: int, target_rate: int) -> tuple[np.ndarray, int, int, int]:
    """``phase_matrix`` repeated for ``G`` consecutive cycles: one step yields ``G * up`` samples.

    Args:
        source_rate: Input sample rate in Hz.
        target_rate: Output sample rate in Hz.

    Returns:
        ``(matrix, pad, step, outputs)``: a float32 ``[step + 2*pad, outputs]`` matrix whose
        columns ``g*up .. g*up + up - 1`` hold the phase matrix shifted down by ``g*down`` rows,
        the zeros to prepend, the input step (``G * down``) and the outputs per step (``G * up``).
    """
    up, down = rate_ratio(source_rate, target_rate)
    phases, pad = phase_matrix(source_rate, target_rate)
    cycles = -(-MIN_BLOCK_OUTPUTS // up)
    step = cycles * down
    matrix = np.zeros((step + 2 * pad, cycles * up), dtype=np.float32)
    for cycle in range(cycles):
        rows = slice(cycle * down, cycle * down + phases.shape[0])
        matrix[rows, cycle * up : (cycle + 1) * up] = phases
    return matrix, pad, step, cycles * up


def input_needed(num_output: int | tf.Tensor, source_rate: int, target_rate: int):
    """Input samples that determine the first ``num_output`` outputs (anything later is unused).

    A caller may drop the rest of a long clip before ``resample(..., max_output=num_output)``
    without changing the result.
    """
    if source_rate == target_rate:
        return num_output
    _, pad, step, outputs = block_matrix(source_rate, target_rate)
    return (num_output + outputs - 1) // outputs * step + pad


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
    matrix, pad, step, _ = block_matrix(source_rate, target_rate)
    # In int64: samples * up overflows int32 from ~4 min at 8 kHz (up = 441).
    num_out = output_length(tf.shape(waveform, out_type=tf.int64)[0], source_rate, target_rate)
    num_out = tf.cast(num_out, tf.int32)
    if max_output is not None:
        num_out = tf.minimum(num_out, max_output)
    # Input needed by the last frame (after the leading zeros); the rest is dropped before framing.
    needed = pad + input_needed(num_out, source_rate, target_rate)
    padded = tf.pad(waveform, [[pad, 0]])[:needed]
    padded = tf.pad(padded, [[0, tf.maximum(needed - tf.shape(padded)[0], 0)]])
    # A strided convolution computes frames @ matrix without materialising the frames (which
    # overlap: each input sample would be copied into several). TF's CPU kernel crashes on one
    # very long row (a segfault measured at 26.5M samples), so a long input is a batch of parts
    # of about PART_SAMPLES, each with the 2*pad samples its last frame reaches into the next.
    kernel = tf.constant(matrix[:, None, :])
    part = max(1, PART_SAMPLES // step) * step

    def in_parts() -> tf.Tensor:
        parts = (tf.shape(padded)[0] - 2 * pad + part - 1) // part
        rows = tf.pad(padded, [[0, parts * part + 2 * pad - tf.shape(padded)[0]]])
        rows = tf.signal.frame(rows, part + 2 * pad, part)
        return tf.nn.conv1d(rows[:, :, None], kernel, stride=step, padding="VALID")

    out = tf.cond(
        tf.shape(padded)[0] <= part + 2 * pad,
        lambda: tf.nn.conv1d(padded[None, :, None], kernel, stride=step, padding="VALID"),
        in_parts,
    )
    return tf.reshape(out, [-1])[:num_out]


def resample_rows(
    rows: tf.Tensor, lengths: tf.Tensor, source_rate: int, target_rate: int, num_output: int
) -> tf.Tensor:
    """Resamples a batch of zero-padded waveforms recorded at one rate, in one convolution.

    Row ``i`` of the result is ``resample(rows[i, :lengths[i]], ..., max_output=num_output)``
    followed by zeros up to ``num_output``: outside a row's own samples the convolution reads the
    zeros that ``resample`` pads with too, and outputs past the row's own length are zeroed.

    Args:
        rows: ``[batch, samples]`` float32, row ``i`` holding ``lengths[i]`` samples, then zeros.
            Samples past ``input_needed(num_output, ...)`` are not read, so a caller may cut the
            rows there (the rows are one convolution, not parts: keep them that short).
        lengths: ``[batch]`` integer sample counts.
        source_rate: Rate of the rows in Hz.
        target_rate: Wanted rate in Hz.
        num_output: Output samples per row.

    Returns:
        ``[batch, num_output]`` float32.
    """
    rows = tf.convert_to_tensor(rows, tf.float32)
    batch = tf.shape(rows)[0]
    if source_rate == target_rate:
        out = rows[:, :num_output]
    else:
        matrix, pad, step, _ = block_matrix(source_rate, target_rate)
        needed = pad + input_needed(num_output, source_rate, target_rate)
        padded = tf.pad(rows, [[0, 0], [pad, 0]])[:, :needed]
        padded = tf.pad(padded, [[0, 0], [0, tf.maximum(needed - tf.shape(padded)[1], 0)]])
        kernel = tf.constant(matrix[:, None, :])
        out = tf.nn.conv1d(padded[:, :, None], kernel, stride=step, padding="VALID")
        out = tf.reshape(out, [batch, -1])[:, :num_output]
    out = tf.pad(out, [[0, 0], [0, num_output - tf.shape(out)[1]]])
    lengths = tf.cast(lengths, tf.int64)
    valid = tf.minimum(output_length(lengths, source_rate, target_rate), num_output)
    return tf.where(tf.sequence_mask(valid, num_output), out, 0.0)
