"""The serving SavedModel: WAV bytes in, class probabilities out, the training featurizer inside.

``ServingModule`` is a ``tf.Module`` with two ``tf.function`` signatures. ``serving_default``
takes a batch of whole WAV files (``audio_wav``, ``tf.string [None]``; any encoding
``wav.decode`` reads, up to 10 min), parses and validates each in-graph, resamples it to
22,050 Hz and cuts it into overlapping 5 s windows (``timeline``); all windows of the batch are
featurized and classified a bounded number at a time, and the outputs are the clip-level mean
(``probabilities``, ``class_index``, ``class_name``, as before for a clip of at most 5 s) and max
over windows, plus per-window scores padded to the batch's longest clip with a ``window_count``
(docs/contracts.md). ``waveform`` takes ``[None, CLIP_SAMPLES]`` float32 clips already at
22,050 Hz. Both run the one featurizer (``featurizer.Featurizer``) on the feature set the
classifier reads — for a YAMNet model: 16 kHz, YAMNet's front end, its trunk and the pooling, all
in the graph — flatten it as the TFRecords store it, apply the tf.Transform graph of the training
run and the classifier. Invalid inputs fail with
``InvalidArgumentError`` and a message saying what is wrong, which TF Serving returns to the
caller as ``INVALID_ARGUMENT``.
"""

import tensorflow as tf
import tensorflow_transform as tft

from components.artifacts.signature import (
    CLASS_INDEX,
    CLASS_NAME,
    CLIP_DURATION_S,
    DEFAULT_SIGNATURE,
    MAX_PROBABILITIES,
    PROBABILITIES,
    WAV_INPUT,
    WAVEFORM_INPUT,
    WAVEFORM_SIGNATURE,
    WINDOW_CLASS_INDEX,
    WINDOW_CLASS_NAME,
    WINDOW_COUNT,
    WINDOW_END_S,
    WINDOW_PROBABILITIES,
    WINDOW_START_S,
)
from components.audio import examples, timeline, wav, waveform
from components.audio.featurizer import Featurizer
from components.audio.labels import CLASS_NAMES

# Windows featurized and classified in one step: bounds the memory a long clip (239 windows at
# 10 min) or a batch of them needs, at no cost to requests of up to this many windows.
WINDOWS_PER_STEP = 32
WAV_SPEC = tf.TensorSpec([None], tf.string, name=WAV_INPUT)
WAVEFORM_SPEC = tf.TensorSpec([None, waveform.CLIP_SAMPLES], tf.float32, name=WAVEFORM_INPUT)


def decode_and_window(wav_bytes: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor, tf.Tensor]:
    """Validates, decodes, downmixes, resamples and windows one WAV file; a bad one is rejected.

    Args:
        wav_bytes: Scalar string tensor holding a whole WAV file.

    Returns:
        ``(windows, num_samples, duration_s)``: ``[windows, CLIP_SAMPLES]`` float32 at 22,050 Hz
        (``timeline.windows``), the clip's length at that rate and its duration in seconds. A
        malformed file raises ``InvalidArgumentError`` (``wav.decode``).
    """
    samples, sample_rate = wav.decode(wav_bytes)
    duration_s = tf.cast(tf.shape(samples)[0], tf.float32) / tf.cast(sample_rate, tf.float32)
    clip = timeline.to_sample_rate(waveform.to_mono(samples), sample_rate)
    return timeline.windows(clip), tf.shape(clip, out_type=tf.int64)[0], duration_s


