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
the result is identical). Where a cycle has many phases (22,050 → 32,000 Hz has 640, each reading
34 of the frame's 475 inputs) the matrix is mostly zeros, so ``bands`` cuts its columns into runs
of neighbouring phases and each run is one matrix product over only the rows it reads: the
same non-zero products, about a seventh of the work. ``resample_rows`` converts a batch of
equal-length rows recorded at one rate in one step (the trunks' input rates); each row's outputs
are those of ``resample`` on that row alone. ``resample_padded_rows`` does the same for rows its
caller has already padded as ``padded_input`` lays them out (the Beam featurizer's preparation
builds them so in NumPy). Filter tables are computed with NumPy once per supported rate and
embedded as constants.
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


@functools.cache
def bands(source_rate: int, target_rate: int) -> tuple[tuple[int, np.ndarray], ...]:
    """``block_matrix`` as runs of neighbouring columns, each with only the rows it reads.

    Columns are taken in order while the run's rows (first to last non-zero) stay within twice
    the widest single column's, so a run does at most about twice the products its filters need.
    A matrix whose widest column is over half a step (a short block of few phases) stays one
    run: every run must fit in one step (``_convolve``).

    Returns:
        ``((first_row, matrix[first_row:last_row + 1, columns]), ...)``, columns in order.
    """
    matrix, _, step, _ = block_matrix(source_rate, target_rate)
    nonzero = matrix != 0
    first = nonzero.argmax(axis=0)
    last = matrix.shape[0] - 1 - nonzero[::-1].argmax(axis=0)
    widest = int((last - first).max()) + 1
    if 2 * widest > step:
        return ((0, matrix),)
    runs, start = [], 0
    for column in range(1, matrix.shape[1] + 1):
        if column == matrix.shape[1] or last[column] - first[start] + 1 > 2 * widest:
            rows = slice(int(first[start]), int(last[start:column].max()) + 1)
            runs.append((rows.start, matrix[rows, start:column]))
            start = column
    return tuple(runs)


def _convolve(padded: tf.Tensor, source_rate: int, target_rate: int) -> tf.Tensor:
    """``[rows, F·step + 2·pad]`` padded input → ``[rows, F, outputs]``: each frame × the matrix.

    One run (``bands``): a strided convolution, which computes the overlapping frames' products
    without materialising them. Several: the input is viewed once as rows of one step each;
    each run slices its rows of every frame (at most one step long) from that view, joining two
    slices where they straddle a step, and multiplies them by its columns: the same non-zero
    products as the convolution, in the same order (the results are identical, measured),
    without the zeros, and only the rows each run reads are copied.
    """
    _, pad, step, outputs = block_matrix(source_rate, target_rate)
    runs = bands(source_rate, target_rate)
    if len(runs) == 1:
        return tf.nn.conv1d(padded[:, :, None], tf.constant(runs[0][1][:, None, :]), step, "VALID")
    length = padded.shape[1] if padded.shape[1] is not None else tf.shape(padded)[1]
    num_frames = (length - 2 * pad) // step  # static when the length is
    # Frame f's rows [first, first + size) are in row f + first // step of this view, and a
    # run straddling two steps continues in the next row (zeros pad the view's last rows). The
    # input is F·step + 2·pad long (as every caller pads it) and pad < step where there are
    # several runs, so one pad makes it exactly F + 2 steps: no slice copies it again.
    extended = tf.pad(padded, [[0, 0], [0, 2 * (step - pad)]])
    steps = tf.reshape(extended, [-1, num_frames + 2, step])
    products = []
    for first, run in runs:
        products.append(tf.matmul(_rows(steps, num_frames, first, run.shape[0]), tf.constant(run)))
    return tf.reshape(tf.concat(products, 1), [-1, num_frames, outputs])


def _rows(steps: tf.Tensor, num_frames, first: int, size: int) -> tf.Tensor:
    """``[rows·F, size]``: rows ``[first, first + size)`` of each frame, from the step view."""
    step = steps.shape[2]
    row, start = divmod(first, step)
    parts = [steps[:, row : row + num_frames, start : start + size]]
    if start + size > step:  # the run straddles two steps
        parts.append(steps[:, row + 1 : row + 1 + num_frames, : start + size - step])
    joined = parts[0] if len(parts) == 1 else tf.concat(parts, 2)
    return tf.reshape(joined, [-1, size])


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
    _, pad, step, _ = block_matrix(source_rate, target_rate)
    # In int64: samples * up overflows int32 from ~4 min at 8 kHz (up = 441).
    num_out = output_length(tf.shape(waveform, out_type=tf.int64)[0], source_rate, target_rate)
    num_out = tf.cast(num_out, tf.int32)
    if max_output is not None:
        num_out = tf.minimum(num_out, max_output)
    # Input needed by the last frame (after the leading zeros); the rest is dropped before framing.
    needed = pad + input_needed(num_out, source_rate, target_rate)
    head = waveform[: needed - pad]  # one pad: leading zeros, and trailing ones if too short
    padded = tf.pad(head, [[pad, tf.maximum(needed - pad - tf.shape(head)[0], 0)]])
    # TF's CPU convolution crashes on one very long row (a segfault measured at 26.5M samples),
    # so a long input is a batch of parts of about PART_SAMPLES (``overlapping_parts``).
    part = max(1, PART_SAMPLES // step) * step

    def one_row() -> tf.Tensor:
        return _convolve(padded[None], source_rate, target_rate)

    def in_parts() -> tf.Tensor:
        return _convolve(overlapping_parts(padded, part, 2 * pad), source_rate, target_rate)

    if max_output is not None and input_needed(max_output, source_rate, target_rate) <= part + pad:
        out = one_row()  # the kept output never reaches past one row: no branch for parts
    else:
        out = tf.cond(tf.shape(padded)[0] <= part + 2 * pad, one_row, in_parts)
    return tf.reshape(out, [-1])[:num_out]


def overlapping_parts(padded: tf.Tensor, part: int, overlap: int) -> tf.Tensor:
    """``[samples]`` → ``[parts, part + overlap]``: row ``i`` starts at ``i * part`` (zero-padded).

    Each row holds the ``overlap`` samples its last frame reaches into the next. Built as rows of
    ``part`` plus the head of the next row: ``tf.signal.frame`` would do the same, but for a
    frame of ~2**22 samples its graph holds index ranges that large, which TF materialises when
    the function is first run (measured: +160 MB for a batch preparation's nine rate branches,
    every time a new function is traced, even when no input is long).
    """
    parts = (tf.shape(padded)[0] - overlap + part - 1) // part
    rows = tf.pad(padded, [[0, parts * part + overlap - tf.shape(padded)[0]]])
    body = tf.reshape(rows[: parts * part], [parts, part])
    heads = tf.concat([body[1:, :overlap], rows[None, parts * part :]], 0)
    return tf.concat([body, heads], 1)


def padded_input(num_output: int, source_rate: int, target_rate: int) -> tuple[int, int]:
    """``(lead, width)`` of a row padded as ``resample`` pads it for its first ``num_output``.

    ``lead`` zeros come first, then the input (at most ``width - lead`` samples are read), then
    zeros to ``width``: the layout ``resample_padded_rows`` takes.
    """
    if source_rate == target_rate:
        return 0, num_output
    _, pad, _, _ = block_matrix(source_rate, target_rate)
    return pad, pad + input_needed(num_output, source_rate, target_rate)


def resample_padded_rows(
    padded: tf.Tensor, source_rate: int, target_rate: int, num_output: int
) -> tf.Tensor:
    """The first ``num_output`` outputs of each row of ``[batch, width]`` padded rows.

    The rows are laid out as ``padded_input(num_output, ...)`` says (a caller that builds them
    so, in NumPy, saves the copy ``resample_rows`` makes to pad them).
    """
    if source_rate == target_rate:
        return padded[:, :num_output]
    out = _convolve(padded, source_rate, target_rate)
    return tf.reshape(out, [-1, out.shape[1] * out.shape[2]])[:, :num_output]


def resample_rows(
    rows: tf.Tensor, source_rate: int, target_rate: int, max_output: int | None = None
) -> tf.Tensor:
    """``resample`` of every row of a batch of equal, statically known length, in one step.

    The same filter and products as ``resample`` on each row, as one strided convolution over
    the batch (no loop over rows: a ``tf.map_fn`` of ``resample`` costs ~0.3 ms a clip more).

    Args:
        rows: ``[batch, samples]`` float32, ``samples`` known when the graph is built and at most
            ``PART_SAMPLES`` (longer waveforms go through ``resample``).
        source_rate: Their rate in Hz.
        target_rate: Wanted rate in Hz.
        max_output: If given, only the first ``max_output`` outputs of each row are computed
            (and only the input they read is padded and copied).

    Returns:
        ``[batch, output_length(samples)]`` float32, or ``[batch, max_output]`` if fewer.
    """
    rows = tf.convert_to_tensor(rows, tf.float32)
    samples = rows.shape[1]
    if samples is None or samples > PART_SAMPLES:
        raise ValueError(f"rows of {samples} samples: resample_rows needs a static length ≤ 2**22")
    if source_rate == target_rate:
        return rows if max_output is None else rows[:, :max_output]
    num_out = output_length(samples, source_rate, target_rate)
    if max_output is not None:
        num_out = min(num_out, max_output)
    lead, width = padded_input(num_out, source_rate, target_rate)
    kept = min(samples, width - lead)  # a slice of every sample copies nothing
    padded = tf.pad(rows[:, :kept], [[0, 0], [lead, width - lead - kept]])
    return resample_padded_rows(padded, source_rate, target_rate, num_out)
