"""KFP wrapper of the rebalance step: per-class resampling of the training split (see core.py)."""

from kfp import dsl
from kfp.dsl import Dataset, Input, Markdown, Metrics, Output

from components import IMAGE
from components.rebalance.config import RebalanceConfig
from components.wrapper.signature_defaults import signature_defaults


@dsl.component(base_image=IMAGE, install_kfp_package=False)
@signature_defaults(
    target_per_class=RebalanceConfig.target_per_class,
    keep_majority_clips=RebalanceConfig.keep_majority_clips,
    seed=RebalanceConfig.seed,
)
def rebalance(
    manifest: Input[Dataset],
    balanced_manifest: Output[Dataset],
    class_table: Output[Markdown],
    metrics: Output[Metrics],
    target_per_class: int,
    keep_majority_clips: bool,
    seed: int,
):
    """Under/oversamples training clips to a per-class target; copies get augmentation specs.

    Args:
        manifest: Directory holding manifest.jsonl (from ingest).
        balanced_manifest: Directory with the rebalanced manifest.jsonl, rebalance_report.json
            and class_table.{md,csv}; validation and test records are unchanged.
        class_table: Per-class training counts before and after, as Markdown.
        metrics: Training clips before/after and augmented copies, per class.
        target_per_class: Training clips per class after rebalancing (the study used 5,000).
        keep_majority_clips: Keep every clip of classes above the target (no undersampling).
        seed: Seed of the sampling and of each copy's noise SNR and pitch shift.
    """
    from components.wrapper.task_label import announce

    announce("rebalance", balanced_manifest)

    from components.artifacts import files, names
    from components.rebalance import core

    config = core.RebalanceConfig(
        target_per_class=target_per_class, keep_majority_clips=keep_majority_clips, seed=seed
    )
    result = core.run(f"{manifest.path}/{names.MANIFEST_FILE}", balanced_manifest.path, config)
    with open(class_table.path, "w") as handle:
        handle.write(core.class_table_markdown(result))
    for name in result.before:
        metrics.log_metric(f"before_{name}", result.before[name])
        metrics.log_metric(f"after_{name}", result.after[name])
    metrics.log_metric("augmented_copies", sum(result.augmented.values()))
    # The file too: kfp.local's cache takes an output without a file for a miss (kfp 2.17).
    files.write_json(metrics.path, metrics.metadata)
