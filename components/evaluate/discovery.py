"""Worst-slice discovery: where is a model significantly worse than on the rest of the test split?

Searches every slice of one feature and every cross of two features (``slices.groups``) with at
least ``min_size`` clips. For each, the in-slice accuracy is compared with the accuracy on the
clips outside it by a one-sided Fisher exact test on the 2×2 table correct/incorrect ×
in/out of slice (the hypergeometric lower tail, computed for all slices at once). The p-values
of all tested slices are corrected together with Benjamini–Hochberg; a slice is *significant*
when its q-value is at most ``alpha`` and its accuracy gap at least ``min_gap``. A cross is
reported only when it is worse than both of its single-feature parents, so a known weak slice
does not reappear once per other feature. Results are ranked by the lower 95% (Wald) bound of
the gap, so a large clearly-worse slice outranks a small subset of it that is worse by chance.
"""

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.stats import hypergeom

from components.evaluate import metrics, slices

WALD_Z = 1.96


@dataclass(frozen=True)
class DiscoveryConfig:
    """Search settings.

    Attributes:
        min_size: Smallest slice tested.
        alpha: False-discovery rate of the Benjamini–Hochberg correction.
        min_gap: Smallest accuracy gap (rest minus slice) that counts as an effect.
        crosses: Whether to search crosses of two features as well.
    """

    min_size: int = 20
    alpha: float = 0.05
    min_gap: float = 0.05
    crosses: bool = True


def benjamini_hochberg(p_values: np.ndarray) -> np.ndarray:
    """Benjamini–Hochberg adjusted p-values (q-values), in the input order."""
    n = len(p_values)
    if n == 0:
        return np.array([])
    order = np.argsort(p_values)
    scaled = p_values[order] * n / np.arange(1, n + 1)
    adjusted = np.minimum.accumulate(scaled[::-1])[::-1]
    q_values = np.empty(n)
    q_values[order] = np.minimum(adjusted, 1.0)
    return q_values


def discover(
    frame: pd.DataFrame, values: pd.DataFrame, model: str, cfg: DiscoveryConfig
) -> list[dict]:
    """Tests every sufficiently large slice of one model and ranks the significant ones.

    Args:
        frame: ``slices.clip_frame`` of the model (``label``, ``predicted``, ``correct``).
        values: ``slices.slice_values`` of the frame.
        model: Model name recorded in each entry.
        cfg: Search settings.

    Returns:
        Every tested slice as a dict (``feature``, ``value``, ``model``, ``size``,
        ``accuracy``, ``accuracy_rest``, ``gap``, ``gap_low``, ``macro_f1``, ``p_value``,
        ``q_value``, ``significant``), significant slices first, each group ranked by
        ``gap_low``.
    """
    correct = frame["correct"].to_numpy()
    total, total_correct = len(correct), int(correct.sum())
    candidates = [
        (feature, value, rows)
        for feature, value, rows in slices.groups(values, cfg.crosses)
        if cfg.min_size <= len(rows) < total
    ]
    if not candidates:
        return []
    sizes = np.array([len(rows) for _, _, rows in candidates])
    hits = np.array([int(correct[rows].sum()) for _, _, rows in candidates])
    # One-sided Fisher exact test: P(X <= hits) for X ~ Hypergeometric(total, correct, size).
    p_values = hypergeom.cdf(hits, total, total_correct, sizes)
    q_values = benjamini_hochberg(p_values)
    accuracy = hits / sizes
    rest = (total_correct - hits) / (total - sizes)
    spread = np.sqrt(accuracy * (1 - accuracy) / sizes + rest * (1 - rest) / (total - sizes))
    gap_low = rest - accuracy - WALD_Z * spread
    single_accuracy = {
        (feature, value): accuracy[i]
        for i, (feature, value, _) in enumerate(candidates)
        if " x " not in feature
    }
    labels, predicted = frame["label"].to_numpy(), frame["predicted"].to_numpy()
    found = []
    for i, (feature, value, rows) in enumerate(candidates):
        if " x " in feature:
            parents = zip(feature.split(" x "), value.split(" & "), strict=True)
            if any(accuracy[i] >= single_accuracy.get(parent, 1.0) for parent in parents):
                continue
        gap = float(rest[i] - accuracy[i])
        found.append(
            {
                "feature": feature,
                "value": value,
                "model": model,
                "size": int(sizes[i]),
                "accuracy": float(accuracy[i]),
                "accuracy_rest": float(rest[i]),
                "gap": gap,
                "gap_low": float(gap_low[i]),
                "macro_f1": metrics.point_scores(labels[rows], predicted[rows])[1],
                "p_value": float(p_values[i]),
                "q_value": float(q_values[i]),
                "significant": bool(q_values[i] <= cfg.alpha and gap >= cfg.min_gap),
            }
        )
    found.sort(key=lambda entry: (not entry["significant"], -entry["gap_low"], entry["p_value"]))
    return found
