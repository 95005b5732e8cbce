"""evaluate: every model on the same test split, overall, per class and per slice; the blessing.

The study's notebook six, redone with slices of predictions. Reads the model artifact
directories (docs/contracts.md), the ingest manifest and featurize's clip statistics; checks that
every model was scored on the same test clips; computes each model's metrics and train/validation
gap (``metrics``), per-slice metrics with bootstrap intervals (``slices``), the best model's
significantly worse slices (``discovery``), feature importance of the scikit-learn models
(``importance``) and its errors with metadata (``errors``), then decides the blessing
(``blessing``). Writes into the output directory ``metrics.json``, ``slices.json``,
``discovery.json``, ``importance.json``, ``errors.json``/``errors.csv``, ``blessing.json``,
``slices.md``, a self-contained ``report.html`` and, where Chromium is installed, its
screenshot ``report.png``. ``run`` is three steps over its read inputs: ``score`` (metrics and
ranking), ``analyse`` (slicing, discovery, blessing, importance, errors; in memory) and ``write``;
between the first two it scores the production model under the model base through its own
serving signature (``production``). The blessing, the slice crosses, discovery and the error
analysis are about the *candidate*, the best model deploy can export (``blessing.candidate``),
or the best model when none is exportable; ``metrics.json`` and ``blessing.json`` name both the
``candidate`` and the overall ``best``. Imports no KFP: ``kfp_outputs`` copies the results into
KFP artifacts.
"""

import logging
import os
from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd
import tensorflow as tf

from components.artifacts import exportable, files
from components.artifacts.manifest import read_manifest
from components.artifacts.model_base import model_root
from components.artifacts.model_files import Predictions, read_model_card, read_sklearn_model
from components.artifacts.names import (
    BEST,
    BLESSING_FILE,
    CANDIDATE,
    DISCOVERY_FILE,
    ERRORS_CSV_FILE,
    ERRORS_FILE,
    IMPORTANCE_FILE,
    METRICS_FILE,
    REPORT_HTML_FILE,
    SKLEARN,
    SLICES_FILE,
    SLICES_TABLE_FILE,
)
from components.audio.labels import CLASS_NAMES
from components.evaluate import (
    blessing,
    discovery,
    errors,
    importance,
    metrics,
    production,
    report,
    slices,
)
from components.evaluate.config import EvaluateConfig
from components.evaluate.screenshot import screenshot

OUTPUT_FILES = (
    METRICS_FILE,
    SLICES_FILE,
    DISCOVERY_FILE,
    IMPORTANCE_FILE,
    ERRORS_FILE,
    ERRORS_CSV_FILE,
    BLESSING_FILE,
    SLICES_TABLE_FILE,
    REPORT_HTML_FILE,
)


@dataclass(frozen=True)
class TestFeatures:
    """The test split's mean-MFCC, for permutation importance.

    Attributes:
        clip_ids: Clip ids, one per row.
        mean_mfcc: ``[n, 32]`` z-scored mean-MFCC (featurize's ``mean_mfcc``).
    """

    clip_ids: list[str]
    mean_mfcc: np.ndarray


@dataclass(frozen=True, kw_only=True)
class EvaluateResult:
    """The best model, the candidate and whether it may be deployed.

    Attributes:
        best: Name of the model with the best test macro-F1.
        candidate: The best exportable model (what deploy publishes), or None if none is.
        blessed: Whether the candidate passed every blessing check.
        reasons: One human-readable line per check.
        ranking: Model names, best first.
        significant_slices: How many of the candidate's slices (the best's, without one) are
            significantly worse than the rest.
        output_dir: Where the evaluation files were written.
    """

    best: str
    candidate: str | None
    blessed: bool
    reasons: list[str]
    ranking: list[str]
    significant_slices: int
    output_dir: str

    def summary(self) -> dict:
        """JSON-serialisable summary."""
        return asdict(self)


