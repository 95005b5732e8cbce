"""KFP wrapper of the featurize step: Beam + tf.Transform over the manifest (see core.py).

Beam gets each artifact's ``uri`` when it is remote (``gs://``: a remote runner's workers can
open it, the pod's staged copy they cannot) and its local ``path`` otherwise (``remote.py``).
"""

from kfp import dsl
from kfp.dsl import Artifact, Dataset, Input, Markdown, Metrics, Output

from components import IMAGE
from components.featurize.config import FeaturizeConfig
from components.wrapper.signature_defaults import signature_defaults


@dsl.component(base_image=IMAGE, install_kfp_package=False)
@signature_defaults(
    feature_sets=list(FeaturizeConfig.feature_sets),
    runner=FeaturizeConfig.runner,
    beam_args=list(FeaturizeConfig.beam_args),
    num_shards=FeaturizeConfig.num_shards,
    sdk_container_image=FeaturizeConfig.sdk_container_image,
)
def featurize(
    manifest: Input[Dataset],
    examples: Output[Dataset],
    transform_graph: Output[Artifact],
    counts: Output[Metrics],
    dead_letter: Output[Markdown],
    feature_sets: list,
    runner: str,
    beam_args: list,
    num_shards: int,
    sdk_container_image: str,
):
    """Decodes, resamples and featurizes every clip into scaled TFRecords with tf.Transform.

    Args:
        manifest: Directory holding manifest.jsonl (from ingest or rebalance).
        examples: Directory of examples/<split>/ TFRecord shards, clip_stats.jsonl and
            dead_letter.jsonl.
        transform_graph: The tf.Transform output directory (fit on train only).
        counts: Clips featurized per split and dead-lettered per reason.
        dead_letter: Markdown table of clips that could not be featurized, with reasons.
        feature_sets: The feature sets to compute and store (log_mel, mfcc, mean_mfcc,
            mn04_embedding by default; yamnet_embedding and mn04_log_mel opt-in).
        runner: Beam runner (FnApiRunner locally; DataflowRunner, FlinkRunner or SparkRunner
            on a cluster).
        beam_args: Extra Beam pipeline options, e.g. ["--direct_num_workers=2"].
        num_shards: TFRecord shards per split (0 lets the runner decide).
        sdk_container_image: Image the workers of a remote runner run (the pipeline's own);
            a --sdk_container_image or environment in beam_args wins.
    """
    from components.wrapper.task_label import announce

    announce("featurize", examples, transform_graph)

    import os

    from components.artifacts import files, names
    from components.featurize import core, remote, report

    config = core.FeaturizeConfig(
        feature_sets=tuple(feature_sets),
        num_shards=num_shards,
        runner=runner,
        beam_args=tuple(beam_args),
        sdk_container_image=sdk_container_image,
    )
    core.use_worker_thread_pools(config)
    manifest_dir = remote.beam_location(manifest.uri, manifest.path)
    examples_dir = remote.beam_location(examples.uri, examples.path)
    graph_dir = remote.beam_location(transform_graph.uri, transform_graph.path)
    for artifact, location in ((examples, examples_dir), (transform_graph, graph_dir)):
        if location != artifact.path:  # written at its URI; the launcher finds a folder here
            os.makedirs(artifact.path, exist_ok=True)
    manifest_file = f"{manifest_dir}/{names.MANIFEST_FILE}"
    result = core.run(manifest_file, examples_dir, config, graph_dir)
    report.log_counts(result, counts.log_metric)
    # The file too: kfp.local's cache takes an output without a file for a miss (kfp 2.17).
    files.write_json(counts.path, counts.metadata)
    report.write_markdown(result, dead_letter.path)
    examples.metadata.update(
        {"clips_per_split": result.clips_per_split, "feature_sets": result.feature_sets}
    )
