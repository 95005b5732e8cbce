"""The household-sounds pipeline: the one DAG that runs locally and on Kubeflow.

ingest (one or several data roots) → rebalance (train only) → featurize (Beam + tf.Transform;
the ``feature_sets`` it is given) → the Keras families (``families``) that read a computed feature
set, each in its seed configuration and (``tuned_families``) Keras-Tuner-tuned, plus the
scikit-learn baselines (``baseline_models``) that do → evaluate (every model on the same test
split, with slices) → deploy the blessed candidate to a TF Serving model base. Which of them read
a computed feature set is decided at run time by two small tasks (``families_reading``,
``baselines_reading``), whose lists the ParallelFor loops iterate, so a feature set left out
(YAMNet's embedding by default) skips its models. The body is wiring only: each step is a thin
wrapper in ``components/<step>/component.py``. Defaults are the study's full configuration, read
from each step's ``config.py``; ``pipelines.presets`` scales it down for the embedded demo dataset
and up to the quality benchmark's budget.
"""

from collections.abc import Sequence
from typing import NamedTuple

from kfp import dsl, kubernetes

from components import IMAGE
from components.baselines.component import baselines, baselines_reading
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
from components.train.component import families_reading, train
from components.train.config import (
    DEFAULT_TUNED_FAMILIES,
    FAMILIES,
    MN04_FINETUNED,
    RESNET50_MFCC,
    TrainConfig,
)
from pipelines.accelerator import CPU_ONLY, Accelerator
from pipelines.image import with_image
from pipelines.task_limits import DEFAULT_LIMITS, RETRIES, RETRY_BACKOFF, TaskLimits

PIPELINE_NAME = "household-sounds"
KERAS_FAMILIES = list(FAMILIES)
# The order the training loops start their tasks (two at a time): the slowest first, so the cheap
# families train beside them instead of leaving them alone at the end (on the demo, ResNet50's
# task takes longer than the other four seed runs together; a fine-tuned mn04 trains its trunk).
TRAIN_ORDER = sorted(
    KERAS_FAMILIES, key=lambda family: family not in (RESNET50_MFCC, MN04_FINETUNED)
)
TUNED_ORDER = [family for family in TRAIN_ORDER if family in DEFAULT_TUNED_FAMILIES]
BASELINE_MODELS = list(MODELS)
STEPS = (
    ingest,
    rebalance,
    featurize,
    families_reading,
    train,
    baselines_reading,
    baselines,
    evaluate,
    deploy,
)
ORACLE_PORT = 8000  # a distributed search's chief serves its oracle here, in its own pod
CHIEF_INPUTS = {
    "tuner_id": "chief",
    "oracle_address": f"0.0.0.0:{ORACLE_PORT}",
    "pipeline_run_id": dsl.PIPELINE_JOB_ID_PLACEHOLDER,
}


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
    )


def _limit(task: dsl.PipelineTask, step: str, limits: TaskLimits) -> dsl.PipelineTask:
    """Sets ``step``'s retries and pod deadline (``pipelines.task_limits``) on ``task``."""
    if limits.retries and RETRIES[step]:
        task.set_retry(num_retries=RETRIES[step], backoff_duration=RETRY_BACKOFF)
    if limits.seconds(step):
        kubernetes.set_timeout(task, limits.seconds(step))
    return task


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


def _tuner_workers(train, inputs: dict, count: int) -> dsl.PipelineTask:
    """A loop of ``count`` worker tasks of a tuned task's distributed search, beside its chief.

    The chief (``CHIEF_INPUTS``) listens on its pod's interfaces and publishes its pod IP under
    ``checkpoint_root`` for this run; each worker is ``tuner<i>`` and reads it there
    (``components/train/distributed.py``). Neither is cached: a cached chief would serve no
    search and its workers would wait for it. docs/scaling.md says what it costs. Returns the
    loop's task.
    """
    with dsl.ParallelFor([f"tuner{index}" for index in range(count)], parallelism=count) as name:
        worker = train(**inputs, tuner_id=name, pipeline_run_id=dsl.PIPELINE_JOB_ID_PLACEHOLDER)
        _resources(worker, cpu="4", memory="16G").set_display_name("train: Keras tuner worker")
        worker.set_caching_options(False)
    return worker