def keras_variables(module: tf.Module) -> list[tf.Variable]:
    """The ``tf.Variable`` under every Keras variable of the Keras layers ``module`` holds.

    Keras 3 layers are not ``tf.Module``s: ``tf.saved_model.save`` writes their variables into
    the checkpoint that ``tf.saved_model.load`` restores, but not into the one that a session
    restores through the SavedModel's saver, which is how TF Serving loads a model. Served from
    TF Serving, such a model fails every request with FAILED_PRECONDITION "Could not find
    variable" (keras-team/keras#20095, tensorflow/serving#2250). Tracking the variables
    themselves on the module puts them in both; ``tests/serving/test_session_load.py`` loads the
    export as TF Serving does.
    """
    import keras

    layers = [
        value
        for owner in (module, *module.submodules)
        for value in vars(owner).values()
        if isinstance(value, keras.layers.Layer)
    ]
    unique = {id(variable): variable for layer in layers for variable in layer.variables}
    return [variable.value for variable in unique.values()]


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
        # Must come last: every Keras layer of the module is in place.
        self.keras_variables = keras_variables(self)

    def classify(self, clips: tf.Tensor) -> dict[str, tf.Tensor]:
        """Outputs for ``[B, CLIP_SAMPLES]`` prepared clips."""
        probabilities = self.probabilities(clips)
        class_index = tf.argmax(probabilities, axis=1, output_type=tf.int64)
        return {
            PROBABILITIES: probabilities,
            CLASS_INDEX: class_index,
            CLASS_NAME: tf.gather(self.class_names, class_index),
        }

    def probabilities(self, clips: tf.Tensor) -> tf.Tensor:
        """``[B, 8]`` class probabilities of ``[B, CLIP_SAMPLES]`` prepared clips."""
        batch = tf.shape(clips)[0]
        raw = self.featurizer(clips)  # the classifier's feature only: the transform graph
        # fills the others (unused) itself. It also passes clip_id, source_id and label; serving
        # has none of them.
        raw[examples.CLIP_ID] = tf.fill([batch], "")
        raw[examples.SOURCE_ID] = tf.fill([batch], "")
        raw[examples.LABEL] = tf.zeros([batch], tf.int64)
        transformed = self.transform_layer(raw)[self._feature]
        flat = tf.reshape(transformed, [batch, examples.flat_size(self._feature)])
        return self.classifier(flat)

    def window_probabilities(self, windows: tf.RaggedTensor) -> tf.RaggedTensor:
        """``[B, (windows), 8]`` probabilities of ``[B, (windows), CLIP_SAMPLES]`` windows.

        Up to ``WINDOWS_PER_STEP`` windows (every request of short clips) are classified in one
        call; more go through a loop of that many at a time, which bounds the memory of long
        clips (a loop costs ~2 ms per call, measured, so short requests skip it).
        """
        flat = windows.values
        total = tf.shape(flat)[0]

        def classify_some(first, outputs):
            some = self.probabilities(flat[first : first + WINDOWS_PER_STEP])
            return first + WINDOWS_PER_STEP, outputs.write(first // WINDOWS_PER_STEP, some)

        def in_steps() -> tf.Tensor:
            steps = (total + WINDOWS_PER_STEP - 1) // WINDOWS_PER_STEP
            outputs = tf.TensorArray(tf.float32, size=steps, infer_shape=False)
            _, outputs = tf.while_loop(lambda first, _: first < total, classify_some, [0, outputs])
            return tf.ensure_shape(outputs.concat(), [None, len(CLASS_NAMES)])

        probabilities = tf.cond(
            total <= WINDOWS_PER_STEP, lambda: self.probabilities(flat), in_steps
        )
        return windows.with_values(probabilities)

    @tf.function(input_signature=[WAV_SPEC])
    def serve_wav(self, audio_wav: tf.Tensor) -> dict[str, tf.Tensor]:
        """``serving_default``: WAV files → clip scores (mean and max over windows) and windows."""
        windows, num_samples, duration_s = tf.map_fn(
            decode_and_window,
            audio_wav,
            fn_output_signature=(
                tf.RaggedTensorSpec([None, waveform.CLIP_SAMPLES], tf.float32, ragged_rank=0),
                tf.TensorSpec([], tf.int64),
                tf.TensorSpec([], tf.float32),
            ),
        )
        per_window = self.window_probabilities(windows)
        probabilities = tf.reduce_mean(per_window, axis=1)
        class_index = tf.argmax(probabilities, axis=1, output_type=tf.int64)
        window_class = tf.argmax(per_window.flat_values, axis=1, output_type=tf.int64)
        window_class = per_window.with_flat_values(window_class)
        start_s = tf.cast(timeline.window_starts(num_samples), tf.float32) / float(
            waveform.SAMPLE_RATE
        )
        end_s = tf.minimum(start_s + float(waveform.CLIP_SECONDS), duration_s[:, None])
        return {
            PROBABILITIES: probabilities,
            CLASS_INDEX: class_index,
            CLASS_NAME: tf.gather(self.class_names, class_index),
            MAX_PROBABILITIES: tf.reduce_max(per_window, axis=1),
            CLIP_DURATION_S: duration_s,
            WINDOW_COUNT: tf.cast(per_window.row_lengths(), tf.int32),
            WINDOW_START_S: start_s.to_tensor(0.0),
            WINDOW_END_S: end_s.to_tensor(0.0),
            WINDOW_PROBABILITIES: per_window.to_tensor(0.0),
            WINDOW_CLASS_INDEX: window_class.to_tensor(-1),
            WINDOW_CLASS_NAME: tf.gather(self.class_names, window_class).to_tensor(""),
        }

    @tf.function(input_signature=[WAVEFORM_SPEC])
    def serve_waveform(self, waveform: tf.Tensor) -> dict[str, tf.Tensor]:
        """``waveform``: a batch of 5 s clips at 22,050 Hz → probabilities, class index and name."""
        return self.classify(waveform)


def save(module: ServingModule, export_dir: str) -> None:
    """Writes ``module`` as a SavedModel with both signatures (``export_dir`` must be local).

    The variables the signatures read are tracked by the module itself before saving. A Keras 3
    variable is a wrapper around the ``tf.Variable`` the traced functions capture, and only the
    wrapper is tracked through the model: the SavedModel's saver then restores a copy of it,
    never the captured variable, which TF Serving's loader (restore op, then session runs)
    leaves uninitialized: every request fails with "Could not find variable dense/kernel"
    (keras-team/keras#20095). ``tf.saved_model.load`` rebinds through the object graph and hides
    it; deploy's infra validation loads the way TF Serving does.
    """
    signatures = {
        DEFAULT_SIGNATURE: module.serve_wav.get_concrete_function(),
        WAVEFORM_SIGNATURE: module.serve_waveform.get_concrete_function(),
    }
    captured = {id(variable): variable for fn in signatures.values() for variable in fn.variables}
    module.served_variables = list(captured.values())
    tf.saved_model.save(module, export_dir, signatures=signatures)
