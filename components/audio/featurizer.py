"""Prepared clips → the raw (unscaled) feature sets, flattened as the TFRecords store them.

The one entry point the Beam featurizer and the served model share: ``Featurizer(keys)`` takes
``[batch, CLIP_SAMPLES]`` clips (mono, 22,050 Hz, 5 s; ``waveform.prepare``) and returns
``{key: [batch, flat_size(key)]}`` for the requested feature sets (``feature_sets.py``),
computed by ``features.py`` (log-mel, MFCC, mean-MFCC) and ``embedding.py`` (the YAMNet and mn04
embeddings, and mn04's log-mel input, computed once when the mn04 embedding is asked for too).
The Beam job asks for the pipeline's ``feature_sets``; a served model asks only for the one its
classifier reads, so a model on MFCC runs no pretrained trunk, an embedding model's graph holds
only its own, and a fine-tuned mn04 model's graph holds mn04's front end (its trunk is the
model's).
"""

from collections.abc import Sequence

import tensorflow as tf

from components.audio import embedding, feature_sets, features, mn04_weights, yamnet_weights
from components.audio.feature_sets import MN04_EMBEDDING, MN04_LOG_MEL, YAMNET_EMBEDDING

SPECTRAL_KEYS: tuple[str, ...] = (features.LOG_MEL, features.MFCC, features.MEAN_MFCC)
# Each pretrained-embedding feature set and the weights module its trunk is built from.
WEIGHTS_OF = {YAMNET_EMBEDDING: yamnet_weights, MN04_EMBEDDING: mn04_weights}


def weight_files(keys: Sequence[str]) -> list[dict[str, str]]:
    """The pretrained files (backbone, file, sha256) computing ``keys`` reads from the cache."""
    return [file for key in keys if key in WEIGHTS_OF for file in WEIGHTS_OF[key].weight_files()]


class Featurizer(tf.Module):
    """Computes the raw feature sets ``keys`` of a batch of prepared clips."""

    def __init__(self, keys: Sequence[str] = feature_sets.ALL):
        """Builds what ``keys`` need (a pretrained trunk only for its embedding).

        Raises:
            ValueError: For a key that is not a feature set (``feature_sets.check``).
        """
        super().__init__()
        self.keys = feature_sets.check(keys)
        self.yamnet = embedding.YamnetEmbedding() if YAMNET_EMBEDDING in self.keys else None
        self.mn04 = embedding.Mn04Embedding() if MN04_EMBEDDING in self.keys else None

    def __call__(self, clips: tf.Tensor) -> dict[str, tf.Tensor]:
        """``{key: [batch, flat_size(key)]}`` float32 for ``[batch, CLIP_SAMPLES]`` clips."""
        batch = tf.shape(clips)[0]
        computed = {}
        if any(key in SPECTRAL_KEYS for key in self.keys):
            computed.update(features.compute(clips))
        if self.yamnet is not None:
            computed[YAMNET_EMBEDDING] = self.yamnet(clips)
        if MN04_LOG_MEL in self.keys or self.mn04 is not None:
            computed[MN04_LOG_MEL] = embedding.mn04_log_mel(clips)
        if self.mn04 is not None:
            computed[MN04_EMBEDDING] = self.mn04.of_log_mel(computed[MN04_LOG_MEL])
        return {key: tf.reshape(computed[key], [batch, -1]) for key in self.keys}
