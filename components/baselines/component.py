"""KFP wrappers of the baselines step: which models fit, and one scikit-learn model (core.py)."""

from kfp import dsl
from kfp.dsl import Dataset, Input, Metrics, Model, Output

from components import IMAGE
from components.baselines.config import BaselinesConfig
from components.wrapper.signature_defaults import signature_defaults


@dsl.component(base_image=IMAGE, install_kfp_package=False)
@signature_defaults(search_iterations=BaselinesConfig.n_iter, seed=BaselinesConfig.seed)
def baselines(
    examples: Input[Dataset],
    model: Output[Model],
    metrics: Output[Metrics],
    model_name: str,
    search_iterations: int,
    seed: int,
):
    """Fits one scikit-learn baseline with randomized search and 3-fold CV on its feature.

    Args:
        examples: Featurize output directory (examples/<split>/*.tfrecord.gz).
        model: Model directory: model.joblib, model.json, search.json,
            predictions/<split>.jsonl.
        metrics: Best CV macro-F1, validation macro-F1/accuracy and search seconds.
        model_name: logistic_regression, random_forest or svc (on mean-MFCC), or the same
            with _yamnet or _mn04 (on that embedding).
        search_iterations: Randomized-search candidates; 0 uses the study's budget
            (50 random forest, 20 SVC, 10 logistic regression).
        seed: Seed of the search and the estimators.
    """
    from components.baselines.config import task_label
    from components.wrapper.task_label import announce

    announce(task_label(model_name), model)

    from components.artifacts import files
    from components.artifacts.names import SKLEARN
    from components.baselines import core

    config = core.BaselinesConfig(model_name=model_name, n_iter=search_iterations, seed=seed)
    result = core.run(examples.path, model.path, config)
    for key in ("cv_macro_f1", "validation_macro_f1", "validation_accuracy", "training_seconds"):
        metrics.log_metric(key, getattr(result, key))
    # The file too: kfp.local's cache takes an output without a file for a miss (kfp 2.17).
    files.write_json(metrics.path, metrics.metadata)
    model.metadata.update({"name": result.name, "framework": SKLEARN, "feature": result.feature})


@dsl.component(base_image=IMAGE, install_kfp_package=False)
def baselines_reading(feature_sets: list, models: list) -> list:
    """The baselines of ``models`` whose feature set featurize computes (``feature_sets``).

    Args:
        feature_sets: The pipeline's feature sets.
        models: The candidate baselines, in the order they are fitted.
    """
    from components.baselines.config import models_reading

    return models_reading(feature_sets, models)
