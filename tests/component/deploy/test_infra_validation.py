"""deploy's infra validation: replay in the export's TensorFlow and in the serving image's.

The comparison is tested on real replay results with one value tampered; the refusal on a real
TensorFlow difference with a SavedModel that uses ``DecodeJxl``, an op TensorFlow 2.21 has and
2.20 (the TensorFlow of tensorflow/serving:2.20.0) does not; the pass path on a small SavedModel
and on the shared exported Keras model. The slow tests run the real serving TensorFlow, which
``make install`` provisions (``python -m components.deploy.serving_tf``).
"""

import base64
import copy
import json
import os
import sys

import numpy as np
import pytest
import tensorflow as tf
from tensorflow_serving.apis import predict_pb2

from components.artifacts import model_base
from components.artifacts.serving_stack import SERVING_IMAGE, SERVING_TENSORFLOW
from components.deploy import core, infra_validation, serving_replay, serving_tf, warmup

pytestmark = pytest.mark.xdist_group("serving")  # shares the serving tests' exported model
MODEL = "tiny"


class Affine(tf.Module):
    """``y = 2x + 1`` through a variable; with ``jxl``, a never-taken branch decodes JPEG XL."""

    def __init__(self, jxl: bool = False):
        super().__init__()
        self.scale = tf.Variable(2.0)
        self.jxl = jxl

    @tf.function(input_signature=[tf.TensorSpec([None], tf.float32, name="x")])
    def serve(self, x):
        y = x * self.scale + 1.0
        if self.jxl:  # DecodeJxl is registered from TensorFlow 2.21 on

            def decode_jxl():
                image = tf.raw_ops.DecodeJxl(contents=tf.constant(b""), channels=1)
                return y + tf.cast(tf.reduce_sum(image), tf.float32)

            y = tf.cond(tf.size(x) < 0, decode_jxl, lambda: y)
        return {"y": y, "label": tf.where(y > 4.0, "big", "small")}


def save_affine(export_dir: str, jxl: bool = False) -> str:
    """The module as a SavedModel with a warmup file of two requests."""
    module = Affine(jxl)
    tf.saved_model.save(module, export_dir, signatures={"serving_default": module.serve})
    tf.io.gfile.makedirs(model_base.assets_dir(export_dir))
    requests = [
        warmup.predict_request(MODEL, "serving_default", "x", np.array(values, np.float32))
        for values in ([1.0, 2.0], [0.5])
    ]
    warmup.write_requests(model_base.warmup_file(export_dir), requests)
    return export_dir


def warmup_file(export_dir: str) -> str:
    return model_base.warmup_file(export_dir)


def tampered(result: dict, index: int, output: str, delta: float) -> dict:
    """``result`` with ``delta`` added to the first value of one request's output."""
    changed = copy.deepcopy(result)
    entry = changed["results"][index]
    response = predict_pb2.PredictResponse.FromString(base64.b64decode(entry["response"]))
    values = tf.make_ndarray(response.outputs[output]).copy()
    values.flat[0] += delta
    response.outputs[output].CopyFrom(tf.make_tensor_proto(values))
    entry["response"] = base64.b64encode(response.SerializeToString()).decode()
    return changed


@pytest.fixture(scope="module")
def affine_dir(tmp_path_factory) -> str:
    return save_affine(str(tmp_path_factory.mktemp("affine") / "1"))


@pytest.fixture(scope="module")
def affine_replay(affine_dir) -> dict:
    return serving_replay.replay(affine_dir, [warmup_file(affine_dir)])


LABELS = ["warmup record 1 (serving_default)", "warmup record 2 (serving_default)"]


def test_replay_answers_as_tf_serving_would(affine_replay) -> None:
    assert affine_replay["load_error"] is None
    assert [entry["error"] for entry in affine_replay["results"]] == [None, None]
    response = predict_pb2.PredictResponse.FromString(
        base64.b64decode(affine_replay["results"][0]["response"])
    )
    np.testing.assert_array_equal(tf.make_ndarray(response.outputs["y"]), [3.0, 5.0])
    assert tf.make_ndarray(response.outputs["label"]).tolist() == [b"small", b"big"]


def test_identical_results_agree(affine_replay) -> None:
    assert infra_validation.compare(affine_replay, affine_replay, LABELS) == ([], 0.0)


def test_a_score_off_by_more_than_the_tolerance_is_named(affine_replay) -> None:
    served = tampered(affine_replay, 1, "y", 2e-5)
    problems, largest = infra_validation.compare(affine_replay, served, LABELS)
    assert largest == pytest.approx(2e-5, rel=0.01)  # float32 rounding
    (problem,) = problems
    assert problem.startswith("warmup record 2 (serving_default): y differs by up to 2e-05")
    assert "(> 1e-05) at (0,)" in problem


def test_a_score_within_the_tolerance_passes(affine_replay) -> None:
    problems, largest = infra_validation.compare(
        affine_replay, tampered(affine_replay, 0, "y", 5e-6), LABELS
    )
    assert problems == [] and 0 < largest < infra_validation.TOLERANCE


