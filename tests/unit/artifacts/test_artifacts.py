"""The contracts package: atomic writes, JSON lines, manifest and model directory round trips.

Also keeps the contracts single: file names, split names and serving signature names are string
literals only in ``components/artifacts``, and no step imports another step's modules.
"""

import ast
import json
import subprocess
import sys

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression

from components.artifacts import files, manifest, model_files, names, signature
from components.audio.labels import CLASS_NAMES, NUM_CLASSES
from tests.helpers.paths import ROOT

SOURCES = ("cli", "components", "pipelines", "serving", "benchmarks", "demo_data")
CONTRACTS = ROOT / "components" / "artifacts"
STEPS = ("ingest", "rebalance", "featurize", "train", "baselines", "evaluate", "deploy")


def test_write_text_replaces_the_file_and_leaves_no_partial(tmp_path):
    path = tmp_path / "a.txt"
    files.write_text(str(path), "one")
    files.write_text(str(path), "two")
    assert path.read_text() == "two"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.txt"]


def test_a_failed_write_keeps_the_previous_file(tmp_path):
    path = tmp_path / "a.txt"
    files.write_text(str(path), "complete")
    with pytest.raises(RuntimeError), files.atomic(str(path)) as handle:
        handle.write("half")
        raise RuntimeError("writer died")
    assert path.read_text() == "complete"


def test_json_takes_numpy_scalars_and_keeps_key_order(tmp_path):
    path = str(tmp_path / "a.json")
    files.write_json(path, {"b": np.float32(0.5), "a": np.int64(3)})
    assert list(files.read_json(path).items()) == [("b", 0.5), ("a", 3)]
    with pytest.raises(TypeError):
        files.to_json({"x": object()})


def test_jsonl_round_trip_keeps_text_and_skips_blank_lines(tmp_path):
    path = tmp_path / "rows.jsonl"
    rows = [{"clip_id": "café", "n": 1}, {"clip_id": "b", "n": np.int64(2)}]
    assert files.write_jsonl(str(path), iter(rows)) == 2
    assert "café" in path.read_text(encoding="utf-8")
    path.write_text(path.read_text(encoding="utf-8") + "\n", encoding="utf-8")
    assert files.read_jsonl(str(path)) == [{"clip_id": "café", "n": 1}, {"clip_id": "b", "n": 2}]


def test_no_rows_write_an_empty_file(tmp_path):
    path = tmp_path / "empty.jsonl"
    assert files.write_jsonl(str(path), []) == 0
    assert path.read_text() == "" and files.read_jsonl(str(path)) == []


def test_manifest_round_trip_keeps_order(tmp_path):
    path = str(tmp_path / names.MANIFEST_FILE)
    records = [{"clip_id": str(i), "split": names.SPLITS[i % 3], "tags": ["x"]} for i in (2, 0, 1)]
    manifest.write_manifest(path, records)
    assert manifest.read_manifest(path) == records


def test_a_records_source_is_its_source_id_else_its_clips():
    assert manifest.source_of({"clip_id": "a", "source_id": "src:7"}) == "src:7"
    assert manifest.source_of({"clip_id": "a", "source_id": ""}) == "a"
    assert manifest.source_of({"clip_id": "a__aug3"}) == "a"  # an augmented copy: its source
    assert manifest.source_of({"clip_id": "a__aug3", "source_id": "src:7"}) == "src:7"


def test_model_directory_round_trip(tmp_path):
    model_dir = str(tmp_path / "model")
    model_files.write_model_card(
        model_dir, {"name": "m", "framework": names.SKLEARN, "feature": "mean_mfcc"}
    )
    card = model_files.read_model_card(model_dir)
    assert card["class_names"] == list(CLASS_NAMES)
    info = model_files.read_model_info(model_dir)
    assert info == model_files.ModelInfo(
        name="m", framework="sklearn", feature="mean_mfcc", model_dir=model_dir
    )
    probabilities = np.eye(NUM_CLASSES)[[3, 1]] * 0.9 + 0.1 / NUM_CLASSES
    rows = [("z", 3, probabilities[0]), ("a", 0, probabilities[1])]
    assert model_files.write_predictions(model_dir, "test", rows) == 2
    test = model_files.read_predictions(model_dir, "test")
    assert test.clip_ids == ["a", "z"] and test.labels.tolist() == [0, 3]
    assert test.predicted.tolist() == [1, 3]
    np.testing.assert_allclose(test.probabilities, probabilities[[1, 0]], atol=1e-6)
    model_files.write_best_hparams(model_dir, {"learning_rate": 0.01})
    best = json.loads((tmp_path / "model" / names.BEST_HPARAMS_FILE).read_text())
    assert best == {"learning_rate": 0.01}


