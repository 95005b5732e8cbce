"""evaluate's configuration: ``EvaluateConfig`` (blessing thresholds, slice analysis) and presets.

TensorFlow-free, so the KFP wrapper and the pipeline read the thresholds from here.
"""

from dataclasses import dataclass

# The demo run's thresholds are looser: its ~600 clips and small budgets train weaker models.
PRESETS: dict[str, dict] = {
    "full": {"min_macro_f1": 0.3, "min_worst_slice_f1": 0.1},
    "demo": {"min_macro_f1": 0.2, "min_worst_slice_f1": 0.0},
}


@dataclass(frozen=True)
class EvaluateConfig:
    """Thresholds of the blessing and settings of the slice analysis.

    Attributes:
        min_macro_f1: Blessing threshold on the best model's test macro-F1.
        min_worst_slice_f1: Blessing threshold on its worst significant slice's macro-F1.
        baseline_tolerance: Accepted macro-F1 drop below a previous deployment's.
        min_slice_size: Slices with fewer clips are marked too small and not searched.
        bootstrap_samples: Resamples per slice interval.
        confidence: Level of the bootstrap intervals.
        alpha: False-discovery rate of worst-slice discovery (Benjamini–Hochberg).
        min_gap: Smallest accuracy gap (rest minus slice) that counts as a worse slice.
        crosses: Whether to score and search crosses of two slice features (best model).
        permutation_repeats: Repeats of permutation importance.
        discovery_top_k: Discovery rows shown in the report (all are in discovery.json).
        screenshot: Whether to screenshot report.html with headless Chromium, if installed.
        seed: Seed of the bootstrap and the permutations.
    """

    min_macro_f1: float = PRESETS["full"]["min_macro_f1"]
    min_worst_slice_f1: float = PRESETS["full"]["min_worst_slice_f1"]
    baseline_tolerance: float = 0.01
    min_slice_size: int = 20
    bootstrap_samples: int = 1000
    confidence: float = 0.95
    alpha: float = 0.05
    min_gap: float = 0.05
    crosses: bool = True
    permutation_repeats: int = 5
    discovery_top_k: int = 25
    screenshot: bool = True
    seed: int = 0