def test_changed_strings_shapes_and_errors_are_named(affine_replay) -> None:
    served = copy.deepcopy(affine_replay)
    response = predict_pb2.PredictResponse.FromString(
        base64.b64decode(served["results"][0]["response"])
    )
    response.outputs["label"].CopyFrom(tf.make_tensor_proto(np.array([b"small", b"small"])))
    response.outputs["y"].CopyFrom(tf.make_tensor_proto(np.array([3.0], np.float32)))
    served["results"][0]["response"] = base64.b64encode(response.SerializeToString()).decode()
    served["results"][1] = {"error": "InvalidArgumentError: boom", "response": None}
    served["tensorflow"] = "2.20.0"
    problems, _ = infra_validation.compare(affine_replay, served, LABELS)
    assert problems == [
        f"{LABELS[0]}: label: 1 of 2 values differ, first at (1,): b'small' instead of b'big'",
        f"{LABELS[0]}: y is float32 [1] instead of float32 [2]",
        f"{LABELS[1]}: TensorFlow 2.20.0 fails: InvalidArgumentError: boom",
    ]


def test_a_request_both_refuse_agrees_and_a_load_error_is_the_answer(affine_replay) -> None:
    refused = {"error": "InvalidArgumentError: audio too short", "response": None}
    both = copy.deepcopy(affine_replay)
    both["results"][1] = refused
    assert infra_validation.compare(both, both, LABELS)[0] == []
    unloadable = {"tensorflow": "2.20.0", "load_error": "NotFoundError: Op type not registered"}
    (problem,) = infra_validation.compare(affine_replay, unloadable, LABELS)[0]
    assert problem == (
        "TensorFlow 2.20.0 cannot load the SavedModel: NotFoundError: Op type not registered"
    )


def test_test_clips_are_the_first_test_wavs_by_clip_id(tmp_path) -> None:
    wav = warmup.wav_bytes(warmup.chirp(16000, seconds=1.0), 16000)
    (tmp_path / "b.wav").write_bytes(wav)
    (tmp_path / "c.wav").write_bytes(wav)
    (tmp_path / "d.flac").write_bytes(b"fLaC" + bytes(40))
    rows = [
        {"clip_id": "c", "uri": str(tmp_path / "c.wav"), "split": "test"},
        {"clip_id": "b", "uri": str(tmp_path / "b.wav"), "split": "test"},
        {"clip_id": "a", "uri": str(tmp_path / "missing.wav"), "split": "test"},
        {"clip_id": "0", "uri": str(tmp_path / "d.flac"), "split": "test"},
        {"clip_id": "00", "uri": str(tmp_path / "b.wav"), "split": "train"},
    ]
    manifest = tmp_path / "manifest.jsonl"
    manifest.write_text("".join(json.dumps(row) + "\n" for row in rows))
    clips = infra_validation.test_clips(str(manifest), 5)
    assert [clip.name for clip in clips] == ["b", "c"]
    assert clips[0].wav == wav
    assert [clip.name for clip in infra_validation.test_clips(str(manifest), 1)] == ["b"]


def test_a_serving_replay_that_dies_refuses_with_its_exit_code(affine_dir, monkeypatch) -> None:
    broken = serving_tf.ServingTensorflow("/", sys.executable, SERVING_TENSORFLOW, "", False, 0.0)
    monkeypatch.setattr(serving_tf, "interpreter", lambda: broken)
    monkeypatch.setattr(serving_replay, "__file__", "/nonexistent/serving_replay.py")
    with pytest.raises(infra_validation.InfraValidationError, match="exited 2 without a result"):
        infra_validation.validate(affine_dir)


def test_deploy_publishes_nothing_when_the_validation_refuses(
    keras_model_dir, transform_graph, tmp_path, monkeypatch
) -> None:
    def refuse(*args, **kwargs):
        raise infra_validation.InfraValidationError("infra validation: DecodeJxl is missing")

    monkeypatch.setattr(infra_validation, "validate", refuse)
    blessing = {"blessed": True, "candidate": "cnn_log_mel", "reasons": []}
    result = core.run([keras_model_dir], transform_graph, str(tmp_path), blessing)
    assert not result.deployed and result.version is None
    assert result.reasons[0] == "infra validation: DecodeJxl is missing"
    assert result.infra_validation == {"passed": False, "error": result.reasons[0]}
    assert os.listdir(tmp_path) == [] or not os.listdir(tmp_path / "household_sounds")


@pytest.mark.slow
def test_an_op_the_serving_tensorflow_lacks_refuses_the_export(tmp_path) -> None:
    export_dir = save_affine(str(tmp_path / "1"), jxl=True)
    with pytest.raises(infra_validation.InfraValidationError) as refused:
        infra_validation.validate(export_dir)
    message = str(refused.value)
    assert f"TensorFlow {SERVING_TENSORFLOW} (the TensorFlow of {SERVING_IMAGE}" in message
    assert "DecodeJxl" in message and "nothing published" in message


@pytest.mark.slow
def test_a_small_model_passes_in_the_serving_tensorflow(affine_dir) -> None:
    report = infra_validation.validate(affine_dir)
    assert (report.tensorflow, report.image) == (SERVING_TENSORFLOW, SERVING_IMAGE)
    assert report.export_tensorflow == tf.__version__
    assert (report.requests, report.clips, report.max_abs_difference) == (2, 0, 0.0)


@pytest.mark.slow
def test_the_exported_keras_model_loads_and_answers_as_tf_serving_loads_it(version_dir) -> None:
    """The shared fixture's version was published by ``core.run``, so it passed the validation;
    this replays it the TF Serving way once more (the Keras 3 variables were once never restored
    by the SavedModel's saver, keras-team/keras#20095)."""
    replayed = serving_replay.replay(version_dir, [warmup_file(version_dir)])
    assert replayed["load_error"] is None
    assert [entry["error"] for entry in replayed["results"]] == [None] * len(replayed["results"])