def test_sklearn_model_round_trip(tmp_path):
    x = np.random.default_rng(0).standard_normal((40, 3))
    y = (x[:, 0] > 0).astype(int)
    estimator = LogisticRegression().fit(x, y)
    model_files.write_sklearn_model(str(tmp_path / "m"), estimator)
    loaded = model_files.read_sklearn_model(str(tmp_path / "m"))
    np.testing.assert_array_equal(loaded.predict_proba(x), estimator.predict_proba(x))


def test_names_and_signature_import_no_tensorflow():
    code = (
        "import sys\n"
        "import components.artifacts.names, components.artifacts.signature, serving.client\n"
        "assert 'tensorflow' not in sys.modules, 'tensorflow imported'\n"
    )
    subprocess.run([sys.executable, "-c", code], cwd=ROOT, check=True)


# Runs as a script in the serving TensorFlow's environment, which holds nothing of the project, so
# it restates the one name it needs (the default signature) instead of importing it.
STANDALONE = {ROOT / "components" / "deploy" / "serving_replay.py"}


def _python_files():
    for folder in SOURCES:
        for path in sorted((ROOT / folder).rglob("*.py")):
            if CONTRACTS not in path.parents and path not in STANDALONE:
                yield path


def _docstrings(tree: ast.AST) -> set[int]:
    nodes = [tree, *ast.walk(tree)]
    return {
        id(node.body[0].value)
        for node in nodes
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef)
        and node.body
        and isinstance(node.body[0], ast.Expr)
        and isinstance(node.body[0].value, ast.Constant)
    }


def test_contract_names_are_literals_only_in_the_contracts_package():
    # File names, and the signature names that are no plain word (``waveform`` is also a module).
    contract_names = {
        value
        for module, mark in ((names, "."), (signature, "_"))
        for key, value in vars(module).items()
        if key.isupper() and isinstance(value, str) and mark in value
    } | {names.SERVED_MODEL_NAME, names.KERAS, names.SKLEARN, names.WARMUP_FILE}  # no mark
    evaluation = {"slices.json", "discovery.json", "report.html", "slices.md", "errors.csv"}
    served = {"tf_serving_warmup_requests", "saved_model.pb", "models.config"}
    assert {"manifest.jsonl", "model.json", "blessing.json", "audio_wav"} <= contract_names
    assert evaluation | served <= contract_names
    found = []
    for path in _python_files():
        tree = ast.parse(path.read_text())
        docstrings = _docstrings(tree)
        for node in ast.walk(tree):
            if isinstance(node, ast.Tuple) and [
                getattr(element, "value", None) for element in node.elts
            ] == list(names.SPLITS):
                found.append(f"{path.relative_to(ROOT)}:{node.lineno} split names")
            if (
                isinstance(node, ast.Constant)
                and isinstance(node.value, str)
                and id(node) not in docstrings
                and any(
                    node.value == name or node.value.endswith("/" + name) for name in contract_names
                )
            ):
                found.append(f"{path.relative_to(ROOT)}:{node.lineno} {node.value!r}")
    assert not found, "import these from components.artifacts: " + ", ".join(found)


def test_no_step_imports_another_step():
    crossing = set()
    for step in STEPS:
        for path in (ROOT / "components" / step).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text())):
                modules = []
                if isinstance(node, ast.ImportFrom) and node.module:
                    modules = [node.module]
                elif isinstance(node, ast.Import):
                    modules = [alias.name for alias in node.names]
                for module in modules:
                    parts = module.split(".")
                    if parts[0] == "components" and len(parts) > 1 and parts[1] in STEPS:
                        if parts[1] != step:
                            crossing.add((step, parts[1]))
    assert not crossing, f"(importer, imported) steps: {sorted(crossing)}"
