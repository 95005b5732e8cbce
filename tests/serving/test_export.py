"""The exported SavedModel: parity with the training-time pipeline, layout, warmup, validation."""

import os

import joblib
import keras
import numpy as np
import pytest
import tensorflow as tf
import tensorflow_transform as tft
from tensorflow_serving.apis import prediction_log_pb2

from components.audio import decode, examples, features, waveform
from components.audio.labels import CLASS_NAMES
from components.deploy import core, warmup
from tests.conftest import tone, wav_bytes

# One worker builds the shared session fixtures (featurize, train, export) once: see conftest.
pytestmark = pytest.mark.xdist_group("serving")

RATES = [8000, 16000, 22050, 44100, 48000]


def sample_clip(rate: int, channels: int = 1) -> np.ndarray:
    # Different content per rate and channel; a 7 s clip exercises the trim, 3 s the padding.
    seconds = 7.0 if rate == 48000 else 3.0
    left = tone(350.0 + rate / 400, seconds, rate, 0.2) + tone(1200.0, seconds, rate, 0.1)
    if channels == 1:
        return left
    return np.stack([left, tone(900.0, seconds, rate, 0.3)], axis=1)


def pipeline_features(wav: bytes, transform_graph: str) -> dict[str, np.ndarray]:
    """The training path: soundfile decode → prepare → features → flatten → tf.Transform."""
    decoded = decode.decode_bytes(wav)
    clip = waveform.prepare(decoded.mono(), decoded.sample_rate)
    computed = features.compute(clip[None])
    raw = {key: tf.reshape(computed[key], [1, -1]) for key in examples.FEATURE_KEYS}
    raw[examples.CLIP_ID] = tf.constant([b""])
    raw[examples.LABEL] = tf.constant([0], tf.int64)
    transformed = tft.TFTransformOutput(transform_graph).transform_raw_features(raw)
    return {key: transformed[key].numpy() for key in examples.FEATURE_KEYS}


@pytest.fixture(scope="module")
def keras_model(keras_model_dir):
    return keras.saving.load_model(os.path.join(keras_model_dir, "model.keras"))


@pytest.mark.parametrize("rate", RATES)
def test_served_wav_prediction_equals_pipeline_prediction(
    rate, served, keras_model, transform_graph
):

    wav = wav_bytes(sample_clip(rate), rate)
    log_mel = pipeline_features(wav, transform_graph)["log_mel"]
    expected = keras_model(log_mel.reshape(-1, 128, 216, 1)).numpy()
    outputs = served.signatures["serving_default"](audio_wav=tf.constant([wav]))
    np.testing.assert_allclose(outputs["probabilities"].numpy(), expected, rtol=0, atol=1e-5)
    assert outputs["class_index"].numpy()[0] == expected.argmax()
    assert outputs["class_name"].numpy()[0].decode() == CLASS_NAMES[expected.argmax()]


def test_model_is_not_trivially_uniform(served):
    # Parity at 1e-5 means something only if the model's outputs depend on the features.
    wavs = [wav_bytes(tone(200.0 + 150 * k, 2.0, 22050), 22050) for k in (0, 4, 7)]
    probabilities = served.signatures["serving_default"](audio_wav=tf.constant(wavs))
    assert np.ptp(probabilities["probabilities"].numpy(), axis=0).max() > 0.05


def test_stereo_wav_is_averaged_to_mono_as_in_training(served, keras_model, transform_graph):
    wav = wav_bytes(sample_clip(44100, channels=2), 44100)
    log_mel = pipeline_features(wav, transform_graph)["log_mel"]
    expected = keras_model(log_mel.reshape(-1, 128, 216, 1)).numpy()
    got = served.signatures["serving_default"](audio_wav=tf.constant([wav]))["probabilities"]
    np.testing.assert_allclose(got.numpy(), expected, rtol=0, atol=1e-5)


def test_batch_of_mixed_rates_equals_single_requests(served):
    wavs = [wav_bytes(sample_clip(rate), rate) for rate in RATES]
    signature = served.signatures["serving_default"]
    batch = signature(audio_wav=tf.constant(wavs))["probabilities"].numpy()
    singles = np.concatenate(
        [signature(audio_wav=tf.constant([wav]))["probabilities"].numpy() for wav in wavs]
    )
    # Batched kernels sum in a different order: equal to float32 round-off, not bit-exact.
    np.testing.assert_allclose(batch, singles, rtol=0, atol=1e-5)


def test_waveform_signature_equals_wav_signature_at_22050(served):
    samples = sample_clip(22050)
    wav = wav_bytes(samples, 22050)
    clip = waveform.prepare(decode.decode_bytes(wav).mono(), 22050).numpy()
    by_wav = served.signatures["serving_default"](audio_wav=tf.constant([wav]))
    by_waveform = served.signatures["waveform"](waveform=tf.constant(clip[None]))
    np.testing.assert_allclose(
        by_wav["probabilities"].numpy(), by_waveform["probabilities"].numpy(), atol=1e-6
    )


def test_logistic_regression_is_exported_exactly(linear_model_dir, transform_graph, tmp_path):
    result = core.run(
        linear_model_dir,
        transform_graph,
        str(tmp_path),
        {"blessed": True, "model": "logistic_regression", "reasons": []},
        core.DeployConfig(version=3),
    )
    served = tf.saved_model.load(result.uri)
    estimator = joblib.load(os.path.join(linear_model_dir, "model.joblib"))
    for rate in (16000, 44100):
        wav = wav_bytes(sample_clip(rate), rate)
        mean_mfcc = pipeline_features(wav, transform_graph)["mean_mfcc"]
        expected = estimator.predict_proba(mean_mfcc)
        got = served.signatures["serving_default"](audio_wav=tf.constant([wav]))["probabilities"]
        np.testing.assert_allclose(got.numpy(), expected, rtol=0, atol=1e-5)


