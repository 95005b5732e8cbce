"""The whole pipeline through kfp.local on a tiny generated FSD50K-shaped dataset.

One run (module fixture) and several checks on its run directory: this is the test that proves
`household-sounds run` works end to end with the same pipeline function Kubeflow compiles.
"""

import json

import pytest
import tensorflow as tf

from components.audio.labels import CLASS_NAMES
from components.ingest import demo_dataset
from pipelines import local
from pipelines.training import BASELINE_MODELS, KERAS_FAMILIES, training_pipeline

pytestmark = [pytest.mark.slow, pytest.mark.e2e]

TINY_ARGUMENTS = {
    "data_format": "fsd50k",
    "target_per_class": 8,
    "epochs": 1,
    "max_trials": 1,
    # a dict parameter reaches the task as a protobuf Struct (numbers as floats): exercise it
    "family_overrides": {"resnet50_mfcc": {"epochs": 1, "batch_size": 8}},
    "search_iterations": 1,
    "min_macro_f1": 0.0,
    "min_worst_slice_f1": 0.0,
}


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    root = tmp_path_factory.mktemp("e2e")
    data = root / "data"
    demo_dataset.generate(str(data), demo_dataset.DemoConfig(dev_clips=72, eval_clips=32))
    arguments = {
        "data_root": str(data),
        "model_base": str(root / "run" / "serving"),
        **TINY_ARGUMENTS,
    }
    local.run(training_pipeline, str(root / "run"), arguments)
    return root / "run"


def test_run_directory_has_every_published_output(run_dir):
    for name in ("manifest", "rebalance", "featurize", "transform_graph", "evaluation"):
        assert (run_dir / name).exists(), name
    assert (run_dir / "manifest" / "manifest.jsonl").stat().st_size > 0
    for split in ("train", "validation", "test"):
        assert tf.io.gfile.glob(str(run_dir / "featurize" / "examples" / split / "*.gz")), split
    run = json.loads((run_dir / "run.json").read_text())
    assert run["arguments"]["target_per_class"] == 8


def test_broken_demo_clips_are_dead_lettered_not_fatal(run_dir):
    dead = [json.loads(line) for line in (run_dir / "featurize" / "dead_letter.jsonl").open()]
    assert len(dead) >= 4
    assert {"empty_file", "undecodable", "silent"} <= {row["reason"] for row in dead}


def test_every_model_is_evaluated(run_dir):
    metrics = json.loads((run_dir / "evaluation" / "metrics.json").read_text())
    expected = set(KERAS_FAMILIES) | {f"{f}_tuned" for f in KERAS_FAMILIES} | set(BASELINE_MODELS)
    assert set(metrics["models"]) == expected
    for name, entry in metrics["models"].items():
        for key in ("accuracy", "macro_f1", "macro_precision", "macro_recall", "n_test"):
            assert key in entry, (name, key)
        assert set(entry["per_class_f1"]) == set(CLASS_NAMES)
        assert 0.0 <= entry["macro_f1"] <= 1.0


def test_models_are_published(run_dir):
    names = {path.name for path in (run_dir / "models").iterdir()}
    assert set(BASELINE_MODELS) <= names
