"""YAMNet rebuilt as TF/Keras: weight readers, front end, trunk parity, fine-tuning, SavedModel.

The reference is YAMNet's TFLite file (../shared/models/yamnet, tests skip without it) rewritten
with float32 weights, since the file as it is quantises activations on the fly; the network under
test is built from that file's weights, whatever the weights cache holds (a float ``yamnet.h5``
differs from the int8 weights by design). Measured on
real recordings resampled to 16 kHz and synthetic signals (see the parity test for the exact
clips): log-mel ≤ 2.1e-3 apart (median 1e-7; the largest gaps sit in the quietest bins near the
log(0.001) floor, where the two float32 FFTs round differently), embeddings ≤ 1.7e-4, scores
≤ 5e-5. Tolerances below are those measurements with a margin: a wrong padding, layout or
weight moves these outputs by 0.1 or more.
"""

import numpy as np
import pytest
import soundfile
import soxr
import tensorflow as tf

from components.audio import yamnet, yamnet_frontend, yamnet_h5, yamnet_tflite, yamnet_weights
from components.audio.yamnet_layout import BLOCKS
from components.pretrained import cache
from components.pretrained.catalog import YAMNET
from tests.helpers.audio import tone
from tests.helpers.paths import SHARED

TFLITE = SHARED / "models" / "yamnet" / "yamnet.tflite"
SR = yamnet_frontend.SAMPLE_RATE


@pytest.fixture(scope="module")
def tflite_weights() -> dict[str, np.ndarray]:
    """The weights of ../shared's ``yamnet.tflite`` (skips without it)."""
    if not TFLITE.is_file():
        pytest.skip("../shared/models/yamnet/yamnet.tflite is not present")
    return yamnet_weights.read(TFLITE)


@pytest.fixture(scope="module")
def model(tflite_weights) -> yamnet.Yamnet:
    return yamnet.Yamnet(tflite_weights)


@pytest.fixture(scope="module")
def reference(tflite_weights):
    """The float32 TFLite reference: waveform [n] → (scores, embeddings, log-mel)."""
    content = yamnet_tflite.float_reference(TFLITE.read_bytes())
    interpreter = tf.lite.Interpreter(model_content=content)

    def run(samples: np.ndarray) -> dict[str, np.ndarray]:
        interpreter.resize_tensor_input(0, [samples.size])
        interpreter.allocate_tensors()
        interpreter.set_tensor(0, samples)
        interpreter.invoke()
        out = {
            o["name"]: interpreter.get_tensor(o["index"]) for o in interpreter.get_output_details()
        }
        return {
            "scores": out["Identity"],
            "embeddings": out["Identity_1"],
            "log_mel": out["Identity_2"],
        }

    return run


def numpy_log_mel(samples: np.ndarray, mel_matrix: np.ndarray) -> np.ndarray:
    """YAMNet's log-mel in float64 NumPy: end-padded, uncentred frames, periodic Hann."""
    n = samples.size
    padded_length = yamnet_frontend.MIN_SAMPLES + yamnet_frontend.PATCH_HOP_SAMPLES * (
        yamnet_frontend.num_patches(n) - 1
    )
    padded = np.pad(samples.astype(np.float64), (0, padded_length - n))
    frames = 1 + (padded_length - 400) // 160
    framed = np.stack([padded[i * 160 : i * 160 + 400] for i in range(frames)])
    window = 0.5 - 0.5 * np.cos(2 * np.pi * np.arange(400) / 400)
    magnitude = np.abs(np.fft.rfft(framed * window, 512))
    return np.log(magnitude @ mel_matrix.astype(np.float64) + 0.001)


def real_clips(seconds: float = 6.0) -> list[np.ndarray]:
    audio = SHARED / "audio-samples"
    files = (
        sorted((audio / "librosa-data").glob("*.ogg"))[:4]
        + sorted((audio / "fsdd").glob("*.wav"))[:2]
    )
    clips = []
    for path in files:
        samples, rate = soundfile.read(path, dtype="float32", always_2d=True)
        mono = soxr.resample(samples.mean(axis=1), rate, SR)[: int(seconds * SR)]
        clips.append(mono.astype(np.float32))
    return clips


def synthetic_clips() -> list[np.ndarray]:
    rng = np.random.default_rng(0)
    return [
        (0.1 * rng.standard_normal(5 * SR)).astype(np.float32),
        tone(849.0, 0.3125, SR),  # shorter than one patch: padded
        np.zeros(SR, np.float32),
        tone(3000.0, 2.0, SR) + tone(200.0, 2.0, SR),
    ]


# --- weight files ---------------------------------------------------------------------------


