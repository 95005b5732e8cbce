"""KFP wrapper of the deploy step: export the blessed model and publish it for TF Serving."""

from typing import List  # noqa: UP035 - KFP parses Input[List[Model]] from typing.List

from kfp import dsl
from kfp.dsl import Artifact, Input, Model, Output

from components import IMAGE
from components.deploy.config import DeployConfig
from components.signature_defaults import signature_defaults


@dsl.component(base_image=IMAGE, install_kfp_package=False)
@signature_defaults(force=DeployConfig.force, model_name=DeployConfig.model_name)
def deploy(
    evaluation: Input[Artifact],
    seed_models: Input[List[Model]],  # noqa: UP006
    tuned_models: Input[List[Model]],  # noqa: UP006
    baseline_models: Input[List[Model]],  # noqa: UP006
    transform_graph: Input[Artifact],
    deployment: Output[Artifact],
    model_base: str,
    force: bool,
    model_name: str,
):
    """Exports the evaluation's winner with in-graph featurization and publishes a new version.

    Args:
        evaluation: Evaluate step output holding blessing.json (blessed, model, reasons, ranking).
        seed_models: Keras models in the study's configuration (model.json + model.keras).
        tuned_models: Keras models trained with tuned hyperparameters.
        baseline_models: Every scikit-learn model directory (model.json + model.joblib).
        transform_graph: The featurize step's tf.Transform output directory.
        deployment: deployment.json: what was published where, and why (or why not).
        model_base: TF Serving model base, a local path or gs://bucket/prefix; empty skips.
        force: Deploy even if the evaluation did not bless the winner.
        model_name: Name TF Serving serves the model under (<model_base>/<model_name>/<version>/).
    """
    import json

    from components.deploy import core

    candidates = [model.path for model in [*seed_models, *tuned_models, *baseline_models]]
    config = core.DeployConfig(model_name=model_name, force=force)
    result = core.run_best(candidates, transform_graph.path, model_base, evaluation.path, config)
    with open(deployment.path, "w") as handle:
        json.dump(result.summary(), handle, indent=2)
    deployment.metadata.update(result.summary())
