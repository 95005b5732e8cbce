"""The evaluation report: one evaluation directory as a self-contained HTML page and as Markdown.

``html`` composes the page from one small function per section — the blessing verdict, the
model comparison, the candidate (the best model when none is exportable), its slices,
worst-slice discovery, feature importance and its errors — each returning an HTML fragment
built from ``_table`` and ``_image`` (the figures of ``figures.py`` as inline base64 PNGs). There
is no external URL, script or stylesheet, so the page renders inside the Kubeflow UI's sandboxed
HTML viewer. Every text taken from the evaluation (model and class names, reasons, clip
metadata) is HTML-escaped. ``slices_markdown`` is the compact table for KFP's Markdown artifact.
"""

from html import escape

from matplotlib.figure import Figure

from components.artifacts.cells import markdown_cell
from components.artifacts.names import BEST, CANDIDATE
from components.evaluate import figures
from components.evaluate.blessing import subject

PAGE_WIDTH = 1168
STYLE = """
body{font-family:system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;margin:24px auto;
max-width:1200px;color:#222;line-height:1.4;padding:0 16px}
h1{font-size:26px;margin-bottom:4px}h2{border-bottom:2px solid #4477aa;padding-bottom:4px;
margin-top:36px}table{border-collapse:collapse;margin:8px 0 16px;font-size:13px}
th,td{border:1px solid #ccc;padding:3px 8px;text-align:right;vertical-align:top}
th{background:#f0f3f8}td.text,th.text{text-align:left;max-width:360px}
tr.significant td{background:#fde8e8}tr.small td{color:#888}
.verdict{display:inline-block;padding:6px 14px;border-radius:4px;font-weight:bold;color:#fff}
.blessed{background:#2e7d32}.rejected{background:#c62828}img{max-width:100%;height:auto}
.note{color:#555;font-size:14px}nav a{margin-right:12px}
"""
NAV = (
    "<nav><a href='#comparison'>Comparison</a><a href='#candidate'>Candidate</a>"
    "<a href='#slices'>Slices</a><a href='#discovery'>Discovery</a>"
    "<a href='#importance'>Importance</a><a href='#errors'>Errors</a></nav>"
)
COMPARISON_HEADERS = [
    "model",
    "framework",
    "feature",
    "accuracy",
    "macro P",
    "macro R",
    "macro F1",
    "weighted F1",
    "train acc",
    "val acc",
    "train−test acc",
    "train s",
    "n test",
]
COMPARISON_SCORES = (
    "accuracy",
    "macro_precision",
    "macro_recall",
    "macro_f1",
    "weighted_f1",
    "train_accuracy",
    "validation_accuracy",
    "train_test_accuracy_gap",
)
DISCOVERY_COLUMNS = (
    "feature",
    "value",
    "size",
    "accuracy",
    "accuracy_rest",
    "gap",
    "macro_f1",
    "p_value",
    "q_value",
)
ERROR_COLUMNS = (
    "clip_id",
    "true_class",
    "predicted_class",
    "confidence",
    "title",
    "tags",
    "uploader",
    "duration_s",
)


def html(evaluation: dict) -> str:
    """The self-contained report page.

    Args:
        evaluation: ``{"metrics", "blessing", "slices", "discovery", "importance", "errors",
            "config"}`` as written to the evaluation directory.

    Returns:
        The HTML text.
    """
    metrics, blessing, config = evaluation["metrics"], evaluation["blessing"], evaluation["config"]
    analysed = subject(blessing)
    entry = metrics["models"][analysed]
    singles = _single_slices(evaluation["slices"], analysed)
    singles = [entry for entry in singles if entry["feature"] != "overall"]
    role = "Candidate" if blessing[CANDIDATE] else "Best model (none is exportable)"
    sections = (
        _page_start(analysed, len(metrics["models"])),
        _blessing_section(blessing),
        _comparison_section(metrics, blessing["ranking"]),
        _analysed_model_section(role, analysed, entry, metrics["class_names"]),
        _slices_section(singles, entry["accuracy"], config["confidence"]),
        _discovery_section(evaluation["discovery"], config),
        _importance_section(evaluation["importance"]),
        _errors_section(evaluation["errors"]),
        "</body></html>\n",
    )
    return "".join(sections)


