"""The model card every deployed version carries: what it is, what it was trained on, how good.

deploy writes it into ``<version>/assets.extra/`` (``model_card.json`` and its Markdown
rendering ``model_card.md``; names in ``components/artifacts/names.py``) next to the
evaluation's ``metrics.json`` and ``blessing.json``;
TF Serving loads SavedModels and ignores ``assets.extra/`` beyond the warmup file, so the card
travels with the version and is read back from the model base (``household-sounds describe
--model-base``) or served by the development server (``describe --target``). The card holds the
trained model (name, framework, architecture or estimator, feature, hyperparameters, training
settings and time), the data (datasets, clip counts per split and class), the classes, the test
metrics with their bootstrap intervals and per-class F1, the worst slices found by discovery,
the blessing (reasons, the production model it was compared with), the pretrained weight files
its graph was built from (name and sha256), and the lineage: pipeline
run name and id (KFP placeholders), git commit (``HOUSEHOLD_SOUNDS_GIT_COMMIT``, which the image
build sets, else ``git`` in a source checkout), image and creation time. It imports no
TensorFlow: deploy builds and renders it, ``describe`` renders it from a server's answer.
"""

import datetime
import os
import subprocess

from components import IMAGE
from components.artifacts.names import BEST, CANDIDATE
from components.audio.labels import CLASS_NAMES

GIT_COMMIT_ENV = "HOUSEHOLD_SOUNDS_GIT_COMMIT"
WORST_SLICES = 5
_TRAINING_KEYS = (
    "tuned",
    "training_seconds",
    "tuning_seconds",
    "epochs_trained",
    "best_epoch",
    "seconds_per_epoch",
    "cv_macro_f1",
    "search",
)
_UNPINNED = {"", "unknown"}


