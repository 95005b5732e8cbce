"""The exported SavedModel: parity with the training-time pipeline, layout, warmup, validation."""

import io
import json
import os

import joblib
import keras
import numpy as np
import pytest
import soundfile
import tensorflow as tf
import tensorflow_transform as tft
from tensorflow_serving.apis import prediction_log_pb2

from components.audio import examples, waveform
from components.audio.featurizer import Featurizer
from components.audio.labels import CLASS_NAMES
from components.audio.resample import resample
from components.deploy import core, export, warmup
from components.pretrained import cache
from components.pretrained.catalog import EFFICIENTAT, YAMNET
from tests.helpers import wavs
from tests.helpers.audio import tone, wav_bytes
from tests.helpers.audio_files import decode_data
from tests.helpers.served_model import read_examples
from tests.helpers.serving_inputs import (
    BAD_WAVS,
    SERVING_DEFAULT_OUTPUTS,
    sample_clip,
    three_sounds,
)

# One worker builds the shared session fixtures (featurize, train, export) once: see conftest.
pytestmark = pytest.mark.xdist_group("serving")

RATES = [8000, 16000, 22050, 44100, 48000]


def pipeline_windows(wav: bytes) -> tuple[np.ndarray, list[float]]:
    """The training path's clips for a WAV: soundfile decode → the Beam featurizer's waveform code.

    A clip of at most 5 s is ``waveform.prepare`` (what featurize does). A longer one is resampled
    whole with the featurizer's resampler and cut every 2.5 s, the last window ending at the end
    of the clip (the documented timeline), each window then padded/trimmed by ``fit_to_clip``.
    Returns ``([windows, CLIP_SAMPLES], start seconds)``.
    """
    decoded = decode_data(wav)
    mono, rate = decoded.mono(), decoded.sample_rate
    if decoded.duration_s <= waveform.CLIP_SECONDS:
        return waveform.prepare(mono, rate).numpy()[None], [0.0]
    whole = resample(mono, rate, waveform.SAMPLE_RATE).numpy()
    last = whole.size - waveform.CLIP_SAMPLES
    starts = [*range(0, last, int(2.5 * waveform.SAMPLE_RATE)), last]
    clips = [waveform.fit_to_clip(whole[start:]).numpy() for start in starts]
    return np.stack(clips), [start / waveform.SAMPLE_RATE for start in starts]


def pipeline_features(clips: np.ndarray, transform_graph: str) -> dict[str, np.ndarray]:
    """The training path from prepared clips: features → flatten → tf.Transform."""
    batch = clips.shape[0]
    raw = Featurizer()(clips)
    raw[examples.CLIP_ID] = tf.constant([b""] * batch)
    raw[examples.SOURCE_ID] = tf.constant([b""] * batch)
    raw[examples.LABEL] = tf.constant([0] * batch, tf.int64)
    transformed = tft.TFTransformOutput(transform_graph).transform_raw_features(raw)
    return {key: transformed[key].numpy() for key in examples.FEATURE_KEYS}


def pipeline_probabilities(wav: bytes, keras_model, transform_graph: str) -> np.ndarray:
    """``[windows, 8]``: each window of ``wav`` scored along the training-time path."""
    log_mel = pipeline_features(pipeline_windows(wav)[0], transform_graph)["log_mel"]
    return keras_model(log_mel.reshape(-1, 128, 216, 1)).numpy()


def assert_served_equals_pipeline(outputs, row: int, expected: np.ndarray) -> None:
    """Clip and window outputs of one served clip against per-window pipeline scores."""
    count = int(outputs["window_count"][row])
    assert count == len(expected)
    got = outputs["window_probabilities"].numpy()[row]
    np.testing.assert_allclose(got[:count], expected, rtol=0, atol=1e-5)
    assert not got[count:].any()
    np.testing.assert_allclose(
        outputs["probabilities"].numpy()[row], expected.mean(axis=0), rtol=0, atol=1e-5
    )
    np.testing.assert_allclose(
        outputs["max_probabilities"].numpy()[row], expected.max(axis=0), rtol=0, atol=1e-5
    )
    assert outputs["class_index"].numpy()[row] == expected.mean(axis=0).argmax()
    classes = outputs["window_class_index"].numpy()[row]
    assert classes[:count].tolist() == expected.argmax(axis=1).tolist()
    assert set(classes[count:]) <= {-1}
    names = outputs["window_class_name"].numpy()[row][:count]
    assert [name.decode() for name in names] == [CLASS_NAMES[k] for k in classes[:count]]