def _page_start(analysed: str, n_models: int) -> str:
    """Doctype, head with the inline style, the title and the navigation bar."""
    return (
        "<!doctype html><html><head><meta charset='utf-8'>"
        f"<title>Evaluation: {escape(analysed)}</title><style>{STYLE}</style></head><body>"
        f"<h1>Household sounds — evaluation of {n_models} models</h1>" + NAV
    )


def _blessing_section(blessing: dict) -> str:
    """The verdict badge and one list item per reason."""
    verdict = "blessed" if blessing["blessed"] else "rejected"
    label = "BLESSED" if blessing["blessed"] else "NOT BLESSED"
    reasons = "".join(f"<li>{escape(reason)}</li>" for reason in blessing["reasons"])
    return (
        f"<h2 id='blessing'>Blessing</h2><p><span class='verdict {verdict}'>"
        f"{escape(subject(blessing))}: {label}</span></p>"
        + _table(
            ["best model", "deployable candidate", "production model"],
            [_roles(blessing)],
            text=(0, 1, 2),
        )
        + f"<ul>{reasons}</ul>"
    )


def _roles(blessing: dict) -> list[str]:
    """The overall best model, the best exportable one, and the version it would replace."""
    production = blessing.get("production") or {}
    if production.get("version") is None:
        served = production.get("reason", "no model base given")
    else:
        served = f"version {production['version']} ({production.get('model') or 'unknown'})"
        if production.get("production_macro_f1") is not None:
            served += (
                f": macro-F1 {production['production_macro_f1']:.3f} vs "
                f"{production['candidate_macro_f1']:.3f} on {production['n_compared']} clips"
            )
    return [
        blessing[BEST],
        blessing[CANDIDATE] or "none (no exportable model)",
        served,
    ]


def _comparison_section(metrics: dict, ranking: list[str]) -> str:
    """Every model's scores (best first), the majority-class reference and two figures."""
    models = metrics["models"]
    rows = [
        [
            name,
            models[name].get("framework"),
            models[name].get("feature"),
            *(models[name][key] for key in COMPARISON_SCORES),
            models[name].get("training_seconds"),
            models[name]["n_test"],
        ]
        for name in ranking
    ]
    majority_f1 = metrics.get("majority_class", {}).get("macro_f1")
    return (
        "<h2 id='comparison'>Model comparison</h2>"
        + _averages_note(models[ranking[0]].get("absent_classes", []))
        + _majority_note(metrics)
        + _table(COMPARISON_HEADERS, rows, text=(0, 1, 2))
        + _image(figures.comparison(models, ranking, majority_f1), "model comparison")
        + _image(figures.gap(models, ranking), "train validation test accuracy")
    )


def _averages_note(absent: list[str]) -> str:
    """What the macro averages weigh, naming the classes without a test clip."""
    classes = "the classes present in the test split" if absent else "the eight classes"
    note = (
        f"<p class='note'>Every model scored on the same test clips; macro averages weigh {classes}"
        " equally (the study's headline metric is macro-F1)"
    )
    if absent:
        note += "; no test clip, so not averaged: " + ", ".join(escape(c) for c in absent)
    return note + ".</p>"


def _majority_note(metrics: dict) -> str:
    """The majority-class reference and the models that do not beat it ("" without one)."""
    majority = metrics.get("majority_class")
    if majority is None:
        return ""
    behind = [n for n, e in metrics["models"].items() if not e.get("beats_majority_class", True)]
    verdict = (
        "every model beats it"
        if not behind
        else "not beaten by: " + ", ".join(escape(n) for n in behind)
    )
    return (
        f"<p class='note'>Reference: always answering the test split's majority class "
        f"({escape(majority['class'])}) scores accuracy {majority['accuracy']:.3f}, "
        f"macro-F1 {majority['macro_f1']:.3f}; {verdict}.</p>"
    )


