"""The pretrained-embedding feature sets: a prepared 5 s clip → a pooled backbone embedding.

Both start from the clip the other features use (mono, 22,050 Hz, 5 s, from
``waveform.prepare``), resampled to the backbone's rate with the project's resampler
(``resample.py``, ``at_rate``). ``yamnet_embedding``: YAMNet's front end at 16 kHz
(``yamnet_frontend``: 10 patches of 0.96 s every 0.48 s) and its frozen MobileNetV1 trunk
(``yamnet.build_network``); the 10 patch embeddings (1,024 each) are pooled into their mean and
their maximum, concatenated (2,048 values: mean first). Mean pooling alone lets the silence that
pads short clips (most of an ESC-50 clip can be zeros) dominate; the maximum keeps the loudest
event. ``mn04_embedding``: EfficientAT ``mn04_as`` at 32 kHz (``mn04_frontend`` log-mel, 500
frames, then the frozen MobileNetV3-0.4 trunk with its batch norms folded), pooled as the model
was trained, the mean of its last feature map (384 values; a mean+max variant of 768 probed
within a point of it on ESC-50, either way by fold). The 22,050 Hz clip carries nothing above
11 kHz, so mn04's mel bands from 11 to 15 kHz see nothing, in training and in serving alike.
Each embedding is a ``tf.Module``, so the Beam featurizer calls it on batches and the served
SavedModel holds the same trunk, its weights as constants (``frozen.py``), and runs the same
ops: training and serving share one path from the prepared clip on.
"""

from collections.abc import Mapping

import numpy as np
import tensorflow as tf

from components.audio import (
    frozen,
    mn04,
    mn04_frontend,
    mn04_weights,
    yamnet,
    yamnet_frontend,
    yamnet_weights,
)
from components.audio.resample import output_length, resample_rows
from components.audio.waveform import CLIP_SAMPLES, SAMPLE_RATE

YAMNET_SAMPLES = output_length(CLIP_SAMPLES, SAMPLE_RATE, yamnet_frontend.SAMPLE_RATE)  # 80,000
NUM_PATCHES = yamnet_frontend.num_patches(YAMNET_SAMPLES)  # 10


def at_rate(clips: tf.Tensor, rate: int) -> tf.Tensor:
    """``[batch, CLIP_SAMPLES]`` clips at 22,050 Hz → ``[batch, samples at rate]``."""
    clips = tf.ensure_shape(tf.convert_to_tensor(clips, tf.float32), [None, CLIP_SAMPLES])
    return resample_rows(clips, SAMPLE_RATE, rate)


def to_yamnet_rate(clips: tf.Tensor) -> tf.Tensor:
    """``[batch, CLIP_SAMPLES]`` clips at 22,050 Hz → ``[batch, YAMNET_SAMPLES]`` at 16 kHz."""
    return at_rate(clips, yamnet_frontend.SAMPLE_RATE)


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
        network = yamnet.build_network(weights)
        self.network = frozen.freeze(
            lambda patches: network(patches, training=False),
            tf.TensorSpec([None, yamnet_frontend.PATCH_FRAMES, yamnet_frontend.MEL_BANDS]),
        )
        self._mel_matrix = tf.constant(weights["mel_matrix"])

    def __call__(self, clips: tf.Tensor) -> tf.Tensor:
        """The pooled embedding of every clip of a batch."""
        _, patches = yamnet_frontend.log_mel_patches(to_yamnet_rate(clips), self._mel_matrix)
        flat = tf.reshape(patches, [-1, yamnet_frontend.PATCH_FRAMES, yamnet_frontend.MEL_BANDS])
        embeddings = self.network(flat)
        return pool(tf.reshape(embeddings, [-1, NUM_PATCHES, yamnet.EMBEDDING_SIZE]))


def mn04_log_mel(clips: tf.Tensor) -> tf.Tensor:
    """``[batch, CLIP_SAMPLES]`` clips at 22,050 Hz → mn04's input ``[batch, 128, 500]``."""
    return mn04_frontend.log_mel(at_rate(clips, mn04_frontend.SAMPLE_RATE))


class Mn04Embedding(tf.Module):
    """Prepared clips ``[batch, CLIP_SAMPLES]`` (22,050 Hz) → ``[batch, 384]`` embeddings."""

    def __init__(self, state_dict: Mapping[str, np.ndarray] | None = None):
        """The frozen trunk, BN folded, from a checkpoint (the provisioned one if ``None``)."""
        super().__init__()
        state_dict = mn04_weights.load() if state_dict is None else state_dict
        network = mn04.inference_network(state_dict)
        self.network = frozen.freeze(
            lambda log_mel: network(log_mel, training=False)[mn04.EMBEDDING],
            tf.TensorSpec([None, mn04_frontend.N_MELS, None]),
        )

    def __call__(self, clips: tf.Tensor) -> tf.Tensor:
        """The pooled embedding of every clip of a batch."""
        return self.of_log_mel(mn04_log_mel(clips))

    def of_log_mel(self, log_mel: tf.Tensor) -> tf.Tensor:
        """The pooled embedding of ``mn04_log_mel``'s output."""
        return self.network(log_mel)
