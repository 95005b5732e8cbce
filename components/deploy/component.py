"""KFP wrapper of the deploy step: export evaluate's candidate and publish it for TF Serving."""

from typing import List  # noqa: UP035 - KFP parses Input[List[Model]] from typing.List

from kfp import dsl
from kfp.dsl import Artifact, Dataset, Input, Model, Output

from components import IMAGE
from components.deploy.config import DeployConfig
from components.wrapper.signature_defaults import signature_defaults


@dsl.component(base_image=IMAGE, install_kfp_package=False)
@signature_defaults(
    force=DeployConfig.force,
    model_name=DeployConfig.model_name,
    skip_infra_validation=DeployConfig.skip_infra_validation,
    infra_validation_clips=DeployConfig.infra_validation_clips,
    pipeline_run_name="",
    pipeline_run_id="",
)
def deploy(
    evaluation: Input[Artifact],
    seed_models: Input[List[Model]],  # noqa: UP006
    tuned_models: Input[List[Model]],  # noqa: UP006
    baseline_models: Input[List[Model]],  # noqa: UP006
    transform_graph: Input[Artifact],
    manifest: Input[Dataset],
    deployment: Output[Artifact],
    model_base: str,
    force: bool,
    model_name: str,
    skip_infra_validation: bool,
    infra_validation_clips: int,
    pipeline_run_name: str,
    pipeline_run_id: str,
):
    """Exports the blessed candidate with in-graph featurization and publishes a new version.

    Args:
        evaluation: Evaluate step output: blessing.json (blessed, candidate, reasons, production)
            and metrics.json, slices.json, discovery.json for the model card.
        seed_models: Keras models in the study's configuration (model.json + model.keras).
        tuned_models: Keras models trained with tuned hyperparameters.
        baseline_models: Every scikit-learn model directory (model.json + model.joblib).
        transform_graph: The featurize step's tf.Transform output directory.
        manifest: Ingest output (manifest.jsonl): the infra validation replays test clips.
        deployment: deployment.json: what was published where, and why (or why not).
        model_base: TF Serving model base, a local path or gs://bucket/prefix; empty skips.
        force: Deploy the candidate even if the evaluation did not bless it.
        model_name: Name TF Serving serves the model under (<model_base>/<model_name>/<version>/).
        skip_infra_validation: Publish without replaying the export in the TensorFlow of the
            serving image (docs/infra-validation.md).
        infra_validation_clips: Test clips the infra validation replays besides the warmup.
        pipeline_run_name: The run's name, recorded in the model card (KFP placeholder).
        pipeline_run_id: The run's id, recorded in the model card (KFP placeholder).
    """
    from components.wrapper.task_label import announce

    announce("deploy", deployment)

    import json

    from components import model_card
    from components.artifacts import names
    from components.deploy import core

    model_dirs = [model.path for model in [*seed_models, *tuned_models, *baseline_models]]
    config = core.DeployConfig(
        model_name=model_name,
        force=force,
        skip_infra_validation=skip_infra_validation,
        infra_validation_clips=infra_validation_clips,
    )
    origin = model_card.lineage(pipeline_run_name, pipeline_run_id)
    manifest_file = f"{manifest.path}/{names.MANIFEST_FILE}"
    result = core.run(
        model_dirs, transform_graph.path, model_base, evaluation.path, config, origin, manifest_file
    )
    with open(deployment.path, "w") as handle:
        json.dump(result.summary(), handle, indent=2)
    deployment.metadata.update(result.summary())