def git_commit() -> str | None:
    """The source commit: ``$HOUSEHOLD_SOUNDS_GIT_COMMIT`` (set in the image), else ``git``."""
    commit = os.environ.get(GIT_COMMIT_ENV, "")
    if commit not in _UNPINNED:
        return commit
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    if not os.path.exists(os.path.join(root, ".git")):
        return None
    try:
        done = subprocess.run(
            ["git", "-C", root, "rev-parse", "HEAD"], capture_output=True, text=True, timeout=10
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    if done.returncode != 0:
        return None
    return done.stdout.strip() or None


def lineage(pipeline_run_name: str = "", pipeline_run_id: str = "") -> dict:
    """Where a version comes from: pipeline run, source commit, image, creation time (UTC)."""
    return {
        "pipeline_run_name": pipeline_run_name or None,
        "pipeline_run_id": pipeline_run_id or None,
        "git_commit": git_commit(),
        "image": IMAGE,
        "created_at": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
    }


def _interval(entry: dict, metric: str) -> dict:
    return {
        "value": entry[metric],
        "ci_low": entry.get(f"{metric}_ci_low"),
        "ci_high": entry.get(f"{metric}_ci_high"),
    }


def _metrics(name: str, metrics: dict | None, slices: list[dict] | None) -> dict | None:
    """The test metrics; accuracy and macro-F1 with the ``overall`` slice's intervals."""
    if not metrics or name not in metrics.get("models", {}):
        return None
    entry = metrics["models"][name]
    overall = next(
        (s for s in slices or [] if s["model"] == name and s["feature"] == "overall"), None
    )
    return {
        "n_test": entry.get("n_test"),
        "accuracy": _interval(overall or entry, "accuracy"),
        "macro_f1": _interval(overall or entry, "macro_f1"),
        "weighted_f1": entry.get("weighted_f1"),
        "per_class_f1": entry.get("per_class_f1"),
        "majority_class": metrics.get("majority_class"),
        "best": metrics.get(BEST),
    }


def _worst_slices(name: str, discovery: list[dict] | None) -> list[dict]:
    """The model's worst slices by accuracy, significant ones (discovery's sense) first."""
    keys = ("feature", "value", "size", "accuracy", "accuracy_rest", "macro_f1", "q_value")
    found = [entry for entry in discovery or [] if entry.get("model") == name]
    found.sort(key=lambda entry: (not entry["significant"], entry["accuracy"]))
    return [
        {**{key: entry.get(key) for key in keys}, "significant": entry["significant"]}
        for entry in found[:WORST_SLICES]
    ]


def build(
    trained: dict,
    served: dict,
    blessing: dict,
    evaluation: dict | None = None,
    origin: dict | None = None,
    pretrained: list[dict] | None = None,
) -> dict:
    """The card of one deployed version.

    Args:
        trained: The model directory's ``model.json``.
        served: ``{"model_name", "version", "uri"}`` of the published version.
        blessing: The evaluation's ``blessing.json`` (or the blessing dict deploy was given).
        evaluation: ``{"metrics", "slices", "discovery"}`` of the evaluation directory; entries
            may be None where deploy was given no evaluation directory.
        origin: ``lineage``'s result.
        pretrained: The pretrained files (backbone, file, sha256) the served graph was built
            from (``featurizer.weight_files``); empty for a model trained from scratch.

    Returns:
        A JSON-serialisable dict (``render`` turns it into Markdown).
    """
    evaluation = evaluation or {}
    name = trained["name"]
    metrics = evaluation.get("metrics")
    model = {
        "name": name,
        "framework": trained.get("framework", trained.get("family")),
        "architecture": trained.get("architecture") or trained.get("estimator"),
        "feature": trained.get("feature"),
        "hyperparameters": trained.get("hyperparameters", {}),
        "training": {key: trained[key] for key in _TRAINING_KEYS if key in trained},
        "config": trained.get("config", {}),
    }
    return {
        "served": served,
        "model": model,
        "classes": list(trained.get("class_names", CLASS_NAMES)),
        "data": (metrics or {}).get("data"),
        "metrics": _metrics(name, metrics, evaluation.get("slices")),
        "worst_slices": _worst_slices(name, evaluation.get("discovery")),
        "blessing": {
            key: blessing.get(key)
            for key in ("blessed", CANDIDATE, BEST, "reasons", "production", "thresholds")
        },
        "pretrained": list(pretrained or []),
        "lineage": origin or lineage(),
    }


def _cell(value: object) -> str:
    if isinstance(value, float):
        return f"{value:.3f}"
    return "—" if value is None else str(value).replace("|", "\\|")


def _table(headers: list[str], rows: list[list]) -> list[str]:
    return [
        "| " + " | ".join(headers) + " |",
        "|" + "---|" * len(headers),
        *("| " + " | ".join(_cell(v) for v in row) + " |" for row in rows),
    ]


def _metric_line(label: str, metric: dict) -> str:
    line = f"- {label}: {_cell(metric['value'])}"
    if metric.get("ci_low") is not None:
        line += f" (95% bootstrap interval {_cell(metric['ci_low'])}–{_cell(metric['ci_high'])})"
    return line


def render(card: dict) -> str:
    """The card as Markdown (``model_card.md``)."""
    served, model = card["served"], card["model"]
    lines = [
        f"# Model card: {served['model_name']} version {served['version']}",
        "",
        f"`{model['name']}` ({model['framework']}, {model['architecture'] or 'n/a'}) on "
        f"`{model['feature']}` features; classes: {', '.join(card['classes'])}.",
        "",
        "## Evaluation (test split)",
        "",
    ]
    metrics = card["metrics"]
    if metrics is None:
        lines.append("Not recorded: deploy was given no evaluation directory.")
    else:
        lines += [
            f"- clips: {metrics['n_test']}",
            _metric_line("accuracy", metrics["accuracy"]),
            _metric_line("macro-F1", metrics["macro_f1"]),
            f"- weighted F1: {_cell(metrics['weighted_f1'])}",
        ]
        majority = metrics.get("majority_class")
        if majority:
            lines.append(
                f"- reference, always {majority['class']}: macro-F1 {_cell(majority['macro_f1'])}"
            )
        lines += ["", *_table(["class", "F1"], list((metrics["per_class_f1"] or {}).items()))]
    lines += ["", "## Worst slices", ""]
    worst = card["worst_slices"]
    lines += (
        _table(
            ["feature", "value", "n", "accuracy", "rest", "macro-F1", "q", "significant"],
            [
                [
                    s["feature"],
                    s["value"],
                    s["size"],
                    s["accuracy"],
                    s["accuracy_rest"],
                    s["macro_f1"],
                    s["q_value"],
                    "yes" if s["significant"] else "no",
                ]
                for s in worst
            ],
        )
        if worst
        else ["No slice was searched (no evaluation directory) or none was large enough."]
    )
    blessing = card["blessing"]
    lines += ["", "## Blessing", "", f"Blessed: {'yes' if blessing['blessed'] else 'NO'}", ""]
    lines += [f"- {reason}" for reason in blessing.get("reasons") or []]
    lines += ["", "## Data", ""]
    data = card["data"]
    if data is None:
        lines.append("Not recorded: deploy was given no evaluation directory.")
    else:
        splits = list(data["clips"])
        lines.append(f"Datasets: {', '.join(data['datasets']) or 'unnamed'}.")
        lines += [
            "",
            *_table(
                ["class", *splits],
                [[c, *(data["clips"][s].get(c, 0) for s in splits)] for c in card["classes"]]
                + [["total", *(data["total"][s] for s in splits)]],
            ),
        ]
    lines += ["", "## Training", ""]
    lines += [f"- {key}: {value}" for key, value in model["training"].items()]
    lines += [f"- hyperparameter {key}: {value}" for key, value in model["hyperparameters"].items()]
    lines += [f"- setting {key}: {value}" for key, value in model["config"].items()]
    if not (model["training"] or model["hyperparameters"] or model["config"]):
        lines.append("Not recorded in the model's model.json.")
    lines += ["", "## Pretrained weights", ""]
    pretrained = card.get("pretrained") or []
    lines += (
        _table(
            ["backbone", "file", "sha256"],
            [[f["backbone"], f["file"], f["sha256"]] for f in pretrained],
        )
        if pretrained
        else ["None: every weight was trained by this pipeline."]
    )
    origin = card["lineage"]
    lines += [
        "",
        "## Lineage",
        "",
        f"- pipeline run: {origin['pipeline_run_name'] or 'not a pipeline run'}"
        + (f" (id {origin['pipeline_run_id']})" if origin["pipeline_run_id"] else ""),
        f"- git commit: {origin['git_commit'] or 'unknown'}",
        f"- image: {origin['image']}",
        f"- created: {origin['created_at']}",
        f"- published at: {served.get('uri') or 'not yet published'}",
        "",
    ]
    return "\n".join(lines)
