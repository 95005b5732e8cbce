"""evaluate end to end on a synthetic run: model dirs, manifest and clip stats built in tmp."""

import json
import re
import shutil
from dataclasses import asdict
from pathlib import Path

import nbclient
import nbformat
import numpy as np
import pytest

from components.audio.labels import CLASS_NAMES, NUM_CLASSES
from components.evaluate import core, kfp_outputs, report, screenshot
from tests.helpers.evaluation_run import CONFIG, QUIET, N, one_hot_probabilities, write_model
from tests.helpers.paths import ROOT


@pytest.fixture(scope="module")
def evaluated(synthetic_run):
    """The steps of ``core.run``, with test features held in memory (no TFRecords here)."""
    out = synthetic_run["root"] / "evaluation"
    scores = core.score(synthetic_run["model_dirs"])
    metadata = core.read_metadata(synthetic_run["manifest"], synthetic_run["clip_stats"])
    result = core.write(core.analyse(scores, metadata, CONFIG, synthetic_run["features"]), str(out))
    return result, out


def load(out: Path, name: str):
    return json.loads((out / name).read_text())


def test_every_output_file_is_written(evaluated):
    result, out = evaluated
    assert {p.name for p in out.iterdir()} >= set(core.OUTPUT_FILES)
    assert not list(out.glob("*.partial"))
    assert result.summary()["best"] == result.summary()["candidate"] == "cnn_log_mel"


def test_metrics_json_has_the_contract_keys(evaluated):
    metrics = load(evaluated[1], "metrics.json")
    assert metrics["best"] == "cnn_log_mel" and metrics["class_names"] == list(CLASS_NAMES)
    for entry in metrics["models"].values():
        for key in (
            "accuracy",
            "macro_f1",
            "weighted_f1",
            "per_class",
            "confusion_matrix",
            "n_test",
            "train_accuracy",
            "validation_macro_f1",
            "training_seconds",
            "absent_classes",
        ):
            assert key in entry
        assert entry["absent_classes"] == []  # every class has test clips here
        assert entry["n_test"] == N["test"]
        assert entry["beats_majority_class"] == (
            entry["macro_f1"] > metrics["majority_class"]["macro_f1"]
        )
    assert metrics["majority_class"]["class"] in CLASS_NAMES


def test_a_class_without_test_clips_is_left_out_of_every_macro_average(synthetic_run, tmp_path):
    # A perfect model on a test split without "other" clips: macro-F1 1, not 7/8, everywhere.
    rng = np.random.default_rng(1)
    other = CLASS_NAMES.index("other")
    predictions = {}
    for split, n in N.items():
        labels = rng.integers(0, NUM_CLASSES, n)
        if split == "test":
            labels[labels == other] = 0
        ids = [f"{split}{i:04d}" for i in range(n)]
        predictions[split] = (ids, labels, one_hot_probabilities(labels, rng))
    model_dir = write_model(tmp_path / "models", "perfect", "keras", predictions)
    config = core.EvaluateConfig(bootstrap_samples=50, crosses=False, screenshot=False)
    out = tmp_path / "evaluation"
    core.run([model_dir], synthetic_run["manifest"], synthetic_run["clip_stats"], str(out), config)
    metrics = load(out, "metrics.json")
    entry = metrics["models"]["perfect"]
    assert entry["macro_f1"] == entry["macro_recall"] == 1.0 and entry["absent_classes"] == [
        "other"
    ]
    assert entry["per_class"]["other"]["support"] == 0 and len(entry["per_class_f1"]) == NUM_CLASSES
    # The constant majority answer: F1 2a/(1+a) on its class, 0 on the other six present ones.
    accuracy = metrics["majority_class"]["accuracy"]
    expected = 2 * accuracy / (1 + accuracy) / (NUM_CLASSES - 1)
    assert metrics["majority_class"]["macro_f1"] == pytest.approx(expected)
    blessing = load(out, "blessing.json")
    assert blessing["blessed"] and "absent: other" in blessing["reasons"][0]
    assert "not averaged: other" in (out / "report.html").read_text()
    assert "absent: other" in (out / "slices.md").read_text()
    overall = next(e for e in load(out, "slices.json") if e["feature"] == "overall")
    assert overall["macro_f1"] == entry["macro_f1"]


