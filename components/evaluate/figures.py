"""The evaluation's figures, one function per plot, shared by ``report.html`` and the notebook.

Each function draws one matplotlib ``Figure`` with the object-oriented API (no pyplot, so no
display or backend): the model comparison, the train versus test gap, the best model's
confusion matrices (raw and normalised by true class), per-slice accuracy with bootstrap
intervals, and feature importance per MFCC band. A notebook displays the figures as they are;
``png`` turns one into the base64 PNG that the report inlines. Every label taken from the data
(model names, slice values) goes through ``literal``, so a clip's metadata is drawn as it is and
never parsed as mathtext (a license written as TeX between dollar signs would abort the report).
"""

import base64
import io

import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure

SLICE_COLOR, SMALL_COLOR = "#4477aa", "#bbbbbb"
DPI = 90


def literal(text: object) -> str:
    """``text`` as matplotlib draws it literally: every ``$`` escaped, so no mathtext is parsed."""
    return str(text).replace("$", r"\$")


def png(figure: Figure) -> str:
    """Base64 PNG of a figure, at ``DPI``."""
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=DPI, bbox_inches="tight")
    return base64.b64encode(buffer.getvalue()).decode("ascii")


def comparison(
    models: dict[str, dict], ranking: list[str], majority_macro_f1: float | None = None
) -> Figure:
    """Macro precision, recall, F1 and accuracy of every model (best at the top).

    A dashed line marks the macro-F1 of always answering the test split's majority class.
    """
    keys = ("macro_precision", "macro_recall", "macro_f1", "accuracy")
    names = ranking[::-1]
    labels = [literal(name) for name in names]
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
    axis.set_yticks(np.arange(len(names)), labels)
    axis.set_xlim(0, 1)
    axis.set_xlabel("test score")
    axis.legend(loc="lower right", fontsize=8)
    axis.set_title("Model comparison on the test split")
    return figure


def gap(models: dict[str, dict], ranking: list[str]) -> Figure:
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
    axis.set_yticks(np.arange(len(names)), [literal(name) for name in names])
    axis.set_xlim(0, 1.02)
    axis.set_xlabel("accuracy")
    axis.legend(loc="lower right", fontsize=8)
    axis.set_title("Train / validation / test accuracy")
    return figure


def confusion(matrix: list[list[int]], class_names: list[str], model: str) -> Figure:
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
        axis.set_title(f"{literal(model)}: {title}")
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


def slices(
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
        _slice_panel(axis, feature, chosen, overall, metric)
    for axis in list(axes.flat)[len(features) :]:
        axis.set_visible(False)
    figure.suptitle(
        f"{metric} per slice, {round(100 * confidence)}% bootstrap intervals "
        "(grey: too small to judge; dashed: overall)",
        fontsize=11,
    )
    figure.tight_layout()
    return figure


def _slice_panel(axis: Axes, feature: str, chosen: list[dict], overall: float, metric: str) -> None:
    """One feature's slices: bars with interval whiskers (grey when too small), overall dashed."""
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
        positions,
        [f"{literal(entry['value'])} (n={entry['size']})" for entry in chosen],
        fontsize=8,
    )
    axis.invert_yaxis()
    axis.axvline(overall, color="#c62828", linestyle="--", linewidth=1)
    axis.set_xlim(0, 1)
    axis.set_title(literal(feature), fontsize=10)
    axis.tick_params(axis="x", labelsize=8)


def importance(importances: dict[str, dict]) -> Figure | None:
    """Importance per MFCC band: one panel per (model, kind); None without any.

    Args:
        importances: ``importance.json``: model → kind → ``{"values", "std"?}``.
    """
    panels = [
        (model, kind, entry)
        for model, kinds in sorted(importances.items())
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
        axis.set_title(f"{literal(model)}: {kind}", fontsize=10)
        axis.set_xticks(np.arange(len(values)))
        axis.tick_params(axis="x", labelsize=7)
    axes[-1, 0].set_xlabel("MFCC band")
    figure.tight_layout()
    return figure
