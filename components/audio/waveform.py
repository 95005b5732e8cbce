"""Waveform preparation as TensorFlow ops: mono, 22,050 Hz, exactly five seconds.

Every clip, whether it enters through the Beam featurizer (decoded by ``decode.py``) or through
the served model (WAV bytes decoded in-graph by ``wav.decode``), passes through
``prepare``: channels are averaged to mono, the rate is converted with ``resample.py`` and the
result is zero-padded or trimmed to ``CLIP_SAMPLES``. The study worked at 22,050 Hz on 5 s
clips; those numbers live here and nowhere else.
"""

import tensorflow as tf

from components.audio import wav
from components.audio.resample import SUPPORTED_RATES, input_needed, resample

SAMPLE_RATE = 22_050
CLIP_SECONDS = 5
CLIP_SAMPLES = SAMPLE_RATE * CLIP_SECONDS


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


def prepare_batch(monos: tf.RaggedTensor, sample_rates: tf.Tensor) -> tf.Tensor:
    """``prepare_any_rate`` for a batch of clips of any lengths and rates, in one graph call.

    Args:
        monos: ``[batch, (samples)]`` float32 ragged waveforms.
        sample_rates: ``[batch]`` int32 rates.

    Returns:
        ``[batch, CLIP_SAMPLES]`` float32 clips at ``SAMPLE_RATE``.
    """
    return tf.map_fn(
        lambda clip: prepare_any_rate(clip[0], clip[1]),
        (monos, sample_rates),
        fn_output_signature=tf.TensorSpec([CLIP_SAMPLES], tf.float32),
    )


def decode_wav(wav_bytes: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
    """Decodes a WAV file of any common encoding in-graph (``wav.decode``: core TF ops only).

    Args:
        wav_bytes: Scalar string tensor holding a whole WAV file.

    Returns:
        ``(mono, sample_rate)``: ``[samples]`` float32 and a scalar int32 rate.
    """
    samples, sample_rate = wav.decode(wav_bytes)
    return to_mono(samples), sample_rate
