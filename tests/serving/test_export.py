"""The exported SavedModel: parity with the training-time pipeline, layout, warmup, validation."""

import json
import os

import joblib
import keras
import numpy as np
import pytest
import tensorflow as tf
import tensorflow_transform as tft
from tensorflow_serving.apis import prediction_log_pb2

from components.audio import decode, examples, waveform
from components.audio.featurizer import Featurizer
from components.audio.labels import CLASS_NAMES
from components.deploy import core, warmup
from tests.conftest import tone, wav_bytes
from tests.serving.conftest import read_examples

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
    """The training path: soundfile decode → prepare → featurizer (flat) → tf.Transform."""
    decoded = decode.decode_bytes(wav)
    clip = waveform.prepare(decoded.mono(), decoded.sample_rate)
    raw = Featurizer()(clip[None])
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


def deploy_and_load(model_dir: str, transform_graph: str, base, version: int):
    name = os.path.basename(model_dir)
    blessing = {"blessed": True, "model": name, "reasons": []}
    result = core.run(
        model_dir, transform_graph, str(base), blessing, core.DeployConfig(version=version)
    )
    return tf.saved_model.load(result.uri)


@pytest.fixture(scope="module")
def yamnet_served(yamnet_model_dir, transform_graph, tmp_path_factory):
    base = tmp_path_factory.mktemp("yamnet-base")
    return deploy_and_load(yamnet_model_dir, transform_graph, base, 5)


def holds_yamnet(served) -> bool:
    """Whether the serving signature captures YAMNet's top convolution."""
    names = [v.name for v in served.signatures["serving_default"].variables]
    return any(name.startswith("layer14_pointwise/") for name in names)


def test_cnn_model_graph_holds_no_yamnet(served):
    assert served.signatures["serving_default"].variables  # the CNN's own weights
    assert not holds_yamnet(served)


def test_served_yamnet_scores_equal_the_pipelines_from_the_tfrecords(
    yamnet_served, yamnet_model_dir, featurized
):
    # The pipeline's path for the test clips: soundfile → Beam featurizer (batched YAMNet) →
    # tf.Transform → TFRecords → the trained head. The served path: the WAV files' bytes.
    head = keras.saving.load_model(os.path.join(yamnet_model_dir, "model.keras"))
    test = read_examples(featurized, "test")
    expected = head(test["yamnet_embedding"]).numpy()
    manifest = os.path.join(os.path.dirname(featurized), "manifest.jsonl")
    uris = {row["clip_id"]: row["uri"] for row in map(json.loads, open(manifest))}
    wavs = [open(uris[clip_id.decode()], "rb").read() for clip_id in test["clip_id"]]
    got = yamnet_served.signatures["serving_default"](audio_wav=tf.constant(wavs))
    np.testing.assert_allclose(got["probabilities"].numpy(), expected, rtol=0, atol=1e-5)
    assert np.ptp(expected, axis=0).max() > 0.05  # the head's answers depend on the clip
    assert holds_yamnet(yamnet_served)


@pytest.mark.parametrize("rate", [8000, 44100, 48000])
def test_served_yamnet_wav_prediction_equals_pipeline_prediction(
    rate, yamnet_served, yamnet_model_dir, transform_graph
):
    head = keras.saving.load_model(os.path.join(yamnet_model_dir, "model.keras"))
    wav = wav_bytes(sample_clip(rate), rate)
    expected = head(pipeline_features(wav, transform_graph)["yamnet_embedding"]).numpy()
    got = yamnet_served.signatures["serving_default"](audio_wav=tf.constant([wav]))
    np.testing.assert_allclose(got["probabilities"].numpy(), expected, rtol=0, atol=1e-5)


def test_logistic_regression_on_the_embedding_is_exported_exactly(
    linear_yamnet_model_dir, transform_graph, tmp_path
):
    served = deploy_and_load(linear_yamnet_model_dir, transform_graph, tmp_path, 6)
    estimator = joblib.load(os.path.join(linear_yamnet_model_dir, "model.joblib"))
    for rate in (16000, 44100):
        wav = wav_bytes(sample_clip(rate), rate)
        embedding = pipeline_features(wav, transform_graph)["yamnet_embedding"]
        expected = estimator.predict_proba(embedding)
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
