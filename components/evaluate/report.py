"""The evaluation report: plots and tables of one evaluation directory, as HTML and Markdown.

The figure functions draw with matplotlib's object-oriented API (no pyplot, so no display or
backend): the model comparison, the train versus test gap, the best model's confusion matrices
(raw and normalised by true class), per-slice accuracy with bootstrap intervals, and feature
importance per MFCC band. ``html``
assembles them, as inline base64 PNGs, with the verdict, discovery, per-class, slice and error
tables into one self-contained page (no external URL, so it renders inside the Kubeflow UI's
sandboxed HTML viewer). ``slices_markdown`` is the compact table for KFP's Markdown artifact.
The notebook reuses the same figure functions.
"""

import base64
import html as html_lib
import io

import numpy as np
from matplotlib.figure import Figure

SLICE_COLOR, SMALL_COLOR = "#4477aa", "#bbbbbb"
DPI, PAGE_WIDTH = 90, 1168
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


def png(figure: Figure) -> str:
    """Base64 PNG of a figure."""
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=DPI, bbox_inches="tight")
    return base64.b64encode(buffer.getvalue()).decode("ascii")


def comparison_figure(
    models: dict[str, dict], ranking: list[str], majority_macro_f1: float | None = None
) -> Figure:
    """Macro precision, recall, F1 and accuracy of every model (best at the top).

    A dashed line marks the macro-F1 of always answering the test split's majority class.
    """
    keys = ("macro_precision", "macro_recall", "macro_f1", "accuracy")
    names = ranking[::-1]
    figure = Figure(figsize=(9, 0.55 * len(names) + 1.2))
    axis = figure.subplots()
    height = 0.8 / len(keys)
    for offset, key in enumerate(keys):
        positions = np.arange(len(names)) + (offset - 1.5) * height
        axis.barh(positions, [models[n][key] for n in names], height, label=key)
    if majority_macro_f1 is not None:
        axis.axvline(
            majority_macro_f1, color="black", linestyle="--", label="majority class macro_f1"
        )
    axis.set_yticks(np.arange(len(names)), names)
    axis.set_xlim(0, 1)
    axis.set_xlabel("test score")
    axis.legend(loc="lower right", fontsize=8)
    axis.set_title("Model comparison on the test split")
    return figure


def gap_figure(models: dict[str, dict], ranking: list[str]) -> Figure:
    """Train, validation and test accuracy of every model: the overfitting gap."""
    names = ranking[::-1]
    figure = Figure(figsize=(9, 0.45 * len(names) + 1.2))
    axis = figure.subplots()
    for key, label, marker in (
        ("train_accuracy", "train", "o"),
        ("validation_accuracy", "validation", "s"),
        ("accuracy", "test", "D"),
    ):
        axis.scatter(
            [models[n][key] for n in names], np.arange(len(names)), marker=marker, label=label
        )
    for i, name in enumerate(names):
        axis.plot(
            [models[name]["accuracy"], models[name]["train_accuracy"]],
            [i, i],
            color="#999",
            zorder=0,
        )
    axis.set_yticks(np.arange(len(names)), names)
    axis.set_xlim(0, 1.02)
    axis.set_xlabel("accuracy")
    axis.legend(loc="lower right", fontsize=8)
    axis.set_title("Train / validation / test accuracy")
    return figure


def confusion_figure(matrix: list[list[int]], class_names: list[str], model: str) -> Figure:
    """Raw and row-normalised confusion matrices side by side."""
    counts = np.asarray(matrix, dtype=np.float64)
    support = counts.sum(axis=1, keepdims=True)
    normalised = np.divide(counts, support, out=np.zeros_like(counts), where=support > 0)
    figure = Figure(figsize=(13, 5.6))
    axes = figure.subplots(1, 2)
    for axis, values, title, fmt in (
        (axes[0], counts, "counts", "{:.0f}"),
        (axes[1], normalised, "normalised by true class (recall)", "{:.2f}"),
    ):
        axis.imshow(values, cmap="Blues", vmin=0, vmax=values.max() or 1)
        ticks = np.arange(len(class_names))
        axis.set_xticks(ticks, class_names, rotation=45, ha="right")
        axis.set_yticks(ticks, class_names)
        axis.set_xlabel("predicted")
        axis.set_ylabel("true")
        axis.set_title(f"{model}: {title}")
        threshold = values.max() / 2 if values.max() else 1
        for (row, col), value in np.ndenumerate(values):
            axis.text(
                col,
                row,
                fmt.format(value),
                ha="center",
                va="center",
                fontsize=8,
                color="white" if value > threshold else "black",
            )
    figure.tight_layout()
    return figure


