"""The ``yamnet_embedding`` feature: a prepared 5 s clip → pooled YAMNet patch embeddings.

The clip the other features use (mono, 22,050 Hz, 5 s, from ``waveform.prepare``) is resampled
to YAMNet's 16 kHz with the project's resampler (``resample.py``), passed through YAMNet's front
end (``yamnet_frontend``: 10 patches of 0.96 s every 0.48 s) and its frozen MobileNetV1 trunk
(``yamnet.build_network``), and the 10 patch embeddings (1,024 each) are pooled into their mean
and their maximum, concatenated (2,048 values: mean first). Mean pooling alone lets the silence
that pads short clips (most of an ESC-50 clip can be zeros) dominate; the maximum keeps the
loudest event. ``YamnetEmbedding`` is a ``tf.Module``, so the Beam featurizer calls it on
batches and the served SavedModel holds the same trunk and runs the same ops: training and
serving share one path from the prepared clip on.
"""

import numpy as np
import tensorflow as tf

from components.audio import yamnet, yamnet_frontend, yamnet_weights
from components.audio.resample import output_length, resample
from components.audio.waveform import CLIP_SAMPLES, SAMPLE_RATE

YAMNET_SAMPLES = output_length(CLIP_SAMPLES, SAMPLE_RATE, yamnet_frontend.SAMPLE_RATE)  # 80,000
NUM_PATCHES = yamnet_frontend.num_patches(YAMNET_SAMPLES)  # 10


def to_yamnet_rate(clips: tf.Tensor) -> tf.Tensor:
    """``[batch, CLIP_SAMPLES]`` clips at 22,050 Hz → ``[batch, YAMNET_SAMPLES]`` at 16 kHz."""
    return tf.map_fn(
        lambda clip: resample(clip, SAMPLE_RATE, yamnet_frontend.SAMPLE_RATE),
        tf.ensure_shape(tf.convert_to_tensor(clips, tf.float32), [None, CLIP_SAMPLES]),
        fn_output_signature=tf.TensorSpec([YAMNET_SAMPLES], tf.float32),
    )


def pool(patch_embeddings: tf.Tensor) -> tf.Tensor:
    """``[batch, patches, 1024]`` → ``[batch, 2048]``: mean over patches, then maximum."""
    return tf.concat(
        [tf.reduce_mean(patch_embeddings, axis=1), tf.reduce_max(patch_embeddings, axis=1)], 1
    )


class YamnetEmbedding(tf.Module):
    """Prepared clips ``[batch, CLIP_SAMPLES]`` (22,050 Hz) → ``[batch, 2048]`` embeddings."""

    def __init__(self, weights: dict[str, np.ndarray] | None = None):
        """Builds the frozen trunk from ``weights`` (the provisioned ones when ``None``)."""
        super().__init__()
        weights = yamnet_weights.load() if weights is None else weights
        self.network = yamnet.build_network(weights)
        self._mel_matrix = tf.constant(weights["mel_matrix"])

    def __call__(self, clips: tf.Tensor) -> tf.Tensor:
        """The pooled embedding of every clip of a batch."""
        _, patches = yamnet_frontend.log_mel_patches(to_yamnet_rate(clips), self._mel_matrix)
        flat = tf.reshape(patches, [-1, yamnet_frontend.PATCH_FRAMES, yamnet_frontend.MEL_BANDS])
        embeddings = self.network(flat, training=False)
        return pool(tf.reshape(embeddings, [-1, NUM_PATCHES, yamnet.EMBEDDING_SIZE]))