@pytest.fixture(scope="module")
def keras_model(keras_model_dir):
    return keras.saving.load_model(os.path.join(keras_model_dir, "model.keras"))


@pytest.mark.parametrize("rate", RATES)
def test_served_wav_prediction_equals_pipeline_prediction(
    rate, served, keras_model, transform_graph
):
    wav = wav_bytes(sample_clip(rate), rate)
    expected = pipeline_probabilities(wav, keras_model, transform_graph)
    assert len(expected) == (2 if rate == 48000 else 1)  # the 7 s clip is two windows
    outputs = served.signatures["serving_default"](audio_wav=tf.constant([wav]))
    assert_served_equals_pipeline(outputs, 0, expected)
    assert outputs["class_name"].numpy()[0].decode() == CLASS_NAMES[expected.mean(0).argmax()]


def variant(subtype: str, container: str = "WAV", channels: int = 1, rate: int = 44100) -> bytes:
    """A 3 s clip (different content per channel) written by soundfile in one encoding."""
    left = tone(400.0, 3.0, rate, 0.4) + tone(1500.0, 3.0, rate, 0.2)
    columns = [left] + [tone(600.0 + 300 * k, 3.0, rate, 0.3) for k in range(1, channels)]
    buffer = io.BytesIO()
    samples = np.stack(columns, axis=1)
    soundfile.write(buffer, samples, rate, subtype=subtype, format=container)
    return buffer.getvalue()


def hand_built(rate: int = 16000) -> bytes:
    """Stereo 16-bit PCM with LIST, cue, fact and an odd-sized chunk before and after the data."""
    left, right = tone(500.0, 2.0, rate), tone(1800.0, 2.0, rate)
    return wavs.riff(
        wavs.info_list(b"kitchen"),
        wavs.chunk(b"fmt ", wavs.fmt_body(wavs.PCM, 2, rate, 16)),
        wavs.fact(left.size),
        wavs.chunk(b"junk", b"odd"),
        wavs.chunk(b"data", wavs.pcm16(np.stack([left, right], axis=1))),
        wavs.cue(2),
        wavs.info_list(b"odd"),
    )


VARIANTS = {
    **{
        f"{container}_{subtype}": variant(subtype, container)
        for container in ("WAV", "WAVEX")
        for subtype in ("PCM_U8", "PCM_16", "PCM_24", "PCM_32", "FLOAT", "DOUBLE")
    },
    "stereo_PCM_24_48k": variant("PCM_24", channels=2, rate=48000),
    "6ch_FLOAT_WAVEX": variant("FLOAT", "WAVEX", channels=6, rate=32000),
    "8ch_PCM_16_8k": variant("PCM_16", channels=8, rate=8000),
    "chunks_LIST_fact_cue_odd": hand_built(),
}


@pytest.mark.parametrize("name", sorted(VARIANTS))
def test_every_wav_variant_is_served_as_the_pipeline_scores_it(
    name, served, keras_model, transform_graph
):
    wav = VARIANTS[name]
    expected = pipeline_probabilities(wav, keras_model, transform_graph)
    outputs = served.signatures["serving_default"](audio_wav=tf.constant([wav]))
    assert_served_equals_pipeline(outputs, 0, expected)


@pytest.mark.parametrize("rate", [22050, 44100, 11025])
def test_long_clip_is_a_timeline_of_windows_scored_as_the_pipeline_scores_them(
    rate, served, keras_model, transform_graph
):
    wav = wav_bytes(three_sounds(rate), rate)
    expected = pipeline_probabilities(wav, keras_model, transform_graph)
    outputs = served.signatures["serving_default"](audio_wav=tf.constant([wav]))
    assert_served_equals_pipeline(outputs, 0, expected)
    assert int(outputs["window_count"][0]) == 11
    starts = outputs["window_start_s"].numpy()[0]
    np.testing.assert_allclose(starts, np.arange(11) * 2.5, atol=1e-6)
    np.testing.assert_allclose(outputs["window_end_s"].numpy()[0], starts + 5, atol=1e-6)
    np.testing.assert_allclose(outputs["clip_duration_s"].numpy(), [30.0], atol=1e-6)
    # The timeline follows the sounds: the windows starting with each one score differently.
    parts = outputs["window_probabilities"].numpy()[0, [0, 4, 8]]
    assert np.ptp(parts, axis=0).max() > 0.05
    if rate == 22050:  # no resampling: each window is exactly Beam's prepare() of that slice
        samples = three_sounds(rate)
        for k in (0, 5, 10):
            clip = waveform.prepare(samples[int(k * 2.5 * rate) :], rate).numpy()[None]
            log_mel = pipeline_features(clip, transform_graph)["log_mel"]
            single = keras_model(log_mel.reshape(-1, 128, 216, 1)).numpy()[0]
            window = outputs["window_probabilities"].numpy()[0, k]
            np.testing.assert_allclose(window, single, rtol=0, atol=1e-5)