def _analysed_model_section(role: str, name: str, entry: dict, class_names: list[str]) -> str:
    """The analysed model's per-class precision, recall and F1 and its confusion matrices."""
    per_class = entry["per_class"]
    rows = [
        [
            name,
            per_class[name]["precision"],
            per_class[name]["recall"],
            per_class[name]["f1-score"],
            int(per_class[name]["support"]),
        ]
        for name in class_names
    ]
    return (
        f"<h2 id='candidate'>{escape(role)}: {escape(name)}</h2>"
        + _table(["class", "precision", "recall", "F1", "support"], rows)
        + _image(
            figures.confusion(entry["confusion_matrix"], class_names, name), "confusion matrices"
        )
    )


def _slices_section(singles: list[dict], overall: float, confidence: float) -> str:
    """The candidate's single-feature slices: a figure and a collapsed table."""
    rows = [
        [
            e["feature"],
            e["value"],
            e["size"],
            _interval(e, "accuracy"),
            _interval(e, "macro_f1"),
            "small" if e["too_small"] else "",
        ]
        for e in singles
    ]
    figure = figures.slices(singles, overall, confidence) if singles else None
    return (
        "<h2 id='slices'>Slices of the test split</h2>"
        "<p class='note'>Accuracy of the candidate per slice with percentile bootstrap intervals."
        " Slices below the minimum size are grey and marked <em>small</em>: listed, not judged."
        " Slice macro-F1 averages the classes present in the slice. All models' slices and the"
        " crosses of two features are in <code>slices.json</code>.</p>"
        + _image(figure, "per-slice accuracy")
        + "<details><summary>Slice table of the candidate</summary>"
        + _table(
            ["feature", "value", "n", "accuracy [CI]", "macro-F1 [CI]", ""],
            rows,
            text=(0, 1),
            row_classes=["small" if e["too_small"] else "" for e in singles],
        )
        + "</details>"
    )


def _discovery_section(found: list[dict], config: dict) -> str:
    """The significant worst slices (red rows) and the next worst, up to ``discovery_top_k``."""
    significant = [entry for entry in found if entry["significant"]]
    shown = found[: max(len(significant), 10)][: config.get("discovery_top_k", 25)]
    rows = [[e[key] for key in DISCOVERY_COLUMNS] for e in shown]
    settings = {key: escape(str(config.get(key))) for key in ("min_slice_size", "alpha", "min_gap")}
    intro = (
        f"<p class='note'>{len(found)} slices and crosses with at least "
        f"{settings['min_slice_size']} clips tested (one-sided Fisher exact test of in-slice vs"
        f" out-of-slice accuracy, Benjamini–Hochberg at α={settings['alpha']}, minimum gap"
        f" {settings['min_gap']}). <b>{len(significant)}</b> significant"
        f"{' (red rows)' if significant else ''}; the table shows them and the next"
        " worst.</p>"
    )
    return (
        "<h2 id='discovery'>Worst-slice discovery</h2>"
        + intro
        + _table(
            ["feature", "value", "n", "accuracy", "rest", "gap", "macro-F1", "p", "q"],
            rows,
            text=(0, 1),
            row_classes=["significant" if e["significant"] else "" for e in shown],
        )
    )


def _importance_section(importances: dict[str, dict]) -> str:
    """Importance per MFCC band of the scikit-learn models, or a line saying there is none."""
    return (
        "<h2 id='importance'>Feature importance (mean-MFCC models)</h2>"
        "<p class='note'>Mean |coefficient| (logistic regression), Gini importance (random"
        " forest) and permutation importance (drop in test macro-F1) per MFCC band.</p>"
        + (
            _image(figures.importance(importances), "feature importance")
            or "<p>No scikit-learn model in this evaluation.</p>"
        )
    )


def _errors_section(errors: dict, limit: int = 40) -> str:
    """The candidate's top confusions and its most confident misclassified clips."""
    rows = errors["misclassified"]
    confusions = [
        [c["true_class"], c["predicted_class"], c["count"], c["share_of_true"]]
        for c in errors["top_confusions"]
    ]
    clips = [[r[key] for key in ERROR_COLUMNS] for r in rows[:limit]]
    return (
        f"<h2 id='errors'>Errors of {escape(errors['model'])}</h2><h3>Top confusions</h3>"
        + _table(["true", "predicted", "count", "share of true"], confusions, text=(0, 1))
        + f"<h3>Misclassified clips ({len(rows)}; most confident first, {min(limit, len(rows))}"
        " shown; all in errors.csv)</h3>"
        + _table(
            ["clip", "true", "predicted", "conf.", "title", "tags", "uploader", "duration s"],
            clips,
            text=(0, 1, 2, 4, 5, 6),
        )
    )


