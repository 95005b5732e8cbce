"""mn04 as TF/Keras: parity with the official model, checkpoint accounting, fine-tuning, export.

The reference is the official PyTorch model's output on 17 real clips (``reference.npz``, in
../shared/models/efficientat with the checkpoint; tests skip without them). Measured over all 17
clips with TF 2.21 on CPU, batched or one at a time: log-mel ≤ 7.4e-5 apart (the largest gaps in
quiet bins, where the two float32 FFTs round differently and the log amplifies it), embedding
≤ 5.6e-6, logits ≤ 4.0e-5 through ``Mn04`` (batch norm folded; ≤ 4.9e-6 and 3.4e-5 unfolded);
every clip's top five AudioSet tags are the official model's, in order, their sigmoid scores
within 1e-4 (``reference.json`` rounds them to 5e-5).
The tolerances below are those with a margin; a wrong padding, layout, activation or weight
moves the logits by 0.1 or more.
"""

import csv
import json

import keras
import numpy as np
import pytest
import tensorflow as tf

from components.audio import mn04, mn04_frontend, mn04_weights
from tests.helpers.audio import tone
from tests.helpers.paths import SHARED

pytestmark = pytest.mark.xdist_group("mn04")  # one worker builds the network once

EFFICIENTAT = SHARED / "models" / "efficientat"
CHECKPOINT = EFFICIENTAT / "mn04_as_mAP_432.pt"
TOLERANCES = {"log_mel": 2e-4, "embedding": 2e-5, "logits": 1e-4}


@pytest.fixture(scope="module")
def state_dict() -> dict[str, np.ndarray]:
    if not CHECKPOINT.is_file():
        pytest.skip("../shared/models/efficientat/mn04_as_mAP_432.pt is not present")
    return mn04_weights.read_checkpoint(CHECKPOINT)


@pytest.fixture(scope="module")
def model(state_dict) -> mn04.Mn04:
    return mn04.Mn04(state_dict)


@pytest.fixture(scope="module")
def reference() -> tuple[dict[str, np.ndarray], list[dict]]:
    if not (EFFICIENTAT / "reference.npz").is_file():
        pytest.skip("../shared/models/efficientat/reference.npz is not present")
    with np.load(EFFICIENTAT / "reference.npz") as data:
        arrays = {key: data[key] for key in data.files}
    return arrays, json.loads((EFFICIENTAT / "reference.json").read_text())


def audioset_labels() -> list[str]:
    with (EFFICIENTAT / "class_labels_indices.csv").open(newline="", encoding="utf-8") as handle:
        return [row["display_name"] for row in csv.DictReader(handle)]


# --- architecture ---------------------------------------------------------------------------


def test_parameter_count_and_stages_are_mn04s():
    network = mn04.build_network(trainable_stages=len(mn04.STAGES), with_logits=True)
    assert sum(w.numpy().size for w in network.trainable_weights) == 983_599
    prefixes = {layer.name.split("_")[0] for layer in network.layers if layer.weights}
    assert prefixes == {*mn04.STAGES, "head"}
    # 128 mel bands and 1,000 frames (10 s) are downsampled 32×: stem and four stride-2 blocks.
    assert network.get_layer("top_conv_act").output.shape[1] == 4
    assert sum(block.stride == 2 for block in mn04.BLOCKS) == 4


def test_checkpoint_mismatches_are_named(state_dict):
    network = mn04.build_network(with_logits=True)
    damaged = dict(state_dict)
    del damaged["features.4.block.2.conc_se_layers.0.fc1.bias"]
    damaged["features.17.0.weight"] = np.zeros(1, np.float32)
    damaged["features.7.block.1.0.weight"] = np.zeros((96, 1, 5, 5), np.float32)
    with pytest.raises(mn04.CheckpointMismatch) as raised:
        mn04.load_checkpoint(network, damaged)
    message = str(raised.value)
    assert "missing features.4.block.2.conc_se_layers.0.fc1.bias" in message
    assert "unused features.17.0.weight" in message
    assert "features.7.block.1.0 → block07_depthwise" in message


def test_trunk_only_network_leaves_the_head_out(state_dict):
    trunk = mn04.build_network(state_dict)
    assert set(trunk.output) == {mn04.EMBEDDING}
    assert not any(layer.name.startswith("head") for layer in trunk.layers)


def test_folded_batch_norm_computes_the_same_function(state_dict):
    network = mn04.build_network(state_dict, with_logits=True)
    folded = mn04.fold_batch_norm(network)
    assert not any(isinstance(layer, keras.layers.BatchNormalization) for layer in folded.layers)
    assert folded.trainable_weights == []
    x = np.random.default_rng(1).standard_normal((2, mn04_frontend.N_MELS, 120)).astype(np.float32)
    expected, got = network(x, training=False), folded(x)
    for key in (mn04.EMBEDDING, mn04.LOGITS):
        np.testing.assert_allclose(got[key], expected[key], atol=2e-5)


@pytest.mark.parametrize("with_logits", [False, True])
def test_the_inference_network_folds_as_it_loads_to_the_bit(state_dict, with_logits):
    folded = mn04.fold_batch_norm(mn04.build_network(state_dict, with_logits=with_logits))
    direct = mn04.inference_network(state_dict, with_logits=with_logits)
    assert [layer.name for layer in direct.layers] == [layer.name for layer in folded.layers]
    assert direct.trainable_weights == []
    for ours, theirs in zip(direct.weights, folded.weights, strict=True):
        np.testing.assert_array_equal(np.asarray(ours), np.asarray(theirs))