def test_slices_have_intervals_and_small_ones_are_marked(evaluated):
    entries = load(evaluated[1], "slices.json")
    assert {e["model"] for e in entries} == {"cnn_log_mel", "logistic_regression", "random_forest"}
    crosses = {e["model"] for e in entries if " x " in e["feature"]}
    assert crosses == {"cnn_log_mel"}
    for entry in entries:
        for metric in ("accuracy", "macro_f1"):
            assert entry[f"{metric}_ci_low"] <= entry[metric] <= entry[f"{metric}_ci_high"]
        assert entry["too_small"] is (entry["size"] < CONFIG.min_slice_size)
        assert sum(map(sum, entry["confusion_matrix"])) == entry["size"]
    assert any(e["too_small"] for e in entries) and any(not e["too_small"] for e in entries)
    quiet = next(e for e in entries if e["model"] == "cnn_log_mel" and e["value"] == "<-40")
    assert quiet["size"] == QUIET and quiet["accuracy_ci_high"] < 0.5


def test_planted_quiet_slice_is_discovered_and_random_tag_is_not(evaluated):
    found = load(evaluated[1], "discovery.json")
    significant = [e for e in found if e["significant"]]
    singles = [(e["feature"], e["value"]) for e in significant if " x " not in e["feature"]]
    assert ("loudness", "<-40") in singles
    assert ("tag_multisample", "yes") not in singles
    tag = next(e for e in found if (e["feature"], e["value"]) == ("tag_multisample", "yes"))
    assert not tag["significant"]


def test_blessing_uses_the_worst_significant_slice(evaluated):
    result, out = evaluated
    decision = load(out, "blessing.json")
    assert decision["candidate"] == result.candidate == "cnn_log_mel"
    assert decision["ranking"][0] == "cnn_log_mel"
    assert decision["worst_slice"]["macro_f1"] < 0.5
    assert any("worst significant slice" in reason for reason in decision["reasons"])
    assert decision["blessed"] is result.blessed
    assert decision["thresholds"]["min_macro_f1"] == CONFIG.min_macro_f1


def test_empty_model_base_is_a_first_deployment_and_metrics_name_both_models(
    synthetic_run, tmp_path
):
    """The scoring of a published version is tested in component/deploy/test_blessed_deploy.py."""
    result = core.run(
        synthetic_run["model_dirs"],
        synthetic_run["manifest"],
        synthetic_run["clip_stats"],
        str(tmp_path / "evaluation"),
        core.EvaluateConfig(
            min_macro_f1=0.0,
            min_worst_slice_f1=0.0,
            bootstrap_samples=0,
            crosses=False,
            screenshot=False,
        ),
        model_base=str(tmp_path / "empty_base"),
        model_name="household_sounds",
    )
    assert result.blessed and result.candidate == "cnn_log_mel"
    assert "no published version under" in result.reasons[-1]
    metrics = load(tmp_path / "evaluation", "metrics.json")
    assert metrics["best"] == metrics["candidate"] == "cnn_log_mel"
    assert metrics["production"]["version"] is None
    assert metrics["models"]["random_forest"]["exportable"] is True  # deploy walks its trees
    assert "not_exportable" not in metrics["models"]["random_forest"]
    assert metrics["models"]["logistic_regression"]["exportable"] is True
    assert metrics["data"]["total"] == N and metrics["data"]["datasets"] == ["fsd50k"]


def test_importance_covers_coefficients_gini_and_permutation(evaluated):
    importance = load(evaluated[1], "importance.json")
    assert set(importance) == {"logistic_regression", "random_forest"}
    assert set(importance["logistic_regression"]) == {"mean_abs_coef", "permutation_macro_f1"}
    assert set(importance["random_forest"]) == {"gini", "permutation_macro_f1"}
    for kinds in importance.values():
        for entry in kinds.values():
            assert len(entry["values"]) == 32
            assert entry["top_bands"][0] < NUM_CLASSES  # the class signal lives in bands 0-7


def test_errors_list_misclassified_clips_with_metadata(evaluated):
    errors = load(evaluated[1], "errors.json")
    metrics = load(evaluated[1], "metrics.json")["models"]["cnn_log_mel"]
    assert len(errors["misclassified"]) == round(N["test"] * (1 - metrics["accuracy"]))
    first = errors["misclassified"][0]
    assert first["title"].startswith("clip ") and first["uploader"].startswith("user")
    assert first["true_class"] != first["predicted_class"]
    confidences = [row["confidence"] for row in errors["misclassified"]]
    assert confidences == sorted(confidences, reverse=True)
    assert errors["top_confusions"][0]["count"] >= errors["top_confusions"][-1]["count"]
    assert (evaluated[1] / "errors.csv").read_text().startswith("clip_id,true_class")