@dataclass(frozen=True, kw_only=True)
class Scores:
    """Every model's test metrics, all scored on the same test clips.

    Attributes:
        models: ``metrics.json``'s ``models``: name → metrics entry (with
            ``beats_majority_class``, ``exportable`` and, if not, ``not_exportable``).
        predictions: Test predictions by model name.
        model_dirs: Model artifact directory by model name.
        best: Name of the best model (``blessing.rank``).
        majority: The majority-class reference (``metrics.majority_class``).
    """

    models: dict[str, dict]
    predictions: dict[str, Predictions]
    model_dirs: dict[str, str]
    best: str
    majority: dict


def score(model_dirs: list[str]) -> Scores:
    """Scores every model directory on its test predictions and ranks the models.

    Raises:
        ValueError: If there is no model or two models were scored on different test clips.
    """
    if not model_dirs:
        raise ValueError("evaluate needs at least one model directory")
    models: dict[str, dict] = {}
    tests: dict[str, Predictions] = {}
    directories: dict[str, str] = {}
    for model_dir in model_dirs:
        name, test, entry = metrics.evaluate_model(model_dir)
        if tests and test.clip_ids != next(iter(tests.values())).clip_ids:
            raise ValueError(f"{name} was scored on different test clips than the other models")
        why_not = exportable.why_not_exportable(read_model_card(model_dir))
        entry["exportable"] = why_not is None
        if why_not:
            entry["not_exportable"] = why_not
        models[name], tests[name], directories[name] = entry, test, model_dir
    majority = metrics.majority_class(next(iter(tests.values())).labels)
    for entry in models.values():
        entry["beats_majority_class"] = entry["macro_f1"] > majority["macro_f1"]
    return Scores(
        models=models,
        predictions=tests,
        model_dirs=directories,
        best=blessing.rank(models)[0],
        majority=majority,
    )


def read_metadata(manifest_path: str, clip_stats_path: str) -> pd.DataFrame:
    """Per-clip slice metadata from the ingest manifest and featurize's clip statistics."""
    return slices.metadata_frame(read_manifest(manifest_path), files.read_jsonl(clip_stats_path))


def subject(scores: Scores) -> str:
    """The model the blessing is about: the best exportable one, else the best."""
    return blessing.candidate(scores.models) or scores.best


def slice_models(
    scores: Scores, metadata: pd.DataFrame, config: EvaluateConfig
) -> tuple[list[dict], dict[str, pd.DataFrame]]:
    """Every model's slice table (crosses for the ``subject`` only) and its per-clip frame."""
    entries: list[dict] = []
    frames = {}
    for name in scores.models:
        frames[name] = slices.clip_frame(metadata, scores.predictions[name])
        entries += slices.slice_table(
            frames[name],
            slices.slice_values(frames[name]),
            name,
            crosses=config.crosses and name == subject(scores),
            min_size=config.min_slice_size,
            samples=config.bootstrap_samples,
            confidence=config.confidence,
            rng=np.random.default_rng(config.seed),
        )
    return entries, frames


def discover_worst(frame: pd.DataFrame, model: str, config: EvaluateConfig) -> list[dict]:
    """Worst-slice discovery on one model's per-clip frame (``discovery.discover``)."""
    search = discovery.DiscoveryConfig(
        min_size=config.min_slice_size,
        alpha=config.alpha,
        min_gap=config.min_gap,
        crosses=config.crosses,
    )
    return discovery.discover(frame, slices.slice_values(frame), model, search)


def read_test_features(examples_dir: str) -> TestFeatures:
    """The test mean-MFCC from featurize's output, for permutation importance."""
    clip_ids, mean_mfcc, _ = importance.read_test_features(examples_dir)
    return TestFeatures(clip_ids, mean_mfcc)