def _table(
    headers: list[str],
    rows: list[list],
    text: tuple[int, ...] = (0,),
    row_classes: list[str] | None = None,
) -> str:
    """An HTML table of escaped cells; columns in ``text`` left-aligned, numbers right-aligned."""

    def cell(tag: str, index: int, value: object) -> str:
        css = " class='text'" if index in text else ""
        return f"<{tag}{css}>{escape(_fmt(value))}</{tag}>"

    head = "".join(cell("th", i, h) for i, h in enumerate(headers))
    body = []
    for index, row in enumerate(rows):
        cells = "".join(cell("td", i, v) for i, v in enumerate(row))
        css = f" class='{row_classes[index]}'" if row_classes and row_classes[index] else ""
        body.append(f"<tr{css}>{cells}</tr>")
    return f"<table><tr>{head}</tr>{''.join(body)}</table>"


def _fmt(value: object) -> str:
    """A table cell's text: floats to 3 decimals (3 significant digits when tiny), lists joined."""
    if isinstance(value, float):
        return f"{value:.3g}" if abs(value) < 1e-3 and value else f"{value:.3f}"
    if isinstance(value, list):
        return " ".join(map(str, value))
    return "" if value is None else str(value)


def _interval(entry: dict, metric: str) -> str:
    """``value [low, high]`` of a slice entry's metric and its bootstrap interval."""
    return (
        f"{entry[metric]:.3f} [{entry[f'{metric}_ci_low']:.2f}, {entry[f'{metric}_ci_high']:.2f}]"
    )


def _image(figure: Figure | None, alt: str) -> str:
    """An inline PNG; ``data-height`` (displayed pixels) lets the screenshot size its window."""
    if figure is None:
        return ""
    width, height = figure.get_size_inches() * figures.DPI
    shown = int(height * min(1.0, PAGE_WIDTH / width))
    return (
        f"<img alt='{escape(alt)}' data-height='{shown}' "
        f"src='data:image/png;base64,{figures.png(figure)}'>"
    )


def _single_slices(entries: list[dict], model: str) -> list[dict]:
    """One model's slices of a single feature (no crosses), ``overall`` first."""
    return [e for e in entries if e["model"] == model and " x " not in e["feature"]]


def slices_markdown(evaluation: dict, limit: int = 60) -> str:
    """Markdown: the verdict, the significant worst slices and the candidate's slice table."""
    blessing = evaluation["blessing"]
    analysed = subject(blessing)
    cell = markdown_cell
    lines = [
        f"## {cell(analysed)}: {'BLESSED' if blessing['blessed'] else 'NOT BLESSED'}",
        "",
        *(f"- {cell(reason)}" for reason in blessing["reasons"]),
        "",
        "### Significantly worse slices",
        "",
        "| feature | value | n | accuracy | rest | q |",
        "|---|---|---|---|---|---|",
    ]
    significant = [e for e in evaluation["discovery"] if e["significant"]]
    lines += [
        f"| {cell(e['feature'])} | {cell(e['value'])} | {e['size']} | {e['accuracy']:.3f} | "
        f"{e['accuracy_rest']:.3f} | {e['q_value']:.3g} |"
        for e in significant
    ] or ["| (none) | | | | | |"]
    lines += [
        "",
        f"### Slices of {cell(analysed)} "
        f"({round(100 * evaluation['config']['confidence'])}% bootstrap intervals)",
        "",
        "| feature | value | n | accuracy [CI] | macro-F1 [CI] | |",
        "|---|---|---|---|---|---|",
    ]
    lines += [
        f"| {cell(e['feature'])} | {cell(e['value'])} | {e['size']} | {_interval(e, 'accuracy')} | "
        f"{_interval(e, 'macro_f1')} | {'too small' if e['too_small'] else ''} |"
        for e in _single_slices(evaluation["slices"], analysed)[:limit]
    ]
    return "\n".join(lines) + "\n"
