"""The household-sounds pipeline: the one DAG that runs locally and on Kubeflow.

ingest → rebalance (train only) → featurize (Beam + tf.Transform) → six Keras families, each in
its seed configuration and (``tuned_families``) Keras-Tuner-tuned, plus nine scikit-learn
baselines → evaluate (every model on the same test split, with slices) → deploy the blessed
winner to a TF Serving model base. The body is wiring only: each step is a thin wrapper in
``components/<step>/component.py``. Defaults are the study's full configuration, read from each
step's ``config.py``; ``pipelines.presets`` scales it down for the embedded demo dataset.
"""

from collections.abc import Sequence
from typing import NamedTuple

from kfp import dsl, kubernetes

from components import IMAGE
from components.baselines.component import baselines
from components.baselines.config import MODELS, BaselinesConfig
from components.deploy.component import deploy
from components.deploy.config import DeployConfig
from components.evaluate.component import evaluate
from components.evaluate.config import EvaluateConfig
from components.featurize.component import featurize
from components.featurize.config import FeaturizeConfig
from components.ingest.component import ingest
from components.ingest.config import DEFAULT_FORMAT
from components.rebalance.component import rebalance
from components.rebalance.config import RebalanceConfig
from components.train.component import train
from components.train.config import FAMILIES, RESNET50_MFCC, TrainConfig
from pipelines.accelerator import CPU_ONLY, Accelerator
from pipelines.image import with_image

PIPELINE_NAME = "household-sounds"
KERAS_FAMILIES = list(FAMILIES)
# The order the training loops start their tasks (two at a time): the slowest first, so the cheap
# families train beside it instead of leaving it alone at the end (on the demo, ResNet50's task
# takes longer than the other four seed runs together).
TRAIN_ORDER = sorted(KERAS_FAMILIES, key=lambda family: family != RESNET50_MFCC)
BASELINE_MODELS = list(MODELS)
STEPS = (ingest, rebalance, featurize, train, baselines, evaluate, deploy)


class PvcMount(NamedTuple):
    """A PersistentVolumeClaim every task mounts (the kind demo's data and model store)."""

    name: str
    path: str

    @classmethod
    def parse(cls, text: str) -> "PvcMount":
        """``"NAME:/mount/path"`` → ``PvcMount("NAME", "/mount/path")``."""
        name, sep, path = text.partition(":")
        if not (name and sep and path.startswith("/")):
            raise ValueError(f"--pvc {text!r}: expected NAME:/absolute/mount/path")
        return cls(name, path)


def _resources(task: dsl.PipelineTask, cpu: str, memory: str) -> dsl.PipelineTask:
    return (
        task.set_cpu_request(cpu)
        .set_cpu_limit(cpu)
        .set_memory_request(memory)
        .set_memory_limit(memory)
        .set_retry(num_retries=2, backoff_duration="30s")
    )


def _place(task: dsl.PipelineTask, accelerator: Accelerator) -> None:
    """Sets ``accelerator``'s request, node selector and tolerations on ``task``."""
    if accelerator.accelerator_type:
        task.set_accelerator_type(accelerator.accelerator_type)
        task.set_accelerator_limit(accelerator.accelerator_count)
    for key, value in accelerator.node_labels().items():
        kubernetes.add_node_selector(task, key, value)
    for toleration in accelerator.tolerations():
        kubernetes.add_toleration(
            task,
            key=toleration.key,
            operator="Equal" if toleration.value else "Exists",
            value=toleration.value or None,
            effect=toleration.effect or None,
        )


