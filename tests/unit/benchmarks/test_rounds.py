"""Alternated rounds, and the serving benchmark's comparison of a model with a baseline."""

import os

import tensorflow as tf

from benchmarks import rounds, serve
from components.artifacts.names import SERVED_MODEL_NAME
from components.artifacts.signature import DEFAULT_SIGNATURE, WAV_INPUT


def test_every_path_runs_once_per_round_in_turn():
    calls = []
    per_round = rounds.alternated(
        {"a": lambda: calls.append("a") or len(calls), "b": lambda: calls.append("b") or 0}, 3
    )
    assert calls == ["a", "b"] * 3
    assert per_round == [{"a": 1, "b": 0}, {"a": 3, "b": 0}, {"a": 5, "b": 0}]


def test_the_ratio_is_the_median_of_each_rounds_own_ratio():
    per_round = [{"x": 30.0, "y": 10.0}, {"x": 10.0, "y": 10.0}, {"x": 40.0, "y": 20.0}]
    assert rounds.median_ratio(per_round, "x", "y") == "2.00x (rounds: 3.00, 1.00, 2.00)"


def _model_base(folder: str, version: int, scale: float) -> str:
    """A model base whose newest version's ``serving_default`` maps WAV bytes to a number."""
    module = tf.Module()
    module.serve = tf.function(
        lambda audio_wav: {"length": scale * tf.cast(tf.strings.length(audio_wav), tf.float32)},
        input_signature=[tf.TensorSpec([None], tf.string, name=WAV_INPUT)],
    )
    for number in (version - 1, version):
        path = os.path.join(folder, SERVED_MODEL_NAME, str(number))
        tf.saved_model.save(module, path, signatures={DEFAULT_SIGNATURE: module.serve})
    return folder


def test_the_served_model_is_compared_with_the_newest_baseline_version_in_alternated_rounds(
    tmp_path,
):
    served = tf.saved_model.load(
        os.path.join(_model_base(str(tmp_path / "served"), 1, 2.0), SERVED_MODEL_NAME, "1")
    ).signatures[DEFAULT_SIGNATURE]
    baseline_base = _model_base(str(tmp_path / "baseline"), 10, 1.0)
    clip = tf.constant([b"RIFF1234"])
    answers = []

    def measure_one(call) -> dict:
        """Each served call answers 16, each baseline's 8; rates fall round by round."""
        answers.append(float(call()["length"][0]))
        rate = {16.0: 90.0, 8.0: 45.0}[answers[-1]] - len(answers)
        return {"clips_per_s": rate, "p99_ms": 1000 / rate}

    lines = serve.against_baseline(served, baseline_base, clip, measure_one, rounds=2)
    assert answers == [16.0, 8.0, 16.0, 8.0]
    assert "2 alternated rounds" in lines[0]
    assert os.path.join(baseline_base, SERVED_MODEL_NAME, "10") in lines[0]
    assert lines[1].split() == ["served", "clips/s", "89.0,", "87.0;", "p99", "ms", "11.2,", "11.5"]
    assert lines[2].split()[:4] == ["baseline", "clips/s", "43.0,", "41.0;"]
    assert lines[3].strip() == "served / baseline clips/s: 2.10x (rounds: 2.07, 2.12)"