def test_batch_of_clips_of_different_lengths_pads_windows_with_a_count(served):
    wavs = [
        wav_bytes(tone(700.0, 3.0, 16000), 16000),
        wav_bytes(three_sounds(22050), 22050),
        wav_bytes(tone(900.0, 7.0, 48000), 48000),
    ]
    signature = served.signatures["serving_default"]
    batch = signature(audio_wav=tf.constant(wavs))
    assert batch["window_count"].numpy().tolist() == [1, 11, 2]
    assert batch["window_probabilities"].shape == (3, 11, 8)
    ends = batch["window_end_s"].numpy()
    np.testing.assert_allclose(ends[0, :1], [3.0], atol=1e-6)  # a short clip's window ends with it
    np.testing.assert_allclose(ends[2, :2], [5.0, 7.0], atol=1e-6)
    np.testing.assert_allclose(batch["window_start_s"].numpy()[2, :2], [0.0, 2.0], atol=1e-6)
    for row, wav in enumerate(wavs):
        single = signature(audio_wav=tf.constant([wav]))
        count = int(single["window_count"][0])
        for key in ("window_probabilities", "window_start_s", "window_end_s"):
            np.testing.assert_allclose(
                batch[key].numpy()[row, :count], single[key].numpy()[0], rtol=0, atol=1e-5
            )
        for key in ("probabilities", "max_probabilities", "clip_duration_s"):
            np.testing.assert_allclose(batch[key][row], single[key][0], rtol=0, atol=1e-5)
        assert not batch["window_probabilities"].numpy()[row, count:].any()
        assert set(batch["window_class_name"].numpy()[row, count:]) <= {b""}


def test_model_is_not_trivially_uniform(served):
    # Parity at 1e-5 means something only if the model's outputs depend on the features.
    wavs = [wav_bytes(tone(200.0 + 150 * k, 2.0, 22050), 22050) for k in (0, 4, 7)]
    probabilities = served.signatures["serving_default"](audio_wav=tf.constant(wavs))
    assert np.ptp(probabilities["probabilities"].numpy(), axis=0).max() > 0.05


def test_stereo_wav_is_averaged_to_mono_as_in_training(served, keras_model, transform_graph):
    wav = wav_bytes(sample_clip(44100, channels=2), 44100)
    expected = pipeline_probabilities(wav, keras_model, transform_graph)
    outputs = served.signatures["serving_default"](audio_wav=tf.constant([wav]))
    assert_served_equals_pipeline(outputs, 0, expected)


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
    clip = waveform.prepare(decode_data(wav).mono(), 22050).numpy()
    by_wav = served.signatures["serving_default"](audio_wav=tf.constant([wav]))
    by_waveform = served.signatures["waveform"](waveform=tf.constant(clip[None]))
    np.testing.assert_allclose(
        by_wav["probabilities"].numpy(), by_waveform["probabilities"].numpy(), atol=1e-6
    )


def test_logistic_regression_is_exported_exactly(linear_model_dir, transform_graph, tmp_path):
    result = core.run(
        [linear_model_dir],
        transform_graph,
        str(tmp_path),
        {"blessed": True, "candidate": "logistic_regression", "reasons": []},
        core.DeployConfig(version=3),
    )
    served = tf.saved_model.load(result.uri)
    estimator = joblib.load(os.path.join(linear_model_dir, "model.joblib"))
    for rate in (16000, 44100):
        wav = wav_bytes(sample_clip(rate), rate)
        mean_mfcc = pipeline_features(pipeline_windows(wav)[0], transform_graph)["mean_mfcc"]
        expected = estimator.predict_proba(mean_mfcc)
        got = served.signatures["serving_default"](audio_wav=tf.constant([wav]))["probabilities"]
        np.testing.assert_allclose(got.numpy(), expected, rtol=0, atol=1e-5)