def build_pipeline(
    pvcs: Sequence[PvcMount] = (),
    image: str = IMAGE,
    cache_ingest: bool = False,
    accelerator: Accelerator = CPU_ONLY,
):
    """The pipeline function, with every task mounting ``pvcs`` (none: the portable pipeline).

    Mounts go through ``kfp.kubernetes.mount_pvc`` into the IR's Kubernetes platform spec; the
    DAG, its parameters and their defaults are the same with or without them. Every task runs
    ``image`` (see ``pipelines.image``). ``cache_ingest`` lets ingest be cached, for callers that
    always pass the ``data_fingerprint`` of the data (``household-sounds run``); otherwise
    unchanged parameters could hide changed data, so ingest (and hence the DAG) always reruns.
    The training tasks request ``accelerator`` (and its node selector and tolerations; the
    default requests none).
    """
    # The steps, re-created for ``image``, under the names the body below uses.
    ingest, rebalance, featurize, train, baselines, evaluate, deploy = (
        with_image(step, image) for step in STEPS
    )

    def mount(task: dsl.PipelineTask) -> None:
        for pvc in pvcs:
            kubernetes.mount_pvc(task, pvc_name=pvc.name, mount_path=pvc.path)

    @dsl.pipeline(name=PIPELINE_NAME, description="Household sound classification, FSD50K-style.")
    def training_pipeline(
        data_root: str,
        data_format: str = DEFAULT_FORMAT,
        model_base: str = "",
        taxonomy_path: str = "",
        allowed_roots: list = [],  # noqa: B006 - KFP reads defaults from the signature
        runner: str = FeaturizeConfig.runner,
        beam_args: list = [],  # noqa: B006 - KFP reads defaults from the signature
        target_per_class: int = RebalanceConfig.target_per_class,
        keep_majority_clips: bool = RebalanceConfig.keep_majority_clips,
        epochs: int = TrainConfig.epochs,
        max_trials: int = TrainConfig.max_trials,
        batch_size: int = TrainConfig.batch_size,
        family_overrides: dict = {},  # noqa: B006
        tuned_families: list = TRAIN_ORDER,  # noqa: B006
        search_iterations: int = BaselinesConfig.n_iter,
        min_macro_f1: float = EvaluateConfig.min_macro_f1,
        min_worst_slice_f1: float = EvaluateConfig.min_worst_slice_f1,
        force_deploy: bool = DeployConfig.force,
        skip_infra_validation: bool = DeployConfig.skip_infra_validation,
        seed: int = 0,
        data_fingerprint: str = "",
        mixed_precision: bool = TrainConfig.mixed_precision,
        checkpoint_root: str = "",
    ):
        """Ingests, featurizes, trains, evaluates and deploys household sound classifiers.

        Args:
            data_root: Dataset root (local path or gs://).
            data_format: fsd50k, esc50 or manifest.
            model_base: TF Serving model base (local path or gs://); empty skips deployment.
                evaluate blesses a model only if it is not worse than the newest version
                there, scored through its own serving signature on the same test clips.
            taxonomy_path: Tag→class taxonomy JSON; empty uses the seed study's.
            allowed_roots: Roots besides data_root that the metadata's audio URIs may point into
                (folders, gs://bucket, gs://bucket/prefix); audio anywhere else is rejected.
            runner: Beam runner for featurize.
            beam_args: Extra Beam options (e.g. Dataflow project/region/temp_location).
            target_per_class: Training clips per class after rebalancing.
            keep_majority_clips: Keep every clip of classes above the target instead of
                undersampling them; the Keras models then weight their loss by inverse class
                frequency (the scikit-learn baselines always do).
            epochs: Maximum epochs per Keras model (early stopping on validation loss).
            max_trials: Keras Tuner trial budget per family.
            batch_size: Keras training batch size.
            family_overrides: Per-family training fields, e.g. {"resnet50_mfcc": {"epochs": 10}};
                ``hparams`` fixes hyperparameters, e.g. {"cnn_mfcc": {"hparams": {"optimizer":
                "adam"}}} (seed runs change the study's value, tuned runs stop searching it).
            tuned_families: The families that also train Keras-Tuner-tuned (every family trains
                in its seed configuration); the demo tunes the two that search in seconds.
            search_iterations: Randomized-search iterations per scikit-learn baseline (0: the
                study's budget per model).
            min_macro_f1: Blessing threshold on the best model's test macro-F1.
            min_worst_slice_f1: Blessing threshold on its worst significant slice's macro-F1.
            force_deploy: Deploy the best model even if it is not blessed.
            skip_infra_validation: Publish without replaying the export in the TensorFlow of
                the serving image (docs/infra-validation.md).
            seed: Seed for splits, rebalancing and training.
            data_fingerprint: Hash of the files under data_root; ingest's cache key.
            mixed_precision: Train in float16 with float32 variables and output (GPUs).
            checkpoint_root: Storage that outlives a pod (gs://, a mounted volume) for the
                training tasks' resume state: a retried or rerun task continues from its last
                epoch and finished tuner trials. Empty: each task's own output directory.
        """
        ingest_task = ingest(
            data_root=data_root,
            data_format=data_format,
            taxonomy_path=taxonomy_path,
            seed=seed,
            allowed_roots=allowed_roots,
            data_fingerprint=data_fingerprint,
        ).set_display_name("ingest: labels and splits")
        mount(ingest_task)
        # The data under data_root can change while the parameter stays the same: cache only
        # where the caller always passes its fingerprint.
        ingest_task.set_caching_options(cache_ingest)
        rebalance_task = rebalance(
            manifest=ingest_task.outputs["manifest"],
            target_per_class=target_per_class,
            keep_majority_clips=keep_majority_clips,
            seed=seed,
        ).set_display_name("rebalance: train classes")
        mount(rebalance_task)
        featurize_task = _resources(
            featurize(
                manifest=rebalance_task.outputs["balanced_manifest"],
                runner=runner,
                beam_args=beam_args,
                num_shards=FeaturizeConfig.num_shards,
                sdk_container_image=image,  # a remote runner's workers run the same image
            ),
            cpu="2",
            memory="8G",
        ).set_display_name("featurize: Beam + tf.Transform")
        mount(featurize_task)
        examples = featurize_task.outputs["examples"]

        # Every family trains in the seed study's configuration and (those in tuned_families)
        # again Keras-Tuner-tuned, so the tuning gain is measured rather than assumed.
        keras_tasks = {}
        for tuned, families in ((False, TRAIN_ORDER), (True, tuned_families)):
            with dsl.ParallelFor(families, parallelism=2) as family:
                keras_tasks[tuned] = _resources(
                    train(
                        examples=examples,
                        family=family,
                        tuned=tuned,
                        epochs=epochs,
                        max_trials=max_trials,
                        tuner=TrainConfig.tuner,
                        batch_size=batch_size,
                        class_weights=keep_majority_clips,
                        resnet_weights=TrainConfig.resnet_weights or "",
                        family_overrides=family_overrides,
                        seed=seed,
                        mixed_precision=mixed_precision,
                        checkpoint_root=checkpoint_root,
                    ),
                    cpu="4",
                    memory="16G",
                ).set_display_name("train: Keras (tuned)" if tuned else "train: Keras (seed)")
                _place(keras_tasks[tuned], accelerator)
                mount(keras_tasks[tuned])
        with dsl.ParallelFor(BASELINE_MODELS, parallelism=3) as model_name:
            baseline_task = _resources(
                baselines(
                    examples=examples,
                    model_name=model_name,
                    search_iterations=search_iterations,
                    seed=seed,
                ),
                cpu="2",
                memory="8G",
            ).set_display_name("baselines: scikit-learn")
            mount(baseline_task)

        evaluate_task = _resources(
            evaluate(
                seed_models=dsl.Collected(keras_tasks[False].outputs["model"]),
                tuned_models=dsl.Collected(keras_tasks[True].outputs["model"]),
                baseline_models=dsl.Collected(baseline_task.outputs["model"]),
                manifest=ingest_task.outputs["manifest"],
                examples=examples,
                min_macro_f1=min_macro_f1,
                min_worst_slice_f1=min_worst_slice_f1,
                model_base=model_base,
                model_name=DeployConfig.model_name,
                seed=seed,
            ),
            cpu="2",
            memory="8G",
        ).set_display_name("evaluate: metrics and slices")
        # The production model under model_base changes while the inputs stay the same.
        evaluate_task.set_caching_options(False)
        mount(evaluate_task)

        deploy_task = deploy(
            evaluation=evaluate_task.outputs["evaluation"],
            seed_models=dsl.Collected(keras_tasks[False].outputs["model"]),
            tuned_models=dsl.Collected(keras_tasks[True].outputs["model"]),
            baseline_models=dsl.Collected(baseline_task.outputs["model"]),
            transform_graph=featurize_task.outputs["transform_graph"],
            manifest=ingest_task.outputs["manifest"],
            model_base=model_base,
            force=force_deploy,
            model_name=DeployConfig.model_name,
            skip_infra_validation=skip_infra_validation,
            infra_validation_clips=DeployConfig.infra_validation_clips,
            pipeline_run_name=dsl.PIPELINE_JOB_NAME_PLACEHOLDER,
            pipeline_run_id=dsl.PIPELINE_JOB_ID_PLACEHOLDER,
        ).set_display_name("deploy: TF Serving model base")
        deploy_task.set_caching_options(False)
        mount(deploy_task)

    return training_pipeline


training_pipeline = build_pipeline()
