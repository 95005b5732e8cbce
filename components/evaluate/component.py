"""KFP wrapper of the evaluate step: every model on the same test split, with slices (core.py)."""

from typing import List  # noqa: UP035 - KFP parses Input[List[Model]] from typing.List

from kfp import dsl
from kfp.dsl import (
    HTML,
    Artifact,
    ClassificationMetrics,
    Dataset,
    Input,
    Markdown,
    Metrics,
    Model,
    Output,
)

from components import IMAGE
from components.artifacts.names import SERVED_MODEL_NAME
from components.evaluate.config import EvaluateConfig
from components.wrapper.signature_defaults import signature_defaults


@dsl.component(base_image=IMAGE, install_kfp_package=False)
@signature_defaults(
    min_macro_f1=EvaluateConfig.min_macro_f1,
    min_worst_slice_f1=EvaluateConfig.min_worst_slice_f1,
    model_base="",
    model_name=SERVED_MODEL_NAME,
    seed=EvaluateConfig.seed,
)
def evaluate(
    seed_models: Input[List[Model]],  # noqa: UP006
    tuned_models: Input[List[Model]],  # noqa: UP006
    baseline_models: Input[List[Model]],  # noqa: UP006
    manifest: Input[Dataset],
    examples: Input[Dataset],
    evaluation: Output[Artifact],
    report: Output[HTML],
    metrics: Output[Metrics],
    best_confusion_matrix: Output[ClassificationMetrics],
    slice_table: Output[Markdown],
    min_macro_f1: float,
    min_worst_slice_f1: float,
    model_base: str,
    model_name: str,
    seed: int,
):
    """Scores every model on the test split, per class and per slice; blesses the best exportable.

    Args:
        seed_models: Keras models in the study's configuration (model.json, predictions/).
        tuned_models: Keras models trained with Keras-Tuner-chosen hyperparameters.
        baseline_models: scikit-learn model directories.
        manifest: Ingest output (manifest.jsonl: metadata for slicing and error analysis).
        examples: Featurize output (clip_stats.jsonl; test mean-MFCC for permutation importance).
        evaluation: metrics.json, slices.json, discovery.json, importance.json, blessing.json,
            report.html and its screenshot.
        report: The self-contained HTML analysis report.
        metrics: Headline metrics of every model (accuracy, macro-F1, ...), prefixed by model.
        best_confusion_matrix: The best model's confusion matrix on the test split.
        slice_table: Per-slice metrics with bootstrap intervals, as Markdown.
        min_macro_f1: Blessing threshold on the candidate's test macro-F1.
        min_worst_slice_f1: Blessing threshold on its worst significant slice's macro-F1.
        model_base: TF Serving model base (local or gs://); the candidate is blessed only if it
            is not worse than the newest version of model_name there, scored through its own
            serving signature on the same test clips. Empty: no comparison.
        model_name: Served model name under model_base.
        seed: Seed of the bootstrap.
    """
    from components.wrapper.task_label import announce

    announce("evaluate", evaluation)

    from components.artifacts import names
    from components.evaluate import core, kfp_outputs

    config = core.EvaluateConfig(
        min_macro_f1=min_macro_f1, min_worst_slice_f1=min_worst_slice_f1, seed=seed
    )
    result = core.run(
        [model.path for model in [*seed_models, *tuned_models, *baseline_models]],
        f"{manifest.path}/{names.MANIFEST_FILE}",
        f"{examples.path}/{names.CLIP_STATS_FILE}",
        evaluation.path,
        config,
        examples_dir=examples.path,
        model_base=model_base,
        model_name=model_name,
    )
    kfp_outputs.write(evaluation.path, metrics, best_confusion_matrix, report, slice_table)
    metrics.log_metric("significant_slices", result.significant_slices)
    evaluation.metadata.update(
        {"best": result.best, "candidate": result.candidate or "", "blessed": result.blessed}
    )