def deploy_and_load(model_dir: str, transform_graph: str, base, version: int):
    name = os.path.basename(model_dir)
    blessing = {"blessed": True, "candidate": name, "reasons": []}
    result = core.run(
        [model_dir], transform_graph, str(base), blessing, core.DeployConfig(version=version)
    )
    return tf.saved_model.load(result.uri)


@pytest.fixture(scope="module")
def yamnet_served(yamnet_model_dir, transform_graph, tmp_path_factory):
    base = tmp_path_factory.mktemp("yamnet-base")
    return deploy_and_load(yamnet_model_dir, transform_graph, base, 5)


@pytest.fixture(scope="session")
def mn04_base(tmp_path_factory):
    return tmp_path_factory.mktemp("mn04-base")


@pytest.fixture(scope="session")
def mn04_served(mn04_model_dir, transform_graph, mn04_base):
    return deploy_and_load(mn04_model_dir, transform_graph, mn04_base, 5)


def runs_node(served, fragment: str) -> bool:
    """Whether the serving signature's graph or one of its functions has a ``*fragment*`` node.

    The pretrained trunks are frozen (``frozen.py``): their weights are constants of the graph,
    not variables, so a trunk is found by its layers' node names.
    """
    graph = served.signatures["serving_default"].graph.as_graph_def()
    functions = (node for function in graph.library.function for node in function.node_def)
    return any(fragment in node.name for node in (*graph.node, *functions))


def holds_yamnet(served) -> bool:
    """Whether the serving signature runs YAMNet's top convolution."""
    return runs_node(served, "layer14_pointwise")


def holds_mn04(served) -> bool:
    """Whether the serving signature runs mn04's top convolution."""
    return runs_node(served, "top_conv")


def test_cnn_model_graph_holds_no_yamnet(served):
    assert served.signatures["serving_default"].variables  # the CNN's own weights
    assert not holds_yamnet(served)


@pytest.mark.parametrize("family", ["yamnet", "mn04"])
def test_served_embedding_head_scores_equal_the_pipelines_from_the_tfrecords(
    family, request, featurized
):
    # The pipeline's path for the test clips: soundfile → Beam featurizer (batched trunk) →
    # tf.Transform → TFRecords → the trained head. The served path: the WAV files' bytes.
    model_dir = request.getfixturevalue(f"{family}_model_dir")
    served = request.getfixturevalue(f"{family}_served")
    head = keras.saving.load_model(os.path.join(model_dir, "model.keras"))
    test = read_examples(featurized, "test")
    expected = head(test[f"{family}_embedding"]).numpy()
    manifest = os.path.join(os.path.dirname(featurized), "manifest.jsonl")
    uris = {row["clip_id"]: row["uri"] for row in map(json.loads, open(manifest))}
    files = [open(uris[clip_id.decode()], "rb").read() for clip_id in test["clip_id"]]
    got = served.signatures["serving_default"](audio_wav=tf.constant(files))
    np.testing.assert_allclose(got["probabilities"].numpy(), expected, rtol=0, atol=1e-5)
    assert np.ptp(expected, axis=0).max() > 0.05  # the head's answers depend on the clip
    # Each graph holds its own trunk only.
    assert (holds_yamnet(served), holds_mn04(served)) == (family == "yamnet", family == "mn04")


@pytest.mark.parametrize("rate", [8000, 44100, 48000])
def test_served_yamnet_wav_prediction_equals_pipeline_prediction(
    rate, yamnet_served, yamnet_model_dir, transform_graph
):
    head = keras.saving.load_model(os.path.join(yamnet_model_dir, "model.keras"))
    wav = wav_bytes(sample_clip(rate), rate)
    embedding = pipeline_features(pipeline_windows(wav)[0], transform_graph)["yamnet_embedding"]
    expected = head(embedding).numpy().mean(axis=0, keepdims=True)  # the clip: mean of windows
    got = yamnet_served.signatures["serving_default"](audio_wav=tf.constant([wav]))
    np.testing.assert_allclose(got["probabilities"].numpy(), expected, rtol=0, atol=1e-5)