def _aligned_features(
    features: TestFeatures | None, test: Predictions
) -> tuple[np.ndarray, np.ndarray] | None:
    """Test features in the predictions' clip order with their labels, or None if incomplete."""
    if features is None:
        return None
    rows = {clip_id: i for i, clip_id in enumerate(features.clip_ids)}
    if not set(test.clip_ids) <= rows.keys():
        logging.warning("evaluate: test features miss scored clips; no permutation importance")
        return None
    order = [rows[clip_id] for clip_id in test.clip_ids]
    return np.asarray(features.mean_mfcc, dtype=np.float32)[order], test.labels


def model_importances(
    scores: Scores, features: TestFeatures | None, config: EvaluateConfig
) -> dict[str, dict]:
    """Feature importance of the scikit-learn models on mean-MFCC (``importance.model_importance``).

    Models on the YAMNet embedding are left out: its 2,048 dimensions have no bands to read.
    """
    return {
        name: importance.model_importance(
            read_sklearn_model(model_dir),
            _aligned_features(features, scores.predictions[name]),
            config.permutation_repeats,
            config.seed,
        )
        for name, model_dir in scores.model_dirs.items()
        if scores.models[name]["framework"] == SKLEARN
        and scores.models[name]["feature"] == importance.FEATURE
    }


def analyse(
    scores: Scores,
    metadata: pd.DataFrame,
    config: EvaluateConfig,
    features: TestFeatures | None = None,
    production_scores: dict | None = None,
) -> dict:
    """Slices, discovery, blessing, importance and errors of scored models, in memory.

    Args:
        scores: ``score``'s result.
        metadata: ``read_metadata``'s per-clip frame.
        config: Thresholds and analysis settings.
        features: The test mean-MFCC for permutation importance, or None to skip it.
        production_scores: ``production_check``'s result, or None without a model base.

    Returns:
        ``{"metrics", "blessing", "slices", "discovery", "importance", "errors", "config"}``:
        the evaluation directory's content (``write``) and the report's input.
    """
    analysed = subject(scores)
    slice_entries, frames = slice_models(scores, metadata, config)
    found = discover_worst(frames[analysed], analysed, config)
    policy = blessing.BlessingPolicy(
        config.min_macro_f1, config.min_worst_slice_f1, config.baseline_tolerance
    )
    significant = [entry for entry in found if entry["significant"]]
    decision = blessing.decide(scores.models, significant, policy, production_scores)
    decision["thresholds"] = asdict(config)
    return {
        "metrics": {
            "models": scores.models,
            BEST: scores.best,
            CANDIDATE: decision[CANDIDATE],
            "production": production_scores,
            "class_names": list(CLASS_NAMES),
            "majority_class": scores.majority,
        },
        "blessing": decision,
        "slices": slice_entries,
        "discovery": found,
        "importance": model_importances(scores, features, config),
        "errors": {
            "model": analysed,
            "top_confusions": errors.top_confusions(scores.models[analysed]["confusion_matrix"]),
            "misclassified": errors.misclassified(frames[analysed]),
        },
        "config": asdict(config),
    }


def write(evaluation: dict, output_dir: str) -> EvaluateResult:
    """Writes ``OUTPUT_FILES`` (and, if configured, ``report.png``) of an ``analyse`` result.

    Args:
        evaluation: ``analyse``'s result.
        output_dir: The evaluation directory (local or ``gs://``), created if missing.

    Returns:
        The best model, the candidate and the blessing decision.
    """
    decision = evaluation["blessing"]
    texts = {
        METRICS_FILE: files.to_json(evaluation["metrics"]),
        SLICES_FILE: files.to_json(evaluation["slices"]),
        DISCOVERY_FILE: files.to_json(evaluation["discovery"]),
        IMPORTANCE_FILE: files.to_json(evaluation["importance"]),
        ERRORS_FILE: files.to_json(evaluation["errors"]),
        ERRORS_CSV_FILE: errors.errors_csv(evaluation["errors"]["misclassified"]),
        BLESSING_FILE: files.to_json(decision),
        SLICES_TABLE_FILE: report.slices_markdown(evaluation),
        REPORT_HTML_FILE: report.html(evaluation),
    }
    tf.io.gfile.makedirs(output_dir)
    for filename in OUTPUT_FILES:
        files.write_text(os.path.join(output_dir, filename), texts[filename])
    if evaluation["config"]["screenshot"]:
        screenshot(os.path.join(output_dir, REPORT_HTML_FILE))
    return EvaluateResult(
        best=decision[BEST],
        candidate=decision[CANDIDATE],
        blessed=decision["blessed"],
        reasons=decision["reasons"],
        ranking=decision["ranking"],
        significant_slices=sum(entry["significant"] for entry in evaluation["discovery"]),
        output_dir=output_dir,
    )


