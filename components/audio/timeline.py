"""Long audio as a timeline of overlapping 5 s windows, as TensorFlow ops for the served graph.

The models were trained on 5 s clips, so a longer recording is scored window by window: the
whole clip is resampled to 22,050 Hz once (``to_sample_rate``, the featurizer's resampler), then
cut into ``CLIP_SAMPLES``-long windows every ``HOP_SECONDS`` (2.5 s, so every instant is heard by
two windows). The last window is aligned to the end of the clip, so no window is mostly padding;
a clip of at most 5 s is one window, zero-padded exactly as ``waveform.prepare`` pads it, which
keeps short clips scored as before. ``window_starts`` says where the windows of a batch of clips
begin and ``windows`` cuts one clip into them.
"""

import tensorflow as tf

from components.audio.resample import SUPPORTED_RATES, resample
from components.audio.waveform import CLIP_SAMPLES, SAMPLE_RATE, fit_to_clip

HOP_SECONDS = 2.5
HOP_SAMPLES = int(HOP_SECONDS * SAMPLE_RATE)


def to_sample_rate(mono: tf.Tensor, sample_rate: tf.Tensor) -> tf.Tensor:
    """Resamples a whole ``[samples]`` waveform to ``SAMPLE_RATE``; the rate is a run-time tensor.

    Args:
        mono: ``[samples]`` float32 waveform.
        sample_rate: Scalar integer tensor, one of ``SUPPORTED_RATES`` (an unsupported rate
            raises ``InvalidArgumentError``).

    Returns:
        ``[ceil(samples * SAMPLE_RATE / sample_rate)]`` float32 samples.
    """
    rates = tf.constant(SUPPORTED_RATES, tf.int32)
    matches = tf.equal(rates, tf.cast(sample_rate, tf.int32))
    check = tf.debugging.Assert(
        tf.reduce_any(matches), ["unsupported sample rate (Hz):", sample_rate, "supported:", rates]
    )
    with tf.control_dependencies([check]):
        branch = tf.argmax(tf.cast(matches, tf.int32), output_type=tf.int32)
    return tf.switch_case(
        branch, [lambda rate=rate: resample(mono, rate, SAMPLE_RATE) for rate in SUPPORTED_RATES]
    )


def window_count(num_samples: tf.Tensor) -> tf.Tensor:
    """Windows a clip of ``num_samples`` (at ``SAMPLE_RATE``) is cut into: 1 up to 5 s."""
    num_samples = tf.cast(num_samples, tf.int64)
    beyond = tf.maximum(num_samples - CLIP_SAMPLES, 0)
    return 1 + (beyond + HOP_SAMPLES - 1) // HOP_SAMPLES


def window_starts(num_samples: tf.Tensor) -> tf.RaggedTensor:
    """First sample of each window of each clip: every ``HOP_SAMPLES``, the last one end-aligned.

    Args:
        num_samples: ``[clips]``, each clip's length at ``SAMPLE_RATE``.

    Returns:
        ``[clips, (window_count)]`` int64 offsets into each clip.
    """
    num_samples = tf.cast(num_samples, tf.int64)
    regular = tf.ragged.range(window_count(num_samples), dtype=tf.int64) * HOP_SAMPLES
    return tf.minimum(regular, tf.maximum(num_samples - CLIP_SAMPLES, 0)[:, None])


def windows(clip: tf.Tensor) -> tf.Tensor:
    """Cuts one clip at ``SAMPLE_RATE`` into its windows.

    Args:
        clip: ``[samples]`` float32, at least one sample.

    Returns:
        ``[window_count(samples), CLIP_SAMPLES]`` float32: the clip zero-padded when it is at
        most 5 s long, else windows every ``HOP_SAMPLES`` and one ending at the clip's end.
    """
    num_samples = tf.shape(clip)[0]

    def regular_and_last() -> tf.Tensor:
        count = tf.cast(window_count(num_samples), tf.int32)
        # HOP_SAMPLES divides CLIP_SAMPLES, so frame() reshapes instead of gathering.
        regular = tf.signal.frame(
            clip[: (count - 2) * HOP_SAMPLES + CLIP_SAMPLES], CLIP_SAMPLES, HOP_SAMPLES
        )
        return tf.concat([regular, clip[num_samples - CLIP_SAMPLES :][None]], axis=0)

    return tf.cond(num_samples <= CLIP_SAMPLES, lambda: fit_to_clip(clip)[None], regular_and_last)
