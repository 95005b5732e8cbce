"""KFP wrappers of the train step: which families train, and one family, seed or tuned (core.py)."""

from kfp import dsl
from kfp.dsl import Artifact, Dataset, Input, Metrics, Model, Output

from components import IMAGE
from components.train.config import TrainConfig
from components.wrapper.signature_defaults import signature_defaults


@dsl.component(base_image=IMAGE, install_kfp_package=False)
@signature_defaults(
    tuned=TrainConfig.tuned,
    epochs=TrainConfig.epochs,
    max_trials=TrainConfig.max_trials,
    tuner=TrainConfig.tuner,
    batch_size=TrainConfig.batch_size,
    class_weights=TrainConfig.class_weights,
    resnet_weights=TrainConfig.resnet_weights or "",
    family_overrides={},
    seed=TrainConfig.seed,
    mixed_precision=TrainConfig.mixed_precision,
    checkpoint_root="",
    tuner_id="",
    oracle_address="",
    pipeline_run_id="",
)
def train(
    examples: Input[Dataset],
    model: Output[Model],
    metrics: Output[Metrics],
    best_hparams: Output[Artifact],
    family: str,
    tuned: bool,
    epochs: int,
    max_trials: int,
    tuner: str,
    batch_size: int,
    class_weights: bool,
    resnet_weights: str,
    family_overrides: dict,
    seed: int,
    mixed_precision: bool,
    checkpoint_root: str,
    tuner_id: str,
    oracle_address: str,
    pipeline_run_id: str,
):
    """Trains one Keras family (optionally Keras-Tuner-tuned first) with early stopping.

    Args:
        examples: Featurize output directory (examples/<split>/*.tfrecord.gz).
        model: Model directory: model.keras, model.json, predictions/<split>.jsonl (and
            best_hparams.json, trials.json when tuned).
        metrics: Best-epoch validation loss/accuracy, training seconds, seconds per epoch.
        best_hparams: Directory with best_hparams.json (the seed's values when not tuned) and
            trials.json.
        family: cnn_log_mel, cnn_mfcc, resnet50_mfcc, dense_mean_mfcc, yamnet, mn04, mn04_finetuned.
        tuned: Search the family's space with Keras Tuner before training.
        epochs: Maximum epochs for the final fit and each trial.
        max_trials: Bayesian tuner trial budget.
        tuner: bayesian or hyperband.
        batch_size: Examples per batch.
        class_weights: Weight the loss by inverse training-class frequency.
        resnet_weights: "imagenet" (needs a download) or "" for random initialisation.
        family_overrides: Per-family TrainConfig fields, e.g. {"resnet50_mfcc": {"epochs": 2}}.
        seed: Seed of initialisation, shuffling and tuning.
        mixed_precision: float16 compute with float32 variables and output (GPUs).
        checkpoint_root: Where resume state lives, one folder per examples and configuration
            (gs:// or a mounted volume: a retried or rerun task continues); empty: in the
            model's own output directory.
        tuner_id: Distributed tuning: "chief" or a unique worker id ("tuner0"...); empty: the
            tuned run searches alone. A worker's model directory holds only trials.json.
        oracle_address: Distributed tuning: host:port the chief listens on (0.0.0.0:P) or a
            worker connects to; a worker without one reads the chief's from the rendezvous.
        pipeline_run_id: Distributed tuning inside a run (KFP placeholder): the chief publishes
            its address under <checkpoint_root>/tuner-rendezvous/<run id>/<family>/, where the
            workers read it; empty: no rendezvous.
    """
    from components.train.config import task_label
    from components.wrapper.task_label import announce

    announce(task_label(family, tuned, tuner_id), model, best_hparams)

    from components.artifacts import files
    from components.train import core, report, resume
    from components.train.config import rendezvous_dir

    config = core.TrainConfig(
        family=family,
        epochs=epochs,
        batch_size=batch_size,
        tuned=tuned,
        max_trials=max_trials,
        tuner=tuner,
        class_weights=class_weights,
        seed=seed,
        resnet_weights=resnet_weights or None,
        mixed_precision=mixed_precision,
        tuner_id=tuner_id,
        oracle_address=oracle_address,
        tuner_rendezvous=rendezvous_dir(checkpoint_root, pipeline_run_id, family),
    ).with_overrides(family_overrides)
    if checkpoint_root:
        config = resume.under_root(config, checkpoint_root, examples.uri)
    result = core.run(examples.path, model.path, config)
    report.log_metrics(result, metrics.log_metric)
    # The file too: kfp.local's cache takes an output without a file for a miss (kfp 2.17).
    files.write_json(metrics.path, metrics.metadata)
    report.write_hparams(result, best_hparams.path)
    model.metadata.update(report.model_metadata(result))
    best_hparams.metadata.update({"name": result.name, "tuned": result.tuned})


@dsl.component(base_image=IMAGE, install_kfp_package=False)
def families_reading(feature_sets: list, families: list) -> list:
    """The families of ``families`` whose feature set featurize computes (``feature_sets``).

    Args:
        feature_sets: The pipeline's feature sets.
        families: The candidate families, in the order their tasks start.
    """
    from components.train.config import families_reading

    return families_reading(feature_sets, families)
