"""A tiny servable model (no weights) and tight REST limits, for the development server's bounds."""

import tensorflow as tf

from serving.dev_server import rest

NAME = "household_sounds"  # the served name, so the readiness probe can be run against it
LIMITS = rest.RestLimits(max_body_bytes=4096, timeout_s=0.5, workers=2, max_pending=3)


class TinyModel(tf.Module):
    """Two signatures over no weights: a WAV's length and a 4-sample waveform's sum."""

    @tf.function(input_signature=[tf.TensorSpec([None], tf.string, name="audio_wav")])
    def wav(self, audio_wav):
        return {"length": tf.strings.length(audio_wav)}

    @tf.function(input_signature=[tf.TensorSpec([None, 4], tf.float32, name="waveform")])
    def waveform(self, waveform):
        return {"total": tf.reduce_sum(waveform, axis=1)}
