"""The serving SavedModel: WAV bytes in, class probabilities out, the training featurizer inside.

``ServingModule`` is a ``tf.Module`` with two ``tf.function`` signatures. ``serving_default``
takes a batch of whole WAV files (``audio_wav``, ``tf.string [None]``; 16-bit PCM, mono or
multi-channel, any rate in ``resample.SUPPORTED_RATES``), validates and decodes each in-graph,
and prepares it with ``waveform.prepare_any_rate``; ``waveform`` takes ``[None, CLIP_SAMPLES]``
float32 clips already at 22,050 Hz. Both then run the one featurizer (``featurizer.Featurizer``)
on the feature set the classifier reads — for a YAMNet model: 16 kHz, YAMNet's front end, its
trunk and the pooling, all in the graph — flattened as the TFRecords store it, apply the
tf.Transform graph of the training run and the classifier, and return ``probabilities``
``[B, 8]``, ``class_index`` ``[B]`` and ``class_name`` ``[B]``. Invalid inputs fail with
``InvalidArgumentError`` and a message saying what is wrong, which TF Serving returns to the
caller as ``INVALID_ARGUMENT``.
"""

import tensorflow as tf
import tensorflow_transform as tft

from components.artifacts.signature import (
    CLASS_INDEX,
    CLASS_NAME,
    DEFAULT_SIGNATURE,
    PROBABILITIES,
    WAV_INPUT,
    WAVEFORM_INPUT,
    WAVEFORM_SIGNATURE,
)
from components.audio import examples, waveform
from components.audio.featurizer import Featurizer
from components.audio.labels import CLASS_NAMES

WAV_SPEC = tf.TensorSpec([None], tf.string, name=WAV_INPUT)
WAVEFORM_SPEC = tf.TensorSpec([None, waveform.CLIP_SAMPLES], tf.float32, name=WAVEFORM_INPUT)


def _is_wav(wav_bytes: tf.Tensor) -> tf.Tensor:
    # Padding the 12-byte head keeps substr in range for shorter (even empty) inputs.
    head = tf.strings.join([tf.strings.substr(wav_bytes, 0, 12), "\0" * 12])
    return (tf.strings.substr(head, 0, 4) == "RIFF") & (tf.strings.substr(head, 8, 4) == "WAVE")


def decode_and_prepare(wav_bytes: tf.Tensor) -> tf.Tensor:
    """Validates, decodes and prepares one WAV file; a bad one raises ``InvalidArgumentError``.

    Args:
        wav_bytes: Scalar string tensor holding a whole WAV file.

    Returns:
        ``[CLIP_SAMPLES]`` float32 waveform at 22,050 Hz, mono, 5 s.
    """
    is_wav = tf.debugging.Assert(
        _is_wav(wav_bytes),
        ["audio_wav: not a WAV file (expected a RIFF/WAVE header); send 16-bit PCM WAV bytes"],
    )
    with tf.control_dependencies([is_wav]):
        # decode_wav itself rejects other encodings ("Can only read 16-bit WAV files...").
        mono, sample_rate = waveform.decode_wav(wav_bytes)
    num_samples = tf.shape(mono)[0]
    max_samples = waveform.MAX_INPUT_SECONDS * sample_rate
    checks = [
        tf.debugging.Assert(num_samples > 0, ["audio_wav: the WAV file holds no audio samples"]),
        tf.debugging.Assert(
            num_samples <= max_samples,
            [
                f"audio_wav: audio longer than {waveform.MAX_INPUT_SECONDS} s; samples:",
                num_samples,
                "at rate (Hz):",
                sample_rate,
            ],
        ),
    ]
    with tf.control_dependencies(checks):
        return waveform.prepare_any_rate(tf.identity(mono), sample_rate)


class ServingModule(tf.Module):
    """Featurizer + tf.Transform graph + classifier behind the two serving signatures."""

    def __init__(self, classifier: tf.Module, transform_graph_dir: str, feature: str):
        """Builds the module.

        Args:
            classifier: Maps ``[B, flat_size(feature)]`` transformed features to probabilities.
            transform_graph_dir: ``tft.TFTransformOutput`` directory of the training run.
            feature: Which transformed feature the classifier reads.
        """
        super().__init__()
        self.classifier = classifier
        self.transform_layer = tft.TFTransformOutput(transform_graph_dir).transform_features_layer()
        self.class_names = tf.constant(CLASS_NAMES)
        self.featurizer = Featurizer((feature,))
        self._feature = feature

    def classify(self, clips: tf.Tensor) -> dict[str, tf.Tensor]:
        """Outputs for ``[B, CLIP_SAMPLES]`` prepared clips."""
        batch = tf.shape(clips)[0]
        raw = self.featurizer(clips)  # the classifier's feature only: the transform graph
        # fills the others (unused) itself. It also passes clip_id and label; serving has neither.
        raw[examples.CLIP_ID] = tf.fill([batch], "")
        raw[examples.LABEL] = tf.zeros([batch], tf.int64)
        transformed = self.transform_layer(raw)[self._feature]
        flat = tf.reshape(transformed, [batch, examples.flat_size(self._feature)])
        probabilities = self.classifier(flat)
        class_index = tf.argmax(probabilities, axis=1, output_type=tf.int64)
        return {
            PROBABILITIES: probabilities,
            CLASS_INDEX: class_index,
            CLASS_NAME: tf.gather(self.class_names, class_index),
        }

    @tf.function(input_signature=[WAV_SPEC])
    def serve_wav(self, audio_wav: tf.Tensor) -> dict[str, tf.Tensor]:
        """``serving_default``: a batch of WAV files → probabilities, class index and name."""
        clips = tf.map_fn(
            decode_and_prepare,
            audio_wav,
            fn_output_signature=tf.TensorSpec([waveform.CLIP_SAMPLES], tf.float32),
        )
        return self.classify(clips)

    @tf.function(input_signature=[WAVEFORM_SPEC])
    def serve_waveform(self, waveform: tf.Tensor) -> dict[str, tf.Tensor]:
        """``waveform``: a batch of 5 s clips at 22,050 Hz → probabilities, class index and name."""
        return self.classify(waveform)


def save(module: ServingModule, export_dir: str) -> None:
    """Writes ``module`` as a SavedModel with both signatures (``export_dir`` must be local)."""
    tf.saved_model.save(
        module,
        export_dir,
        signatures={
            DEFAULT_SIGNATURE: module.serve_wav.get_concrete_function(),
            WAVEFORM_SIGNATURE: module.serve_waveform.get_concrete_function(),
        },
    )