def test_the_inference_network_names_checkpoint_mismatches(state_dict):
    damaged = dict(state_dict)
    del damaged["features.3.block.1.1.running_var"]
    damaged["features.7.block.1.0.weight"] = np.zeros((96, 1, 5, 5), np.float32)
    with pytest.raises(mn04.CheckpointMismatch) as raised:
        mn04.inference_network(damaged)
    assert "missing features.3.block.1.1.running_var" in str(raised.value)
    assert "features.7.block.1.0 → block07_depthwise" in str(raised.value)


# --- parity with the official model ---------------------------------------------------------


@pytest.fixture(scope="module")
def outputs(model, reference) -> dict[str, dict[str, np.ndarray]]:
    """Our outputs on every reference clip; clips of one length run as one batch."""
    arrays, clips = reference
    by_length: dict[int, list[str]] = {}
    for clip in clips:
        by_length.setdefault(clip["samples"], []).append(clip["key"])
    results = {}
    for keys in by_length.values():
        batch = model(np.stack([arrays[f"{key}_waveform_32k"] for key in keys]))
        for row, key in enumerate(keys):
            results[key] = {name: value[row].numpy() for name, value in batch.items()}
    return results


def test_parity_with_official_model_on_all_reference_clips(outputs, reference):
    arrays, clips = reference
    assert len(clips) == len(outputs) == 17
    errors = dict.fromkeys(TOLERANCES, 0.0)
    for key, ours in outputs.items():
        for name, stored in (
            ("log_mel", "logmel"),
            ("embedding", "embedding"),
            ("logits", "logits"),
        ):
            expected = arrays[f"{key}_{stored}"]
            assert ours[name].shape == expected.shape, (key, name)
            errors[name] = max(errors[name], float(np.abs(ours[name] - expected).max()))
    assert all(errors[name] < TOLERANCES[name] for name in TOLERANCES), errors


def test_top_audioset_tags_are_the_official_models(outputs, reference):
    _, clips = reference
    labels = audioset_labels()
    for clip in clips:
        scores = 1 / (1 + np.exp(-outputs[clip["key"]]["logits"].astype(np.float64)))
        top = np.argsort(scores)[::-1][:5]
        assert [labels[i] for i in top] == [name for name, _ in clip["top5"]], clip["source"]
        np.testing.assert_allclose(scores[top], [s for _, s in clip["top5"]], atol=1e-4)


# --- fine-tuning ----------------------------------------------------------------------------


def test_trainable_stages_select_the_top_of_the_trunk(state_dict):
    network = mn04.build_network(state_dict, with_logits=True)
    assert network.trainable_weights == []
    mn04.set_trainable_stages(network, 2)
    names = {w.path.split("/")[0].split("_")[0] for w in network.trainable_weights}
    assert names == {"block15", "top", "head"}
    with pytest.raises(ValueError, match="trainable_stages"):
        mn04.set_trainable_stages(network, 18)


def test_fine_tuning_moves_only_the_unfrozen_stages(state_dict):
    trunk = mn04.build_network(state_dict, trainable_stages=1)
    inputs = keras.Input((mn04_frontend.N_MELS, 100))
    outputs = keras.layers.Dense(3, activation="softmax")(trunk(inputs)[mn04.EMBEDDING])
    classifier = keras.Model(inputs, outputs)
    classifier.compile(optimizer=keras.optimizers.SGD(0.1), loss="sparse_categorical_crossentropy")
    before = {w.path: w.numpy().copy() for w in trunk.weights}
    x = np.random.default_rng(0).standard_normal((4, mn04_frontend.N_MELS, 100)).astype(np.float32)
    classifier.train_on_batch(x, np.array([0, 1, 2, 0]))
    after = {w.path: w.numpy() for w in trunk.weights}
    moved = {path for path, value in before.items() if not np.array_equal(value, after[path])}
    # The top stage's convolution and its batch norm (weights and moving statistics) move;
    # the frozen stages' batch norms keep their moving statistics.
    assert {path.split("/")[0] for path in moved} == {"top_conv", "top_conv_bn"}


# --- one graph: batching and SavedModel export ----------------------------------------------


def test_batched_and_single_waveforms_agree(model):
    a, b = tone(440.0, 1.0, mn04_frontend.SAMPLE_RATE), tone(5000.0, 1.0, mn04_frontend.SAMPLE_RATE)
    batched = model(np.stack([a, b]))
    single = model(b[None])
    assert batched["embedding"].shape == (2, 384) and batched["logits"].shape == (2, 527)
    assert batched["log_mel"].shape == (2, 128, 100)
    # Batch composition changes the reduction order of oneDNN's kernels: float32
    # round-off of a few ulps on values near 10, so the tolerance is relative too.
    for key in ("embedding", "logits", "log_mel"):
        np.testing.assert_allclose(batched[key][1], single[key][0], rtol=5e-6, atol=1e-5)


@pytest.mark.slow
def test_saved_model_reloads_with_identical_outputs(model, tmp_path):
    module = tf.Module()
    module.mn04 = model
    module.embed = tf.function(
        model.__call__, input_signature=[tf.TensorSpec([None, None], tf.float32)]
    )
    tf.saved_model.save(module, str(tmp_path))
    loaded = tf.saved_model.load(str(tmp_path))
    rng = np.random.default_rng(0)
    batch = (0.1 * rng.standard_normal((2, 2 * mn04_frontend.SAMPLE_RATE))).astype(np.float32)
    expected = module.embed(tf.constant(batch))
    got = loaded.embed(tf.constant(batch))
    for key in ("embedding", "logits", "log_mel"):
        np.testing.assert_array_equal(got[key].numpy(), expected[key].numpy())
    graph = loaded.embed.get_concrete_function(tf.TensorSpec([None, None], tf.float32)).graph
    op_types = {op.type for op in graph.get_operations()}
    functions = {node.op for f in graph.as_graph_def().library.function for node in f.node_def}
    assert not {t for t in op_types | functions if "PyFunc" in t}
