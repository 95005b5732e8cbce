"""scripts/compare_runs.py (`make image-demo`'s comparison) on two small synthetic runs.

Each run is what a published local run holds for the script: ingest's and rebalance's
manifests, featurize's shards (tests/helpers/training_examples.py) with their feature sets and
dead letter, the model folders, evaluate's metrics and blessing, and deploy's deployment file.
"""

import importlib.util
import json
from pathlib import Path

import pytest

from components.artifacts import shards
from components.audio.features import LOG_MEL, MEAN_MFCC, MFCC, MN04_EMBEDDING
from components.evaluate import blessing
from tests.helpers.paths import ROOT
from tests.helpers.training_examples import write_examples

pytestmark = pytest.mark.xdist_group("infra")

FEATURE_SETS = (LOG_MEL, MFCC, MEAN_MFCC, MN04_EMBEDDING)
SCORES = {"mn04": 0.742, "logistic_regression_mn04": 0.733, "svc": 0.644}


def load_script():
    spec = importlib.util.spec_from_file_location("compare_runs", ROOT / "scripts/compare_runs.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


compare_runs = load_script()


def write_run(
    root: Path,
    scores: dict[str, float] = SCORES,
    *,
    seed: int = 0,
    shards_per_split: int = 2,
    candidate: str | None = None,
    deployed: str | None = None,
) -> Path:
    """A published run; the blessing's candidate and the deployed model default to the best."""
    clips = [{"clip_id": f"clip-{i}", "label": i % 3} for i in range(6)]
    for step in ("manifest", "rebalance"):
        (root / step).mkdir(parents=True)
        (root / step / "manifest.jsonl").write_text("".join(json.dumps(c) + "\n" for c in clips))
    featurize = root / "featurize"
    write_examples(
        featurize, {"train": 2, "validation": 1, "test": 1}, seed=seed, shards=shards_per_split
    )
    shards.write_feature_sets(str(featurize), FEATURE_SETS)
    (featurize / "dead_letter.jsonl").write_text(json.dumps({"clip_id": "clip-9"}) + "\n")
    for name in scores:
        (root / "models" / name).mkdir(parents=True)
    models = {
        name: {"macro_f1": f1, "accuracy": f1, "exportable": True} for name, f1 in scores.items()
    }
    best = blessing.candidate(models)
    candidate = candidate or best
    (root / "evaluation").mkdir()
    (root / "evaluation" / "metrics.json").write_text(
        json.dumps({"models": models, "best": best, "candidate": best})
    )
    (root / "evaluation" / "blessing.json").write_text(
        json.dumps({"blessed": True, "candidate": candidate, "best": best})
    )
    deployment = {
        "deployed": True,
        "model": deployed or candidate,
        "infra_validation": {"tensorflow": "2.20.0"},
    }
    (root / "deployment").write_text(json.dumps(deployment))
    return root


def failed(checks: list[dict]) -> list[str]:
    return [check["check"] for check in checks if not check["ok"]]


def test_the_same_run_twice_passes_every_check_and_compares_every_feature_set(tmp_path):
    a, b = write_run(tmp_path / "a"), write_run(tmp_path / "b")
    checks = compare_runs.compare(a, b)
    assert failed(checks) == []
    names = {check["check"] for check in checks}
    for split in ("train", "validation", "test"):
        assert f"featurize {split} example order" in names
        for feature in FEATURE_SETS:
            assert f"featurize {split} {feature} max |diff|" in names
    assert compare_runs.main([str(a), str(b)]) == 0


def test_the_same_shards_under_other_names_pass(tmp_path):
    # Beam numbers the shards in the order of random temporary names (shards.split_files)
    a, b = write_run(tmp_path / "a"), write_run(tmp_path / "b")
    first, second = sorted((b / "featurize" / "examples" / "train").iterdir())
    first.rename(first.with_name("swap"))
    second.rename(first)
    first.with_name("swap").rename(second)
    assert failed(compare_runs.compare(a, b)) == []


def test_the_same_examples_in_another_order_fail(tmp_path):
    # written round-robin to 5 shards, read through 4 at a time: not the 2-shard order
    a, b = write_run(tmp_path / "a"), write_run(tmp_path / "b", shards_per_split=5)
    assert failed(compare_runs.compare(a, b)) == [
        f"featurize {split} example order" for split in ("train", "validation", "test")
    ]


def test_another_candidate_and_deployed_model_fail(tmp_path):
    a = write_run(tmp_path / "a")
    b = write_run(tmp_path / "b", {**SCORES, "mn04": 0.712})
    checks = {check["check"]: check for check in compare_runs.compare(a, b)}
    assert failed(checks.values()) == ["blessing candidate", "deployment model"]
    assert (checks["deployment model"]["a"], checks["deployment model"]["b"]) == (
        "mn04",
        "logistic_regression_mn04",
    )
    assert checks["test macro-F1 |diff| per model (reported)"]["a"]["mn04"] == pytest.approx(0.03)
    assert compare_runs.main([str(a), str(b)]) == 1


def test_the_blessings_candidate_is_compared(tmp_path):
    a = write_run(tmp_path / "a")
    b = write_run(tmp_path / "b", candidate="svc", deployed="mn04")
    assert failed(compare_runs.compare(a, b)) == ["blessing candidate"]


def test_different_features_fail_in_every_feature_set(tmp_path):
    a, b = write_run(tmp_path / "a"), write_run(tmp_path / "b", seed=1)
    failures = failed(compare_runs.compare(a, b))
    assert "featurize test mn04_embedding max |diff|" in failures
    assert "featurize train log_mel max |diff|" in failures