def test_cached_weights_load_with_expected_contents():
    weights = yamnet_weights.load()
    assert weights["layer1_conv.kernel"].shape == (3, 3, 1, 32)
    assert weights["layer2_depthwise.kernel"].shape == (3, 3, 32, 1)
    assert weights["layer14_pointwise.kernel"].shape == (1, 1, 1024, 1024)
    assert weights["logits.kernel"].shape == (1024, 521)
    assert weights["mel_matrix"].shape == (257, 64)
    trunk = sum(v.size for k, v in weights.items() if k.startswith("layer"))
    head = weights["logits.kernel"].size + weights["logits.bias"].size
    assert (trunk, head) == (3_195_456, 534_025)  # YAMNet's parameter counts (BN folded)
    assert all(v.dtype == np.float32 for v in weights.values())
    names = yamnet_weights.class_names()
    assert len(names) == 521 and names[0] == "Speech" and "Bark" in names
    files = {entry["file"]: entry["sha256"] for entry in yamnet_weights.weight_files()}
    path, source = cache.locate(YAMNET, "weights")
    assert files[source.name] == source.sha256 == cache.sha256_of(path)


def test_tflite_mel_matrix_is_yamnets_filterbank_rounded_to_int8(tflite_weights):
    computed = tf.signal.linear_to_mel_weight_matrix(64, 257, SR, 125.0, 7500.0).numpy()
    stored = tflite_weights["mel_matrix"]
    half_step = np.abs(computed).max(axis=0) / 127 / 2  # per band: symmetric int8 rounding
    assert np.all(np.abs(stored - computed) <= half_step * 1.01)
    assert np.abs(stored - computed).max() > 0  # it is the rounded one, not a recomputation


def _write_official_h5(path, folded: dict[str, np.ndarray], head_name: str) -> None:
    """``yamnet.h5`` as tensorflow/models' Keras model saves it: separate BN, unnamed Dense.

    Each folded convolution is split back into a bias-free kernel and a batch normalisation
    (random moving statistics, scale=False) that folds to exactly the same kernel and bias.
    """
    import h5py

    rng = np.random.default_rng(0)
    layer_names: list[str] = ["reshape"]
    with h5py.File(path, "w") as handle:

        def layer(name: str, arrays: dict[str, np.ndarray]) -> None:
            group = handle.create_group(name)
            group.attrs["weight_names"] = [f"{name}/{key}:0".encode() for key in arrays]
            for key, value in arrays.items():
                group.create_dataset(f"{name}/{key}:0", data=value)
            layer_names.append(name)

        handle.create_group("reshape").attrs["weight_names"] = []
        for index, block in enumerate(BLOCKS, start=1):
            for part in block.parts():
                kernel = folded[f"layer{index}_{part}.kernel"]
                bias = folded[f"layer{index}_{part}.bias"]
                variance = rng.uniform(0.5, 2.0, bias.size).astype(np.float32)
                mean = rng.normal(0.0, 0.1, bias.size).astype(np.float32)
                scale = 1 / np.sqrt(variance + yamnet_h5.BATCH_NORM_EPSILON)
                conv = f"layer{index}/{'conv' if part == 'conv' else part + '_conv'}"
                shape = (1, 1, -1, 1) if part == "depthwise" else (1, 1, 1, -1)
                key = "depthwise_kernel" if part == "depthwise" else "kernel"
                layer(conv, {key: kernel / scale.reshape(shape)})
                layer(
                    f"{conv}/bn",
                    {"beta": bias + mean * scale, "moving_mean": mean, "moving_variance": variance},
                )
        layer(head_name, {"kernel": folded["logits.kernel"], "bias": folded["logits.bias"]})
        handle.attrs["layer_names"] = [name.encode() for name in layer_names]
        handle.attrs["keras_version"] = b"2.2.4-tf"


@pytest.mark.parametrize("head_name", ["dense", "logits"])
def test_float_h5_loader_folds_batch_norm_into_the_same_network(
    tflite_weights, tmp_path, head_name
):
    path = tmp_path / "yamnet.h5"
    _write_official_h5(path, tflite_weights, head_name)
    weights = yamnet_weights.read(path)
    assert set(weights) == set(tflite_weights)
    for key, value in tflite_weights.items():
        if key != "mel_matrix":
            np.testing.assert_allclose(weights[key], value, rtol=1e-5, atol=1e-6, err_msg=key)
    computed = tf.signal.linear_to_mel_weight_matrix(64, 257, SR, 125.0, 7500.0).numpy()
    np.testing.assert_array_equal(weights["mel_matrix"], computed)


def test_an_h5_without_yamnets_layers_is_refused(tmp_path):
    import h5py

    path = tmp_path / "other.h5"
    with h5py.File(path, "w") as handle:
        handle.attrs["layer_names"] = [b"conv2d"]
        handle.create_group("conv2d").attrs["weight_names"] = []
    with pytest.raises(ValueError, match="layer1/conv"):
        yamnet_weights.read(path)
    with pytest.raises(ValueError, match="not a YAMNet weights file"):
        yamnet_weights.read(tmp_path / "weights.npz")


