"""`make demo`'s run, as a test: the whole pipeline through kfp.local on the embedded demo data.

One run (module fixture) of exactly what `make demo` runs — the generated FSD50K-shaped demo
dataset and ``DEMO_ARGUMENTS`` — and several checks on its run directory: this is the test that
proves `household-sounds run` works end to end with the same pipeline function Kubeflow compiles,
and that every model it trains learns something on the demo's test split.
"""

import json

import pytest
import tensorflow as tf

from components.audio.labels import CLASS_NAMES
from components.baselines.config import models_reading
from components.featurize.config import FeaturizeConfig
from components.ingest.fingerprint import fingerprint
from components.train.config import families_reading
from demo_data.dataset import DemoConfig, generate
from pipelines import local
from pipelines.presets import DEMO_ARGUMENTS
from pipelines.training import BASELINE_MODELS, KERAS_FAMILIES, training_pipeline

# The demo computes the default feature sets: no YAMNet embedding, no mn04 log-mel.
FEATURE_SETS = list(FeaturizeConfig.feature_sets)
FAMILIES = families_reading(FEATURE_SETS, KERAS_FAMILIES)
BASELINES = models_reading(FEATURE_SETS, BASELINE_MODELS)

# one group: the module's run happens once, on one xdist worker
pytestmark = [pytest.mark.slow, pytest.mark.e2e, pytest.mark.xdist_group("e2e")]


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    root = tmp_path_factory.mktemp("e2e")
    data = root / "data"
    generate(str(data), DemoConfig())
    arguments = {
        "data_root": str(data),
        "data_fingerprint": fingerprint(str(data)),
        "model_base": str(root / "run" / "serving"),
        **DEMO_ARGUMENTS,
    }
    local.run(training_pipeline, str(root / "run"), arguments)
    return root / "run"


def test_this_module_runs_as_one_xdist_group(request):
    # pytest 9.2 + pytest-xdist 3.8 dropped the group silently, and each worker ran the demo
    if getattr(request.config.option, "loadgroup", False):
        assert request.node.nodeid.endswith("@e2e"), request.node.nodeid


def test_run_directory_has_every_published_output(run_dir):
    for name in ("manifest", "rebalance", "featurize", "transform_graph", "evaluation"):
        assert (run_dir / name).exists(), name
    assert (run_dir / "manifest" / "manifest.jsonl").stat().st_size > 0
    for split in ("train", "validation", "test"):
        assert tf.io.gfile.glob(str(run_dir / "featurize" / "examples" / split / "*.gz")), split
    run = json.loads((run_dir / "run.json").read_text())
    assert run["arguments"]["target_per_class"] == DEMO_ARGUMENTS["target_per_class"]


def test_broken_demo_clips_are_dead_lettered_not_fatal(run_dir):
    dead = [json.loads(line) for line in (run_dir / "featurize" / "dead_letter.jsonl").open()]
    assert len(dead) >= 4
    assert {"empty_file", "undecodable", "silent"} <= {row["reason"] for row in dead}


def test_every_model_is_evaluated(run_dir):
    metrics = json.loads((run_dir / "evaluation" / "metrics.json").read_text())
    tuned = {f"{family}_tuned" for family in DEMO_ARGUMENTS["tuned_families"]}
    expected = set(FAMILIES) | tuned | set(BASELINES)
    # the models of the sets left out were skipped, not trained
    assert not [name for name in metrics["models"] if "yamnet" in name or "finetuned" in name]
    assert json.loads((run_dir / "featurize" / "feature_sets.json").read_text()) == {
        "feature_sets": FEATURE_SETS
    }
    assert set(metrics["models"]) == expected
    for name, entry in metrics["models"].items():
        for key in ("accuracy", "macro_f1", "macro_precision", "macro_recall", "n_test"):
            assert key in entry, (name, key)
        assert set(entry["per_class_f1"]) == set(CLASS_NAMES)
        assert 0.0 <= entry["macro_f1"] <= 1.0


def test_every_model_beats_the_majority_class_on_the_demo_test_split(run_dir):
    metrics = json.loads((run_dir / "evaluation" / "metrics.json").read_text())
    majority = metrics["majority_class"]["macro_f1"]
    scores = {name: entry["macro_f1"] for name, entry in metrics["models"].items()}
    assert all(entry["beats_majority_class"] for entry in metrics["models"].values())
    assert min(scores.values()) > majority, (majority, scores)


def test_tuned_models_keep_their_search_artifacts(run_dir):
    for family in DEMO_ARGUMENTS["tuned_families"]:
        model_dir = run_dir / "models" / f"{family}_tuned"
        trials = json.loads((model_dir / "trials.json").read_text())
        best = json.loads((model_dir / "best_hparams.json").read_text())
        assert trials and trials[0]["hyperparameters"] == best, family
    dense = run_dir / "models" / "dense_mean_mfcc_tuned" / "best_hparams.json"
    assert json.loads(dense.read_text())["optimizer"] == "adamw"  # the recipe's, not searched


def test_family_overrides_reach_the_training_tasks(run_dir):
    card = json.loads((run_dir / "models" / "resnet50_mfcc" / "model.json").read_text())
    override = DEMO_ARGUMENTS["family_overrides"]["resnet50_mfcc"]
    assert card["config"]["epochs"] == override["epochs"]
    assert card["hyperparameters"]["batch_norm_momentum"] == 0.9


def test_models_are_published(run_dir):
    names = {path.name for path in (run_dir / "models").iterdir()}
    assert set(BASELINES) <= names