def build_pipeline(
    pvcs: Sequence[PvcMount] = (),
    image: str = IMAGE,
    accelerator: Accelerator = CPU_ONLY,
    tuner_workers: int = 0,
    limits: TaskLimits = DEFAULT_LIMITS,
):
    """The pipeline function, with every task mounting ``pvcs`` (none: the portable pipeline).

    Mounts go through ``kfp.kubernetes.mount_pvc`` into the IR's Kubernetes platform spec; the
    DAG, its parameters and their defaults are the same with or without them. Every task runs
    ``image`` (see ``pipelines.image``). The training tasks request ``accelerator`` (and its
    node selector and tolerations; the default requests none). With ``tuner_workers`` each tuned
    task is the chief of a distributed Keras Tuner search run by that many worker tasks beside
    it (``_tuner_workers``). Each step's pod gets its ``limits`` deadline, through
    ``kfp.kubernetes.set_timeout``, and its retries (``pipelines.task_limits``). Ingest is cached
    like every step but evaluate and deploy: its cache key is the required ``data_fingerprint``,
    which ``run`` and ``submit`` compute from the data, so changed data under the same
    ``data_root`` reruns it.
    """
    # The steps, re-created for ``image``, under the names the body below uses.
    (
        ingest,
        rebalance,
        featurize,
        families_reading,
        train,
        baselines_reading,
        baselines,
        evaluate,
        deploy,
    ) = (with_image(step, image) for step in STEPS)

    def mount(task: dsl.PipelineTask) -> None:
        for pvc in pvcs:
            kubernetes.mount_pvc(task, pvc_name=pvc.name, mount_path=pvc.path)

    @dsl.pipeline(name=PIPELINE_NAME, description="Household sound classification, FSD50K-style.")
    def training_pipeline(
        data_root: str,
        data_fingerprint: str,
        data_format: str = DEFAULT_FORMAT,
        more_data_roots: list = [],  # noqa: B006 - KFP reads defaults from the signature
        model_base: str = "",
        taxonomy_path: str = "",
        allowed_roots: list = [],  # noqa: B006 - KFP reads defaults from the signature
        feature_sets: list = list(FeaturizeConfig.feature_sets),  # noqa: B006
        runner: str = FeaturizeConfig.runner,
        beam_args: list = [],  # noqa: B006 - KFP reads defaults from the signature
        target_per_class: int = RebalanceConfig.target_per_class,
        keep_majority_clips: bool = RebalanceConfig.keep_majority_clips,
        epochs: int = TrainConfig.epochs,
        max_trials: int = TrainConfig.max_trials,
        batch_size: int = TrainConfig.batch_size,
        family_overrides: dict = {},  # noqa: B006
        families: list = TRAIN_ORDER,  # noqa: B006
        tuned_families: list = TUNED_ORDER,  # noqa: B006
        baseline_models: list = BASELINE_MODELS,  # noqa: B006
        search_iterations: int = BaselinesConfig.n_iter,
        min_macro_f1: float = EvaluateConfig.min_macro_f1,
        min_worst_slice_f1: float = EvaluateConfig.min_worst_slice_f1,
        force_deploy: bool = DeployConfig.force,
        skip_infra_validation: bool = DeployConfig.skip_infra_validation,
        seed: int = 0,
        mixed_precision: bool = TrainConfig.mixed_precision,
        checkpoint_root: str = "",
    ):
        """Ingests, featurizes, trains, evaluates and deploys household sound classifiers.

        Args:
            data_root: Dataset root (local path or gs://).
            data_fingerprint: ingest's cache key: a hash of the files under every data root
                (``household-sounds fingerprint``; ``submit`` and ``run`` compute it). Any new
                value reruns ingest and everything after it.
            data_format: fsd50k, esc50 or manifest.
            more_data_roots: Further datasets, e.g. [{"data_root": "gs://b/us8k", "data_format":
                "manifest"}]: each is split on its own, then merged with data_root's by source
                recording (a recording two datasets put in different splits moves whole to the
                earliest; the move is counted in ingest's label report).
            model_base: TF Serving model base (local path or gs://); empty skips deployment.
                evaluate blesses a model only if it is not worse than the newest version
                there, scored through its own serving signature on the same test clips.
            taxonomy_path: Tag→class taxonomy JSON, or a packaged one's name (study,
                categories); empty uses the seed study's.
            allowed_roots: Roots besides data_root that the metadata's audio URIs may point into
                (folders, gs://bucket, gs://bucket/prefix); audio anywhere else is rejected.
            feature_sets: The feature sets featurize computes (log_mel, mfcc, mean_mfcc,
                mn04_embedding; opt-in: yamnet_embedding, mn04_log_mel). Only the families and
                baselines that read one of them train.
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
            families: The Keras families that train in their seed configuration (default all;
                only those whose feature set is computed run).
            tuned_families: The families that also train Keras-Tuner-tuned; by default all but
                the fine-tuned mn04; the demo tunes the two that search in seconds.
            baseline_models: The scikit-learn baselines that train (default all; only those
                whose feature set is computed run).
            search_iterations: Randomized-search iterations per scikit-learn baseline (0: the
                study's budget per model).
            min_macro_f1: Blessing threshold on the candidate's test macro-F1.
            min_worst_slice_f1: Blessing threshold on its worst significant slice's macro-F1.
            force_deploy: Deploy the candidate (the best exportable model) even if not blessed.
            skip_infra_validation: Publish without replaying the export in the TensorFlow of
                the serving image (docs/infra-validation.md).
            seed: Seed for splits, rebalancing and training.
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
            more_data_roots=more_data_roots,
            data_fingerprint=data_fingerprint,
        ).set_display_name("ingest: labels and splits")
        _limit(ingest_task, "ingest", limits)
        mount(ingest_task)
        rebalance_task = rebalance(
            manifest=ingest_task.outputs["manifest"],
            target_per_class=target_per_class,
            keep_majority_clips=keep_majority_clips,
            seed=seed,
        ).set_display_name("rebalance: train classes")
        _limit(rebalance_task, "rebalance", limits)
        mount(rebalance_task)
        featurize_task = _resources(
            featurize(
                manifest=rebalance_task.outputs["balanced_manifest"],
                feature_sets=feature_sets,
                runner=runner,
                beam_args=beam_args,
                num_shards=FeaturizeConfig.num_shards,
                sdk_container_image=image,  # a remote runner's workers run the same image
            ),
            cpu="2",
            memory="8G",
        ).set_display_name("featurize: Beam + tf.Transform")
        _limit(featurize_task, "featurize", limits)
        mount(featurize_task)
        examples = featurize_task.outputs["examples"]

        # Every family whose feature set is computed trains in the seed study's configuration and
        # (those in tuned_families) again Keras-Tuner-tuned, so the tuning gain is measured rather
        # than assumed.
        keras_tasks = {}
        for tuned, candidates in ((False, families), (True, tuned_families)):
            reading = families_reading(feature_sets=feature_sets, families=candidates)
            reading.set_display_name(
                "train: tuned families to run" if tuned else "train: families to run"
            )
            _limit(reading, "reading", limits)
            mount(reading)
            with dsl.ParallelFor(reading.output, parallelism=2) as family:
                inputs = {
                    "examples": examples,
                    "family": family,
                    "tuned": tuned,
                    "epochs": epochs,
                    "max_trials": max_trials,
                    "tuner": TrainConfig.tuner,
                    "batch_size": batch_size,
                    "class_weights": keep_majority_clips,
                    "resnet_weights": TrainConfig.resnet_weights or "",
                    "family_overrides": family_overrides,
                    "seed": seed,
                    "mixed_precision": mixed_precision,
                    "checkpoint_root": checkpoint_root,
                }
                distributed = tuned and tuner_workers > 0
                keras_tasks[tuned] = _resources(
                    train(**inputs, **(CHIEF_INPUTS if distributed else {})),
                    cpu="4",
                    memory="16G",
                ).set_display_name("train: Keras (tuned)" if tuned else "train: Keras (seed)")
                _limit(keras_tasks[tuned], "train", limits)
                _place(keras_tasks[tuned], accelerator)
                mount(keras_tasks[tuned])
                if distributed:
                    keras_tasks[tuned].set_caching_options(False)
                    workers = _tuner_workers(train, inputs, tuner_workers)
                    _limit(workers, "train", limits)
                    _place(workers, accelerator)
                    mount(workers)
        fitted = baselines_reading(feature_sets=feature_sets, models=baseline_models)
        fitted.set_display_name("baselines: models to fit")
        _limit(fitted, "reading", limits)
        mount(fitted)
        with dsl.ParallelFor(fitted.output, parallelism=3) as model_name:
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
            _limit(baseline_task, "baselines", limits)
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
        _limit(evaluate_task, "evaluate", limits)
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
        _limit(deploy_task, "deploy", limits)
        deploy_task.set_caching_options(False)
        mount(deploy_task)

    return training_pipeline


training_pipeline = build_pipeline()