# --- front end ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("samples", "patches"), [(1, 1), (15_600, 1), (15_601, 2), (23_280, 2), (80_000, 10)]
)
def test_padding_and_patch_counts_follow_yamnet(samples, patches):
    assert yamnet_frontend.num_patches(samples) == patches
    log_mel, framed = yamnet_frontend.log_mel_patches(
        np.full(samples, 0.1, np.float32), yamnet_weights.load()["mel_matrix"]
    )
    frames = 1 + (15_600 + 7_680 * (patches - 1) - 400) // 160
    assert log_mel.shape == (frames, 64)
    assert framed.shape == (patches, 96, 64)
    np.testing.assert_array_equal(framed[-1], log_mel[-96:])


@pytest.mark.parametrize("index", range(4))
def test_front_end_matches_float64_numpy(index):
    samples = synthetic_clips()[index]
    mel_matrix = yamnet_weights.load()["mel_matrix"]
    ours = yamnet_frontend.log_mel_patches(samples, mel_matrix)[0].numpy()
    error = np.abs(ours - numpy_log_mel(samples, mel_matrix))
    assert error.max() < 5e-3 and np.percentile(error, 99) < 1e-3, error.max()


def test_batched_and_single_inputs_agree(model):
    a, b = tone(440.0, 3.0, SR), tone(2500.0, 3.0, SR)
    batched = model(np.stack([a, b]))
    single = model(a)
    assert batched["embeddings"].shape == (2, 6, 1024)  # 48,000 samples
    assert single["scores"].shape == (6, 521)
    for key in ("embeddings", "scores", "log_mel"):
        np.testing.assert_allclose(batched[key][0], single[key], atol=1e-5)


# --- trunk parity against the float TFLite reference ----------------------------------------


def test_parity_with_float_reference(model, reference):
    clips = real_clips() + synthetic_clips()
    assert len(clips) == 10
    for samples in clips:
        expected = reference(samples)
        ours = {k: v.numpy() for k, v in model(samples).items()}
        for key, tolerance in (("log_mel", 5e-3), ("embeddings", 5e-4), ("scores", 1e-4)):
            assert ours[key].shape == expected[key].shape, key
            error = np.abs(ours[key] - expected[key]).max()
            assert error < tolerance, (key, samples.size, error)


# --- use in Keras and in a SavedModel -------------------------------------------------------


def test_trainable_blocks_select_the_top_layers():
    assert yamnet.build_network(trainable_blocks=0).trainable_weights == []
    names = {
        w.path.split("/")[0] for w in yamnet.build_network(trainable_blocks=2).trainable_weights
    }
    assert names == {f"layer{i}_{p}" for i in (13, 14) for p in ("depthwise", "pointwise")}
    with pytest.raises(ValueError, match="trainable_blocks"):
        yamnet.build_network(trainable_blocks=15)


def test_fine_tuning_a_head_on_the_trunk_moves_only_the_unfrozen_layers():
    import keras

    trunk = yamnet.build_network(trainable_blocks=1)
    inputs = keras.Input((96, 64))
    outputs = keras.layers.Dense(3, activation="softmax")(trunk(inputs))
    classifier = keras.Model(inputs, outputs)
    classifier.compile(optimizer=keras.optimizers.SGD(0.1), loss="sparse_categorical_crossentropy")
    before = {layer.name: layer.get_weights()[0].copy() for layer in trunk.layers if layer.weights}
    x = np.random.default_rng(0).standard_normal((4, 96, 64)).astype(np.float32)
    classifier.train_on_batch(x, np.array([0, 1, 2, 0]))
    moved = {
        name
        for name, w in before.items()
        if not np.array_equal(w, trunk.get_layer(name).get_weights()[0])
    }
    assert moved == {"layer14_depthwise", "layer14_pointwise"}


def test_saved_model_reloads_with_the_same_outputs(model, tmp_path):
    module = tf.Module()
    module.yamnet = model
    module.embed = tf.function(
        model.__call__, input_signature=[tf.TensorSpec([None, None], tf.float32)]
    )
    tf.saved_model.save(module, str(tmp_path))
    loaded = tf.saved_model.load(str(tmp_path))
    batch = np.stack([tone(440.0, 2.0, SR), synthetic_clips()[0][: 2 * SR]])
    expected = model(batch)
    got = loaded.embed(tf.constant(batch))
    for key in ("embeddings", "scores", "log_mel"):
        # the traced graph may pick other oneDNN kernels than eager mode: float32 rounding apart
        np.testing.assert_allclose(got[key].numpy(), expected[key].numpy(), rtol=2e-6, atol=1e-6)
    graph = loaded.embed.get_concrete_function(tf.TensorSpec([None, None], tf.float32)).graph
    op_types = {op.type for op in graph.get_operations()}
    functions = {node.op for f in graph.as_graph_def().library.function for node in f.node_def}
    assert not {t for t in op_types | functions if "PyFunc" in t or "TFLite" in t}
