"""The rebalance, train and baselines KFP wrappers run under kfp.local like in the pipeline."""

import json
import os

import pytest
from kfp import dsl, local

from components.baselines.component import baselines
from components.rebalance.component import rebalance
from components.train.component import train
from tests.helpers.training_examples import write_examples
from tests.helpers.unbalanced_manifest import manifest_rows


@dsl.pipeline(name="train-components")
def wrappers(manifest_dir: str, examples_dir: str):
    manifest = dsl.importer(artifact_uri=manifest_dir, artifact_class=dsl.Dataset)
    rebalance(manifest=manifest.output, target_per_class=4)
    examples = dsl.importer(artifact_uri=examples_dir, artifact_class=dsl.Dataset)
    train(examples=examples.output, family="dense_mean_mfcc", tuned=True, epochs=2, max_trials=2)
    baselines(examples=examples.output, model_name="logistic_regression", search_iterations=2)


def outputs(root, task: str) -> dict[str, str]:
    (run,) = [d for d in os.listdir(root) if d.startswith("train-components")]
    base = os.path.join(root, run, task)
    return {name: os.path.join(base, name) for name in os.listdir(base)}


@pytest.mark.slow
def test_wrappers_run_locally(tmp_path):
    manifest_dir = tmp_path / "manifest"
    manifest_dir.mkdir()
    rows = manifest_rows()
    (manifest_dir / "manifest.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    examples_dir = write_examples(tmp_path / "examples", {"train": 4, "validation": 2, "test": 2})
    root = tmp_path / "kfp"
    local.init(runner=local.SubprocessRunner(use_venv=False), pipeline_root=str(root))
    wrappers(manifest_dir=str(manifest_dir), examples_dir=examples_dir)

    balanced = outputs(root, "rebalance")
    lines = open(os.path.join(balanced["balanced_manifest"], "manifest.jsonl")).readlines()
    assert sum(json.loads(line)["split"] == "train" for line in lines) == 7 * 4
    assert "| noise | 30 | 4 |" in open(balanced["class_table"]).read()

    trained = outputs(root, "train")
    card = json.loads(open(os.path.join(trained["model"], "model.json")).read())
    assert card["name"] == "dense_mean_mfcc_tuned"
    assert {"best_hparams.json", "trials.json"} <= set(os.listdir(trained["best_hparams"]))

    fitted = outputs(root, "baselines")
    assert os.path.exists(os.path.join(fitted["model"], "model.joblib"))
    card = json.loads(open(os.path.join(fitted["model"], "model.json")).read())
    assert card["framework"] == "sklearn"
