"""Prepared clips → the raw (unscaled) feature sets, flattened as the TFRecords store them.

The one entry point the Beam featurizer and the served model share: ``Featurizer(keys)`` takes
``[batch, CLIP_SAMPLES]`` clips (mono, 22,050 Hz, 5 s; ``waveform.prepare``) and returns
``{key: [batch, flat_size(key)]}`` for the requested feature sets, computed by ``features.py``
(log-mel, MFCC, mean-MFCC) and ``embedding.py`` (``yamnet_embedding``, ``mn04_embedding``). The
Beam job asks for every feature set; a served model asks only for the one its classifier reads,
so a model on MFCC runs no pretrained trunk and an embedding model's graph holds only its own.
"""

from collections.abc import Sequence

import tensorflow as tf

from components.audio import examples, features, mn04_weights, yamnet_weights
from components.audio.features import MN04_EMBEDDING, YAMNET_EMBEDDING

SPECTRAL_KEYS: tuple[str, ...] = (features.LOG_MEL, features.MFCC, features.MEAN_MFCC)
# Each pretrained-embedding feature set and the weights module its trunk is built from.
WEIGHTS_OF = {YAMNET_EMBEDDING: yamnet_weights, MN04_EMBEDDING: mn04_weights}


def weight_files(keys: Sequence[str]) -> list[dict[str, str]]:
    """The pretrained files (backbone, file, sha256) computing ``keys`` reads from the cache."""
    return [file for key in keys if key in WEIGHTS_OF for file in WEIGHTS_OF[key].weight_files()]


class Featurizer(tf.Module):
    """Computes the raw feature sets ``keys`` of a batch of prepared clips."""

    def __init__(self, keys: Sequence[str] = examples.FEATURE_KEYS):
        """Builds what ``keys`` need (a pretrained trunk only for its embedding).

        Raises:
            ValueError: For a key that is not a feature set.
        """
        super().__init__()
        unknown = set(keys) - set(examples.FEATURE_KEYS)
        if unknown:
            raise ValueError(f"unknown feature set(s) {sorted(unknown)}; {examples.FEATURE_KEYS}")
        self.keys = tuple(keys)
        self.embeddings = {}
        if set(self.keys) & set(WEIGHTS_OF):
            from components.audio import embedding  # builds the trunks from the weights cache

            modules = {
                YAMNET_EMBEDDING: embedding.YamnetEmbedding,
                MN04_EMBEDDING: embedding.Mn04Embedding,
            }
            self.embeddings = {key: modules[key]() for key in self.keys if key in modules}

    def __call__(self, clips: tf.Tensor) -> dict[str, tf.Tensor]:
        """``{key: [batch, flat_size(key)]}`` float32 for ``[batch, CLIP_SAMPLES]`` clips."""
        batch = tf.shape(clips)[0]
        computed = {}
        if any(key in SPECTRAL_KEYS for key in self.keys):
            computed.update(features.compute(clips))
        for key, embed in self.embeddings.items():
            computed[key] = embed(clips)
        return {key: tf.reshape(computed[key], [batch, -1]) for key in self.keys}
