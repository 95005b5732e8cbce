"""Waveform preparation as TensorFlow ops: mono, 22,050 Hz, exactly five seconds.

Every clip, whether it enters through the Beam featurizer (decoded by ``decode.py``) or through
the served model (WAV bytes decoded in-graph by ``wav.decode``), passes through
``prepare``: channels are averaged to mono, the rate is converted with ``resample.py`` and the
result is zero-padded or trimmed to ``CLIP_SAMPLES``. The Beam job prepares a batch at a time
(``RatePreparer``: the clips of one rate in one convolution, ``prepare_rows``), with the same
result per clip. The study worked at 22,050 Hz on 5 s clips; those numbers live here and nowhere
else.
"""

import functools
from collections.abc import Sequence

import numpy as np
import tensorflow as tf

from components.audio import wav
from components.audio.resample import (
    SUPPORTED_RATES,
    input_needed,
    output_length,
    padded_input,
    resample,
    resample_padded_rows,
)

SAMPLE_RATE = 22_050
CLIP_SECONDS = 5
CLIP_SAMPLES = SAMPLE_RATE * CLIP_SECONDS
# Bytes a buffer shared with TensorFlow must be aligned to (Eigen's largest, for AVX-512).
TF_ALIGNMENT = 64


def to_mono(waveform: tf.Tensor) -> tf.Tensor:
    """Averages a ``[samples, channels]`` waveform to ``[samples]``."""
    return tf.reduce_mean(tf.convert_to_tensor(waveform, tf.float32), axis=-1)


def fit_to_clip(waveform: tf.Tensor) -> tf.Tensor:
    """Zero-pads or trims a ``[samples]`` waveform to exactly ``CLIP_SAMPLES`` (keeps the start)."""
    waveform = waveform[:CLIP_SAMPLES]
    padded = tf.pad(waveform, [[0, CLIP_SAMPLES - tf.shape(waveform)[0]]])
    return tf.ensure_shape(padded, [CLIP_SAMPLES])


def prepare(mono: tf.Tensor, sample_rate: int) -> tf.Tensor:
    """Resamples a mono waveform recorded at ``sample_rate`` (a Python int) to a 5 s clip.

    Args:
        mono: ``[samples]`` float32 waveform.
        sample_rate: Its rate in Hz; must be one of ``SUPPORTED_RATES``.

    Returns:
        ``[CLIP_SAMPLES]`` float32 waveform at ``SAMPLE_RATE``.

    Raises:
        ValueError: If ``sample_rate`` is not supported.
    """
    if sample_rate not in SUPPORTED_RATES:
        raise ValueError(
            f"unsupported sample rate {sample_rate} Hz; supported: {list(SUPPORTED_RATES)}"
        )
    return fit_to_clip(resample(mono, sample_rate, SAMPLE_RATE, max_output=CLIP_SAMPLES))


def prepare_any_rate(mono: tf.Tensor, sample_rate: tf.Tensor) -> tf.Tensor:
    """Graph version of ``prepare`` for a rate known only at run time (read from a WAV header).

    Args:
        mono: ``[samples]`` float32 waveform.
        sample_rate: Scalar int32 tensor.

    Returns:
        ``[CLIP_SAMPLES]`` float32 waveform at ``SAMPLE_RATE``; an unsupported rate raises
        ``InvalidArgumentError`` naming the rate.
    """
    rates = tf.constant(SUPPORTED_RATES, tf.int32)
    matches = tf.equal(rates, tf.cast(sample_rate, tf.int32))
    tf.debugging.Assert(
        tf.reduce_any(matches),
        ["unsupported sample rate (Hz):", sample_rate, "supported:", rates],
    )
    branch = tf.argmax(tf.cast(matches, tf.int32), output_type=tf.int32)
    return tf.switch_case(
        branch, [lambda rate=rate: prepare(mono, rate) for rate in SUPPORTED_RATES]
    )


def samples_needed(sample_rate: int) -> int:
    """Leading samples of a clip at ``sample_rate`` that ``prepare`` uses; the rest can go."""
    return input_needed(CLIP_SAMPLES, sample_rate, SAMPLE_RATE)


def row_layout(sample_rate: int) -> tuple[int, int]:
    """``(lead, width)`` of the rows ``prepare_rows`` takes: ``lead`` zeros, the clip, zeros.

    The clip's first ``samples_needed(sample_rate)`` (``width - lead``) samples are read.
    """
    return padded_input(CLIP_SAMPLES, sample_rate, SAMPLE_RATE)