def test_version_dir_has_the_layout_tf_serving_loads(version_dir):
    assert os.path.basename(version_dir).isdigit()
    assert os.path.isfile(os.path.join(version_dir, "saved_model.pb"))
    assert os.path.isfile(os.path.join(version_dir, "variables", "variables.index"))
    siblings = os.listdir(os.path.dirname(version_dir))
    assert siblings == [os.path.basename(version_dir)], "no staging leftovers"


def test_warmup_records_parse_and_run_through_their_signatures(version_dir, served):
    path = os.path.join(version_dir, "assets.extra", "tf_serving_warmup_requests")
    records = list(tf.data.TFRecordDataset(path).as_numpy_iterator())
    assert 0 < len(records) <= 1000  # TF Serving reads at most 1000 warmup records
    signatures = set()
    for record in records:
        log = prediction_log_pb2.PredictionLog.FromString(record)
        request = log.predict_log.request
        assert request.model_spec.name == "household_sounds"
        signatures.add(request.model_spec.signature_name)
        inputs = {key: tf.make_ndarray(value) for key, value in request.inputs.items()}
        outputs = served.signatures[request.model_spec.signature_name](**inputs)
        assert outputs["probabilities"].shape[1] == len(CLASS_NAMES)
    assert signatures == {"serving_default", "waveform"}


def test_signatures_declare_inputs_and_outputs(served):
    default = served.signatures["serving_default"]
    assert default.structured_input_signature[1]["audio_wav"].dtype == tf.string
    assert set(default.structured_outputs) == {"probabilities", "class_index", "class_name"}
    waveform_spec = served.signatures["waveform"].structured_input_signature[1]["waveform"]
    assert waveform_spec.shape.as_list() == [None, waveform.CLIP_SAMPLES]


BAD_WAVS = {
    "not_wav": (b"this is not audio at all", "not a WAV file"),
    "empty_bytes": (b"", "not a WAV file"),
    "no_samples": (wav_bytes(np.zeros(0, np.float32), 16000), "no audio samples"),
    "pcm_24": (wav_bytes(tone(440.0, 1.0, 16000), 16000, "PCM_24"), "16-bit"),
    "float": (wav_bytes(tone(440.0, 1.0, 16000), 16000, "FLOAT"), r"Expected 1 \(PCM\)"),
    "rate_12k": (wav_bytes(tone(440.0, 1.0, 12000), 12000), "unsupported sample rate"),
    "too_long": (
        wav_bytes(tone(440.0, waveform.MAX_INPUT_SECONDS + 1, 8000), 8000),
        f"longer than {waveform.MAX_INPUT_SECONDS} s",
    ),
}


@pytest.mark.parametrize("case", sorted(BAD_WAVS))
def test_invalid_wav_raises_invalid_argument_naming_the_problem(case, served):
    data, message = BAD_WAVS[case]
    with pytest.raises(tf.errors.InvalidArgumentError, match=message):
        served.signatures["serving_default"](audio_wav=tf.constant([data]))


def test_warmup_wav_is_16_bit_pcm():
    data = warmup.wav_bytes(warmup.chirp(8000, 0.1), 8000)
    assert decode.decode_bytes(data).subtype == "PCM_16"


def test_model_trained_with_the_recipe_exports_without_its_augmentation(
    featurized, transform_graph, tmp_path
):
    # Every part of the recipe on: conv BatchNorm, AdamW with warmup and cosine decay, label
    # smoothing, SpecAugment and mixup. The augmentation acts on training batches only, so the
    # saved model holds standard layers, answers deterministically, and serves what it predicts.
    from components.train import core as train

    recipe = {
        "filters": 8,
        "conv_batch_norm": True,
        "optimizer": "adamw",
        "learning_rate": 0.003,
        "lr_schedule": "cosine",
        "warmup_fraction": 0.1,
        "label_smoothing": 0.1,
        "spec_augment": True,
        "mixup_alpha": 0.2,
    }
    config = train.TrainConfig("cnn_log_mel", epochs=2, batch_size=8, hparams=recipe)
    result = train.run(featurized, str(tmp_path / "cnn_log_mel"), config)
    assert {k: result.hyperparameters[k] for k in recipe} == recipe
    model = keras.saving.load_model(os.path.join(result.model_dir, "model.keras"))
    kinds = {type(layer).__name__ for layer in model.layers}
    assert kinds <= {
        "InputLayer",
        "Conv2D",
        "BatchNormalization",
        "Activation",
        "MaxPooling2D",
        "Dropout",
        "Flatten",
        "Dense",
    }, kinds
    blessing = {"blessed": True, "model": "cnn_log_mel", "reasons": []}
    deployed = core.run(
        result.model_dir, transform_graph, str(tmp_path / "base"), blessing, core.DeployConfig()
    )
    served = tf.saved_model.load(deployed.uri)
    wav = wav_bytes(sample_clip(16000), 16000)
    log_mel = pipeline_features(wav, transform_graph)["log_mel"].reshape(-1, 128, 216, 1)
    expected = model(log_mel).numpy()
    np.testing.assert_array_equal(expected, model(log_mel).numpy())
    outputs = served.signatures["serving_default"](audio_wav=tf.constant([wav, wav]))
    np.testing.assert_allclose(
        outputs["probabilities"].numpy(), np.repeat(expected, 2, axis=0), rtol=0, atol=1e-5
    )