def slice_figure(
    entries: list[dict], overall: float, confidence: float = 0.95, metric: str = "accuracy"
) -> Figure:
    """Per-slice ``metric`` with bootstrap intervals, one panel per feature.

    Args:
        entries: Single-feature ``slices.json`` entries of one model (``overall`` excluded).
        overall: The model's overall value of ``metric`` (dashed line).
        confidence: Level of the intervals (for the title).
        metric: ``accuracy`` or ``macro_f1``.
    """
    features = list(dict.fromkeys(entry["feature"] for entry in entries))
    columns = 3
    rows = -(-len(features) // columns)
    figure = Figure(figsize=(14, 2.4 * rows + 0.6))
    axes = figure.subplots(rows, columns, squeeze=False)
    for axis, feature in zip(axes.flat, features, strict=False):
        chosen = [entry for entry in entries if entry["feature"] == feature]
        values = np.array([entry[metric] for entry in chosen])
        errors = np.array(
            [
                values - [entry[f"{metric}_ci_low"] for entry in chosen],
                [entry[f"{metric}_ci_high"] for entry in chosen] - values,
            ]
        )
        colors = [SMALL_COLOR if entry["too_small"] else SLICE_COLOR for entry in chosen]
        positions = np.arange(len(chosen))
        axis.barh(
            positions,
            values,
            color=colors,
            xerr=np.clip(errors, 0, None),
            capsize=2,
            error_kw={"elinewidth": 1},
        )
        axis.set_yticks(
            positions, [f"{entry['value']} (n={entry['size']})" for entry in chosen], fontsize=8
        )
        axis.invert_yaxis()
        axis.axvline(overall, color="#c62828", linestyle="--", linewidth=1)
        axis.set_xlim(0, 1)
        axis.set_title(feature, fontsize=10)
        axis.tick_params(axis="x", labelsize=8)
    for axis in list(axes.flat)[len(features) :]:
        axis.set_visible(False)
    figure.suptitle(
        f"{metric} per slice, {round(100 * confidence)}% bootstrap intervals "
        "(grey: too small to judge; dashed: overall)",
        fontsize=11,
    )
    figure.tight_layout()
    return figure


def importance_figure(importance: dict[str, dict]) -> Figure | None:
    """Importance per MFCC band: one panel per (model, kind); None without any."""
    panels = [
        (model, kind, entry)
        for model, kinds in sorted(importance.items())
        for kind, entry in sorted(kinds.items())
    ]
    if not panels:
        return None
    figure = Figure(figsize=(11, 2.3 * len(panels)))
    axes = figure.subplots(len(panels), 1, squeeze=False)
    for axis, (model, kind, entry) in zip(axes[:, 0], panels, strict=True):
        values = np.asarray(entry["values"])
        axis.bar(
            np.arange(len(values)), values, yerr=entry.get("std"), color=SLICE_COLOR, capsize=1.5
        )
        axis.set_title(f"{model}: {kind}", fontsize=10)
        axis.set_xticks(np.arange(len(values)))
        axis.tick_params(axis="x", labelsize=7)
    axes[-1, 0].set_xlabel("MFCC band")
    figure.tight_layout()
    return figure


def _table(
    headers: list[str],
    rows: list[list],
    text: tuple[int, ...] = (0,),
    row_classes: list[str] | None = None,
) -> str:
    """An HTML table; columns in ``text`` are left-aligned, the rest (numbers) right-aligned."""

    def cell(tag: str, index: int, value: object) -> str:
        css = " class='text'" if index in text else ""
        return f"<{tag}{css}>{html_lib.escape(_fmt(value))}</{tag}>"

    head = "".join(cell("th", i, h) for i, h in enumerate(headers))
    body = []
    for index, row in enumerate(rows):
        cells = "".join(cell("td", i, v) for i, v in enumerate(row))
        css = f" class='{row_classes[index]}'" if row_classes and row_classes[index] else ""
        body.append(f"<tr{css}>{cells}</tr>")
    return f"<table><tr>{head}</tr>{''.join(body)}</table>"


def _fmt(value: object) -> str:
    if isinstance(value, float):
        return f"{value:.3g}" if abs(value) < 1e-3 and value else f"{value:.3f}"
    if isinstance(value, list):
        return " ".join(map(str, value))
    return "" if value is None else str(value)


def _interval(entry: dict, metric: str) -> str:
    return (
        f"{entry[metric]:.3f} [{entry[f'{metric}_ci_low']:.2f}, {entry[f'{metric}_ci_high']:.2f}]"
    )


def _image(figure: Figure | None, alt: str) -> str:
    """An inline PNG; ``data-height`` (displayed pixels) lets the screenshot size its window."""
    if figure is None:
        return ""
    width, height = figure.get_size_inches() * DPI
    shown = int(height * min(1.0, PAGE_WIDTH / width))
    return (
        f"<img alt='{html_lib.escape(alt)}' data-height='{shown}' "
        f"src='data:image/png;base64,{png(figure)}'>"
    )


def _majority_note(metrics: dict) -> str:
    majority = metrics.get("majority_class")
    if majority is None:
        return ""
    behind = [n for n, e in metrics["models"].items() if not e.get("beats_majority_class", True)]
    verdict = (
        "every model beats it"
        if not behind
        else "not beaten by: " + ", ".join(html_lib.escape(n) for n in behind)
    )
    return (
        f"<p class='note'>Reference: always answering the test split's majority class "
        f"({html_lib.escape(majority['class'])}) scores accuracy {majority['accuracy']:.3f}, "
        f"macro-F1 {majority['macro_f1']:.3f}; {verdict}.</p>"
    )


def html(evaluation: dict) -> str:
    """The self-contained report page.

    Args:
        evaluation: ``{"metrics", "blessing", "slices", "discovery", "importance", "errors",
            "config"}`` as written to the evaluation directory.

    Returns:
        The HTML text.
    """
    metrics, blessing = evaluation["metrics"], evaluation["blessing"]
    models, ranking, best = metrics["models"], blessing["ranking"], blessing["model"]
    class_names = metrics["class_names"]
    best_entry = models[best]
    singles = [
        e
        for e in evaluation["slices"]
        if e["model"] == best and " x " not in e["feature"] and e["feature"] != "overall"
    ]
    verdict = "blessed" if blessing["blessed"] else "rejected"
    parts = [
        "<!doctype html><html><head><meta charset='utf-8'>",
        f"<title>Evaluation: {html_lib.escape(best)}</title><style>{STYLE}</style></head><body>",
        f"<h1>Household sounds — evaluation of {len(models)} models</h1>",
        "<nav><a href='#comparison'>Comparison</a><a href='#best'>Best model</a>"
        "<a href='#slices'>Slices</a><a href='#discovery'>Discovery</a>"
        "<a href='#importance'>Importance</a><a href='#errors'>Errors</a></nav>",
        f"<h2 id='blessing'>Blessing</h2><p><span class='verdict {verdict}'>"
        f"{html_lib.escape(best)}: {'BLESSED' if blessing['blessed'] else 'NOT BLESSED'}"
        "</span></p><ul>",
        *(f"<li>{html_lib.escape(reason)}</li>" for reason in blessing["reasons"]),
        "</ul>",
        "<h2 id='comparison'>Model comparison</h2>",
        "<p class='note'>Every model scored on the same test clips; macro averages weigh the eight"
        " classes equally (the study's headline metric is macro-F1).</p>",
        _majority_note(metrics),
        _table(
            [
                "model",
                "family",
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
            ],
            [
                [
                    n,
                    models[n].get("family"),
                    models[n].get("feature"),
                    models[n]["accuracy"],
                    models[n]["macro_precision"],
                    models[n]["macro_recall"],
                    models[n]["macro_f1"],
                    models[n]["weighted_f1"],
                    models[n]["train_accuracy"],
                    models[n]["validation_accuracy"],
                    models[n]["train_test_accuracy_gap"],
                    models[n].get("training_seconds"),
                    models[n]["n_test"],
                ]
                for n in ranking
            ],
            text=(0, 1, 2),
        ),
        _image(
            comparison_figure(models, ranking, metrics.get("majority_class", {}).get("macro_f1")),
            "model comparison",
        ),
        _image(gap_figure(models, ranking), "train validation test accuracy"),
        f"<h2 id='best'>Best model: {html_lib.escape(best)}</h2>",
        _table(
            ["class", "precision", "recall", "F1", "support"],
            [
                [
                    c,
                    best_entry["per_class"][c]["precision"],
                    best_entry["per_class"][c]["recall"],
                    best_entry["per_class"][c]["f1-score"],
                    int(best_entry["per_class"][c]["support"]),
                ]
                for c in class_names
            ],
        ),
        _image(
            confusion_figure(best_entry["confusion_matrix"], class_names, best),
            "confusion matrices",
        ),
        "<h2 id='slices'>Slices of the test split</h2>",
        "<p class='note'>Accuracy of the best model per slice with percentile bootstrap intervals."
        " Slices below the minimum size are grey and marked <em>small</em>: listed, not judged."
        " Slice macro-F1 averages the classes present in the slice. All models' slices and the"
        " crosses of two features are in <code>slices.json</code>.</p>",
        _image(
            slice_figure(singles, best_entry["accuracy"], evaluation["config"]["confidence"])
            if singles
            else None,
            "per-slice accuracy",
        ),
        "<details><summary>Slice table of the best model</summary>",
        _table(
            ["feature", "value", "n", "accuracy [CI]", "macro-F1 [CI]", ""],
            [
                [
                    e["feature"],
                    e["value"],
                    e["size"],
                    _interval(e, "accuracy"),
                    _interval(e, "macro_f1"),
                    "small" if e["too_small"] else "",
                ]
                for e in singles
            ],
            text=(0, 1),
            row_classes=["small" if e["too_small"] else "" for e in singles],
        ),
        "</details>",
        _discovery_section(evaluation["discovery"], evaluation["config"]),
        "<h2 id='importance'>Feature importance (mean-MFCC models)</h2>",
        "<p class='note'>Mean |coefficient| (logistic regression), Gini importance (random"
        " forest) and permutation importance (drop in test macro-F1) per MFCC band.</p>",
        _image(importance_figure(evaluation["importance"]), "feature importance")
        or "<p>No scikit-learn model in this evaluation.</p>",
        _errors_section(evaluation["errors"]),
        "</body></html>\n",
    ]
    return "".join(parts)


def _discovery_section(found: list[dict], config: dict) -> str:
    significant = [entry for entry in found if entry["significant"]]
    shown = found[: max(len(significant), 10)][: config.get("discovery_top_k", 25)]
    intro = (
        f"<p class='note'>{len(found)} slices and crosses with at least "
        f"{config.get('min_slice_size')} clips tested (one-sided Fisher exact test of in-slice vs"
        f" out-of-slice accuracy, Benjamini–Hochberg at α={config.get('alpha')}, minimum gap"
        f" {config.get('min_gap')}). <b>{len(significant)}</b> significant"
        f"{' (red rows)' if significant else ''}; the table shows them and the next"
        " worst.</p>"
    )
    return (
        "<h2 id='discovery'>Worst-slice discovery</h2>"
        + intro
        + _table(
            ["feature", "value", "n", "accuracy", "rest", "gap", "macro-F1", "p", "q"],
            [
                [
                    e["feature"],
                    e["value"],
                    e["size"],
                    e["accuracy"],
                    e["accuracy_rest"],
                    e["gap"],
                    e["macro_f1"],
                    e["p_value"],
                    e["q_value"],
                ]
                for e in shown
            ],
            text=(0, 1),
            row_classes=["significant" if e["significant"] else "" for e in shown],
        )
    )


def _errors_section(errors: dict, limit: int = 40) -> str:
    rows = errors["misclassified"]
    return (
        f"<h2 id='errors'>Errors of {html_lib.escape(errors['model'])}</h2><h3>Top confusions</h3>"
        + _table(
            ["true", "predicted", "count", "share of true"],
            [
                [c["true_class"], c["predicted_class"], c["count"], c["share_of_true"]]
                for c in errors["top_confusions"]
            ],
            text=(0, 1),
        )
        + f"<h3>Misclassified clips ({len(rows)}; most confident first, {min(limit, len(rows))}"
        " shown; all in errors.csv)</h3>"
        + _table(
            ["clip", "true", "predicted", "conf.", "title", "tags", "uploader", "duration s"],
            [
                [
                    r["clip_id"],
                    r["true_class"],
                    r["predicted_class"],
                    r["confidence"],
                    r["title"],
                    r["tags"],
                    r["uploader"],
                    r["duration_s"],
                ]
                for r in rows[:limit]
            ],
            text=(0, 1, 2, 4, 5, 6),
        )
    )


def slices_markdown(evaluation: dict, limit: int = 60) -> str:
    """Markdown: the verdict, the significant worst slices and the best model's slice table."""
    blessing = evaluation["blessing"]
    best = blessing["model"]
    lines = [
        f"## {best}: {'BLESSED' if blessing['blessed'] else 'NOT BLESSED'}",
        "",
        *(f"- {reason}" for reason in blessing["reasons"]),
        "",
        "### Significantly worse slices",
        "",
        "| feature | value | n | accuracy | rest | q |",
        "|---|---|---|---|---|---|",
    ]
    significant = [e for e in evaluation["discovery"] if e["significant"]]
    lines += [
        f"| {e['feature']} | {e['value']} | {e['size']} | {e['accuracy']:.3f} | "
        f"{e['accuracy_rest']:.3f} | {e['q_value']:.3g} |"
        for e in significant
    ] or ["| (none) | | | | | |"]
    lines += [
        "",
        f"### Slices of {best} ({round(100 * evaluation['config']['confidence'])}% bootstrap "
        "intervals)",
        "",
        "| feature | value | n | accuracy [CI] | macro-F1 [CI] | |",
        "|---|---|---|---|---|---|",
    ]
    singles = [e for e in evaluation["slices"] if e["model"] == best and " x " not in e["feature"]]
    lines += [
        f"| {e['feature']} | {e['value']} | {e['size']} | {_interval(e, 'accuracy')} | "
        f"{_interval(e, 'macro_f1')} | {'too small' if e['too_small'] else ''} |"
        for e in singles[:limit]
    ]
    return "\n".join(lines) + "\n"
