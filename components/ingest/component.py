"""KFP wrapper of the ingest step: dataset layout → labelled, split manifest (see core.py)."""

from kfp import dsl
from kfp.dsl import Dataset, Markdown, Metrics, Output

from components import IMAGE
from components.ingest.config import DEFAULT_FORMAT, IngestConfig
from components.wrapper.signature_defaults import signature_defaults


@dsl.component(base_image=IMAGE, install_kfp_package=False)
@signature_defaults(
    data_format=DEFAULT_FORMAT,
    taxonomy_path=IngestConfig.taxonomy_path,
    seed=IngestConfig.seed,
    allowed_roots=list(IngestConfig.allowed_roots),
    more_data_roots=[],
    data_fingerprint="",
)
def ingest(
    data_root: str,
    manifest: Output[Dataset],
    label_counts: Output[Metrics],
    label_report: Output[Markdown],
    data_format: str,
    taxonomy_path: str,
    seed: int,
    allowed_roots: list,
    more_data_roots: list,
    data_fingerprint: str,
):
    """Reads FSD50K, ESC-50 or manifest CSVs, bins tags into 8 classes and splits the clips.

    Args:
        data_root: Dataset root, a local path or gs:// URI.
        manifest: Directory with manifest.jsonl, label_report.json and rejects.jsonl.
        label_counts: Clips per class and split, ambiguous and rejected counts.
        label_report: Markdown table of the label distribution and taxonomy rule hits.
        data_format: One of fsd50k, esc50, manifest.
        taxonomy_path: Taxonomy JSON or a packaged one's name (study, categories); empty means
            the seed study's taxonomy.
        seed: Seed of the grouped validation/test split.
        allowed_roots: Roots besides data_root that audio URIs may point into (folders,
            gs://bucket or gs://bucket/prefix); audio anywhere else is rejected.
        more_data_roots: Further datasets, [{"data_root": ..., "data_format": ...}], each split
            on its own and merged with data_root's by source recording.
        data_fingerprint: Hash of the files under every data root
            (``components/ingest/fingerprint.py``), the input that makes a cached ingest rerun
            when the data changes; recorded in the manifest's metadata.
    """
    from components.wrapper.task_label import announce

    announce("ingest", manifest)

    from components.artifacts import files, names
    from components.ingest import core, report

    config = core.IngestConfig(
        data_format=data_format,
        taxonomy_path=taxonomy_path,
        seed=seed,
        allowed_roots=tuple(allowed_roots),
        more_data_roots=tuple(core.DataRoot.parse(entry) for entry in more_data_roots),
    )
    result = core.run(data_root, manifest.path, config)
    report.log_counts(result, label_counts.log_metric)
    # The file too: kfp.local's cache takes an output without a file for a miss (kfp 2.17).
    files.write_json(label_counts.path, label_counts.metadata)
    report.write_markdown(f"{manifest.path}/{names.LABEL_REPORT_FILE}", label_report.path)
    if data_fingerprint:
        manifest.metadata["data_fingerprint"] = data_fingerprint