def test_report_is_self_contained_and_has_every_section(evaluated):
    page = (evaluated[1] / "report.html").read_text()
    for section in (
        "blessing",
        "comparison",
        "candidate",
        "slices",
        "discovery",
        "importance",
        "errors",
    ):
        assert f"id='{section}'" in page
    assert "<h2 id='candidate'>Candidate: cnn_log_mel</h2>" in page
    assert page.count("data:image/png;base64,") >= 5
    sources = re.findall(r"(?:src|href)\s*=\s*['\"]([^'\"]*)", page)
    assert sources and all(s.startswith(("data:", "#")) for s in sources)
    assert "<script" not in page and "<link" not in page and "@import" not in page
    markdown = (evaluated[1] / "slices.md").read_text()
    assert (
        markdown.startswith("## cnn_log_mel") and "| loudness | &lt;-40 |" in markdown
    )  # Markdown cells escape HTML


def test_report_escapes_text_taken_from_the_evaluation(evaluated):
    names = ("metrics", "blessing", "slices", "discovery", "importance", "errors")
    evaluation = {name: load(evaluated[1], f"{name}.json") for name in names}
    evaluation["config"] = asdict(CONFIG)
    evaluation["blessing"]["reasons"].append("<script>alert(1)</script>")
    evaluation["errors"]["misclassified"][0]["title"] = "<img src=x onerror=alert(1)>"
    page = report.html(evaluation)
    assert "<script" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "<img src=x" not in page and "&lt;img src=x onerror=alert(1)&gt;" in page


def test_kfp_outputs_log_metrics_confusion_matrix_and_slices(evaluated, tmp_path):
    out = evaluated[1]

    class Recorder:
        def __init__(self, path=""):
            self.path, self.calls = path, []

        def __getattr__(self, name):
            return lambda *args: self.calls.append((name, *args))

    metrics, confusion = Recorder(), Recorder()
    report, table = Recorder(str(tmp_path / "r.html")), Recorder(str(tmp_path / "s.md"))
    kfp_outputs.write(str(out), metrics, confusion, report, table)
    assert (
        "log_metric",
        "cnn_log_mel.macro_f1",
        round(load(out, "metrics.json")["models"]["cnn_log_mel"]["macro_f1"], 4),
    ) in metrics.calls
    ((name, categories, matrix),) = confusion.calls
    assert name == "log_confusion_matrix" and categories == list(CLASS_NAMES) and len(matrix) == 8
    assert Path(report.path).read_text() == (out / "report.html").read_text()


def test_notebook_executes_against_the_evaluation(evaluated, monkeypatch):
    monkeypatch.setenv("EVALUATION_DIR", str(evaluated[1]))
    notebook = nbformat.read(ROOT / "notebooks" / "06_model_analysis.ipynb", as_version=4)
    client = nbclient.NotebookClient(
        notebook,
        timeout=120,
        kernel_name="python3",
        resources={"metadata": {"path": str(ROOT / "notebooks")}},
    )
    client.execute()
    outputs = [o for cell in notebook.cells if cell.cell_type == "code" for o in cell.outputs]
    assert not [o for o in outputs if o.output_type == "error"]
    assert sum("image/png" in o.get("data", {}) for o in outputs) >= 5


def test_screenshot_is_skipped_without_a_browser(evaluated, monkeypatch, tmp_path):
    monkeypatch.setattr(screenshot, "find_browser", lambda: None)
    page = tmp_path / "report.html"
    shutil.copy(evaluated[1] / "report.html", page)
    assert screenshot.screenshot(str(page)) is None
    assert not (tmp_path / "report.png").exists()


@pytest.mark.skipif(
    screenshot.find_browser() is None, reason="no Chromium (apt-get install chromium)"
)
def test_screenshot_of_the_report(evaluated, tmp_path):
    page = tmp_path / "report.html"
    shutil.copy(evaluated[1] / "report.html", page)
    png = screenshot.screenshot(str(page))
    assert png == str(tmp_path / "report.png")
    from PIL import Image

    with Image.open(png) as image:
        assert image.width == 1280 and image.height > 2000