def prepare_rows(rows: tf.Tensor, lengths: tf.Tensor, sample_rate: int) -> tf.Tensor:
    """``prepare`` for a batch of clips recorded at one rate, in one convolution.

    Args:
        rows: ``[batch, width]`` float32 mono clips laid out as ``row_layout(sample_rate)``
            says (``pad_rows`` builds them): the resampler's leading zeros, each clip cut to
            ``samples_needed``, zeros.
        lengths: ``[batch]`` the clips' lengths in the rows (at most ``samples_needed``).
        sample_rate: Their rate in Hz (a Python int, one of ``SUPPORTED_RATES``).

    Returns:
        ``[batch, CLIP_SAMPLES]`` float32; row ``i`` is ``prepare(rows[i, :lengths[i]], rate)``:
        the convolution reads the zeros ``resample`` pads with past a clip's end, and the
        outputs past its own length are zeroed as ``fit_to_clip`` pads them.

    Raises:
        ValueError: If ``sample_rate`` is not supported.
    """
    if sample_rate not in SUPPORTED_RATES:
        raise ValueError(
            f"unsupported sample rate {sample_rate} Hz; supported: {list(SUPPORTED_RATES)}"
        )
    rows = tf.ensure_shape(
        tf.convert_to_tensor(rows, tf.float32), [None, row_layout(sample_rate)[1]]
    )
    out = resample_padded_rows(rows, sample_rate, SAMPLE_RATE, CLIP_SAMPLES)
    valid = tf.minimum(
        output_length(tf.cast(lengths, tf.int64), sample_rate, SAMPLE_RATE), CLIP_SAMPLES
    )
    return tf.cond(  # most clips fill the clip: no mask to build and apply (two passes)
        tf.reduce_all(tf.equal(valid, CLIP_SAMPLES)),
        lambda: out,
        lambda: tf.where(tf.sequence_mask(valid, CLIP_SAMPLES), out, 0.0),
    )


def pad_rows(
    monos: Sequence[np.ndarray], width: int, lead: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """Mono waveforms → ``[batch, width]`` float32 rows and ``[batch]`` lengths kept.

    Row ``i`` holds ``lead`` zeros, then ``monos[i]`` cut to ``width - lead`` samples, then zeros.
    The rows start on a ``TF_ALIGNMENT`` boundary, so ``shared_tensor`` can hand them to
    TensorFlow without a copy.
    """
    count = len(monos) * width
    buffer = np.zeros(count + TF_ALIGNMENT // 4, np.float32)
    start = (-buffer.ctypes.data % TF_ALIGNMENT) // 4
    rows = buffer[start : start + count].reshape(len(monos), width)
    lengths = np.zeros(len(monos), np.int64)
    for index, mono in enumerate(monos):
        lengths[index] = min(mono.size, width - lead)
        rows[index, lead : lead + lengths[index]] = mono[: lengths[index]]
    return rows, lengths


def shared_tensor(rows: np.ndarray) -> tf.Tensor:
    """``rows`` as a tensor over the same memory (DLPack), where ``convert_to_tensor`` copies.

    A batch of 32 clips at 44.1 kHz is 28 MB: the copy cost ~0.25 ms a clip (measured). TF's
    kernels need ``TF_ALIGNMENT``-aligned memory (a misaligned import aborts the process in a
    later op), so anything else is copied as before.
    """
    if rows.ctypes.data % TF_ALIGNMENT or not rows.flags.c_contiguous:
        return tf.convert_to_tensor(rows)
    return tf.experimental.dlpack.from_dlpack(rows.__dlpack__())


class RatePreparer:
    """Prepares decoded clips of any rates, one graph call per rate: what the Beam job batches.

    Calling it on ``(monos, rates)`` returns every clip prepared, ``[len(monos), CLIP_SAMPLES]``,
    in the given order, each equal to ``prepare`` of that clip alone. The clips of one rate are
    cut to ``samples_needed`` and prepared together (``prepare_rows``), whose function is traced
    the first time that rate is seen, so a process pays for the rates its data holds, not for
    every supported one.
    """

    def __init__(self):
        """No rate traced yet."""
        self._by_rate: dict[int, tf.types.experimental.PolymorphicFunction] = {}

    def _prepare(self, rate: int) -> tf.types.experimental.PolymorphicFunction:
        if rate not in self._by_rate:
            # setdefault: threads that miss the same rate at once share one function (one trace)
            self._by_rate.setdefault(
                rate,
                tf.function(
                    functools.partial(prepare_rows, sample_rate=rate),
                    input_signature=[
                        tf.TensorSpec([None, row_layout(rate)[1]], tf.float32),
                        tf.TensorSpec([None], tf.int64),
                    ],
                    autograph=False,  # plain TF ops: nothing for AutoGraph to convert
                ),
            )
        return self._by_rate[rate]

    def __call__(self, monos: Sequence[np.ndarray], rates: Sequence[int]) -> tf.Tensor:
        """``[len(monos), CLIP_SAMPLES]`` float32: ``prepare(monos[i], rates[i])`` in row ``i``."""
        if len(monos) != len(rates):
            raise ValueError(f"{len(monos)} clips but {len(rates)} rates")
        order, parts = [], []
        for rate in sorted(set(rates)):
            indices = [i for i, clip_rate in enumerate(rates) if clip_rate == rate]
            lead, width = row_layout(rate)
            rows, lengths = pad_rows([monos[i] for i in indices], width, lead)
            parts.append(self._prepare(rate)(shared_tensor(rows), lengths))
            order += indices
        if len(parts) == 1:
            return parts[0]
        return tf.gather(tf.concat(parts, 0), np.argsort(order))


def decode_wav(wav_bytes: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
    """Decodes a WAV file of any common encoding in-graph (``wav.decode``: core TF ops only).

    Args:
        wav_bytes: Scalar string tensor holding a whole WAV file.

    Returns:
        ``(mono, sample_rate)``: ``[samples]`` float32 and a scalar int32 rate.
    """
    samples, sample_rate = wav.decode(wav_bytes)
    return to_mono(samples), sample_rate