def data_summary(manifest: list[dict]) -> dict:
    """The run's data for the model card: datasets and clip counts per split and class."""
    clips: dict[str, dict[str, int]] = {}
    for row in manifest:
        per_class = clips.setdefault(row["split"], dict.fromkeys(CLASS_NAMES, 0))
        per_class[row["label"]] = per_class.get(row["label"], 0) + 1
    return {
        "datasets": sorted({str(row.get("dataset", "")) for row in manifest} - {""}),
        "clips": clips,
        "total": {split: sum(counts.values()) for split, counts in clips.items()},
    }


def production_check(
    scores: Scores, manifest: list[dict], model_base: str, model_name: str
) -> dict | None:
    """The candidate against the production version under ``model_base`` (``production.py``).

    Returns:
        ``production.compare``'s result; ``{"version": None, "reason"}`` when there is no
        version yet or no exportable candidate; None when ``model_base`` is empty.
    """
    if not model_base:
        return None
    where = {"model_base": model_base, "model_name": model_name}
    name = blessing.candidate(scores.models)
    if name is None:
        return {**where, "version": None, "reason": "no exportable candidate to compare"}
    compared = production.evaluate_production(
        model_base, model_name, manifest, scores.predictions[name]
    )
    if compared is None:
        reason = f"no published version under {model_root(model_base, model_name)}"
        return {**where, "version": None, "reason": reason}
    return {**where, **compared}


def run(
    model_dirs: list[str],
    manifest_path: str,
    clip_stats_path: str,
    output_dir: str,
    config: EvaluateConfig = EvaluateConfig(),
    examples_dir: str | None = None,
    model_base: str = "",
    model_name: str = "",
) -> EvaluateResult:
    """Evaluates every model directory on the test split and writes the evaluation directory.

    Reads the inputs, then ``score``, ``production_check``, ``analyse`` and ``write``.

    Args:
        model_dirs: Model artifact directories (docs/contracts.md).
        manifest_path: Ingest ``manifest.jsonl`` (slice metadata, error analysis, the test
            clips' URIs for the production model, the data summary).
        clip_stats_path: Featurize ``clip_stats.jsonl`` (duration, sample rate, loudness).
        output_dir: Receives the files of ``OUTPUT_FILES`` (and ``report.png``).
        config: Thresholds and analysis settings.
        examples_dir: Featurize output; its test mean-MFCC feeds permutation importance.
        model_base: TF Serving model base (local or ``gs://``) whose newest version of
            ``model_name`` the candidate must not be worse than; empty: no comparison.
        model_name: Served model name under ``model_base``.

    Returns:
        The best model, the candidate and the blessing decision.

    Raises:
        ValueError: If there is no model or two models were scored on different test clips.
    """
    scores = score(model_dirs)
    manifest = read_manifest(manifest_path)
    metadata = slices.metadata_frame(manifest, files.read_jsonl(clip_stats_path))
    features = read_test_features(examples_dir) if examples_dir else None
    compared = production_check(scores, manifest, model_base, model_name)
    evaluation = analyse(scores, metadata, config, features, compared)
    evaluation["metrics"]["data"] = data_summary(manifest)
    return write(evaluation, output_dir)