def test_logistic_regression_on_the_embedding_is_exported_exactly(
    linear_yamnet_model_dir, transform_graph, tmp_path
):
    served = deploy_and_load(linear_yamnet_model_dir, transform_graph, tmp_path, 6)
    estimator = joblib.load(os.path.join(linear_yamnet_model_dir, "model.joblib"))
    for rate in (16000, 44100):
        wav = wav_bytes(sample_clip(rate), rate)
        embedding = pipeline_features(pipeline_windows(wav)[0], transform_graph)["yamnet_embedding"]
        expected = estimator.predict_proba(embedding)
        got = served.signatures["serving_default"](audio_wav=tf.constant([wav]))["probabilities"]
        np.testing.assert_allclose(got.numpy(), expected, rtol=0, atol=1e-5)
    (card_file,) = tmp_path.glob("*/6/assets.extra/model_card.json")
    pretrained = json.loads(card_file.read_text())["pretrained"]
    path, source = cache.locate(YAMNET, "weights")
    assert {(f["file"], f["sha256"]) for f in pretrained} == {
        (source.name, cache.sha256_of(path)),
        ("yamnet_class_map.csv", YAMNET.asset("class_map").sources[0].sha256),
    }
    assert f"| yamnet | {source.name} | {source.sha256} |" in (
        card_file.with_name("model_card.md").read_text()
    )


def test_mn04_model_card_names_the_efficientat_files_only(mn04_served, mn04_base):
    (card_file,) = mn04_base.glob("*/5/assets.extra/model_card.json")
    pretrained = json.loads(card_file.read_text())["pretrained"]
    assert {(f["backbone"], f["file"], f["sha256"]) for f in pretrained} == {
        ("efficientat", source.name, source.sha256)
        for asset in EFFICIENTAT.assets
        for source in asset.sources
    }


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
    signatures, most_windows = set(), 0
    for record in records:
        log = prediction_log_pb2.PredictionLog.FromString(record)
        request = log.predict_log.request
        assert request.model_spec.name == "household_sounds"
        signatures.add(request.model_spec.signature_name)
        inputs = {key: tf.make_ndarray(value) for key, value in request.inputs.items()}
        outputs = served.signatures[request.model_spec.signature_name](**inputs)
        assert outputs["probabilities"].shape[1] == len(CLASS_NAMES)
        if "window_count" in outputs:
            most_windows = max(most_windows, int(outputs["window_count"].numpy().max()))
    assert signatures == {"serving_default", "waveform"}
    # one recording runs the stepped loop that long audio takes
    assert most_windows > export.WINDOWS_PER_STEP


def test_signatures_declare_inputs_and_outputs(served):
    default = served.signatures["serving_default"]
    assert default.structured_input_signature[1]["audio_wav"].dtype == tf.string
    assert set(default.structured_outputs) == set(SERVING_DEFAULT_OUTPUTS)
    waveform_spec = served.signatures["waveform"].structured_input_signature[1]["waveform"]
    assert waveform_spec.shape.as_list() == [None, waveform.CLIP_SAMPLES]


@pytest.mark.parametrize("case", sorted(BAD_WAVS))
def test_invalid_wav_raises_invalid_argument_naming_the_problem(case, served):
    data, message = BAD_WAVS[case]
    with pytest.raises(tf.errors.InvalidArgumentError, match=message):
        served.signatures["serving_default"](audio_wav=tf.constant([data]))


def test_warmup_wav_is_16_bit_pcm():
    data = warmup.wav_bytes(warmup.chirp(8000, 0.1), 8000)
    assert decode_data(data).subtype == "PCM_16"


def test_exported_graph_parses_wav_with_core_ops_only(version_dir):
    from tensorflow.core.protobuf import saved_model_pb2

    graph = saved_model_pb2.SavedModel()
    with open(os.path.join(version_dir, "saved_model.pb"), "rb") as handle:
        graph.ParseFromString(handle.read())
    meta_graph = graph.meta_graphs[0]
    types = {node.op for node in meta_graph.graph_def.node}
    for function in meta_graph.graph_def.library.function:
        types |= {node.op for node in function.node_def}
    assert "DecodeRaw" in types
    assert not types & {"DecodeWav", "PyFunc", "EagerPyFunc"}
    assert all(op in tf.raw_ops.__dict__ for op in types), types - set(tf.raw_ops.__dict__)


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
    served = deploy_and_load(result.model_dir, transform_graph, tmp_path / "base", 1)
    wav = wav_bytes(sample_clip(16000), 16000)
    log_mel = pipeline_features(pipeline_windows(wav)[0], transform_graph)["log_mel"]
    log_mel = log_mel.reshape(-1, 128, 216, 1)
    expected = model(log_mel).numpy()
    np.testing.assert_array_equal(expected, model(log_mel).numpy())
    outputs = served.signatures["serving_default"](audio_wav=tf.constant([wav, wav]))
    np.testing.assert_allclose(
        outputs["probabilities"].numpy(), np.repeat(expected, 2, axis=0), rtol=0, atol=1e-5
    )
