"""KFP wrapper of the featurize step: Beam + tf.Transform over the manifest (see core.py)."""

from kfp import dsl
from kfp.dsl import Artifact, Dataset, Input, Markdown, Metrics, Output

from components import IMAGE
from components.featurize.config import FeaturizeConfig
from components.signature_defaults import signature_defaults


@dsl.component(base_image=IMAGE, install_kfp_package=False)
@signature_defaults(
    runner=FeaturizeConfig.runner,
    beam_args=list(FeaturizeConfig.beam_args),
    num_shards=FeaturizeConfig.num_shards,
)
def featurize(
    manifest: Input[Dataset],
    examples: Output[Dataset],
    transform_graph: Output[Artifact],
    counts: Output[Metrics],
    dead_letter: Output[Markdown],
    runner: str,
    beam_args: list,
    num_shards: int,
):
    """Decodes, resamples and featurizes every clip into scaled TFRecords with tf.Transform.

    Args:
        manifest: Directory holding manifest.jsonl (from ingest or rebalance).
        examples: Directory of examples/<split>/ TFRecord shards, clip_stats.jsonl and
            dead_letter.jsonl.
        transform_graph: The tf.Transform output directory (fit on train only).
        counts: Clips featurized per split and dead-lettered per reason.
        dead_letter: Markdown table of clips that could not be featurized, with reasons.
        runner: Beam runner (FnApiRunner locally; DataflowRunner, FlinkRunner or SparkRunner
            on a cluster).
        beam_args: Extra Beam pipeline options, e.g. ["--direct_num_workers=2"].
        num_shards: TFRecord shards per split (0 lets the runner decide).
    """
    from components.artifacts import files, names
    from components.featurize import core, report

    config = core.FeaturizeConfig(num_shards=num_shards, runner=runner, beam_args=tuple(beam_args))
    manifest_file = f"{manifest.path}/{names.MANIFEST_FILE}"
    result = core.run(manifest_file, examples.path, config, transform_graph.path)
    report.log_counts(result, counts.log_metric)
    # The file too: kfp.local's cache takes an output without a file for a miss (kfp 2.17).
    files.write_json(counts.path, counts.metadata)
    report.write_markdown(result, dead_letter.path)
    examples.metadata.update({"clips_per_split": result.clips_per_split})
