"""The two Dataflow jobs featurize would submit, built by DataflowRunner's dry run on gs:// paths.

``--dry_run=True`` (Beam's ``TestOptions``) makes ``DataflowRunner`` do everything up to the
Dataflow API call: apply its overrides, translate the pipeline to the runner-v2 proto, resolve
the worker environment and build the ``Job``. Then ``create_job_description`` stages the job's
files to its staging location, in a GCS emulator on 127.0.0.1 here (``tests/helpers/gcs.py``),
and fills the job's ``Environment``, exactly as a submission would; only
``submit_job_description`` (the ``projects.locations.jobs.create`` call, which needs a GCP
project and credentials) is left out.
The job graphs are featurize's own, from ``core.featurize_pipeline`` and
``core.transform_pipeline``: read, decode (with the dead letter), features, raw shards; then
tf.Transform's analyse on train, transform of every split and the writes; every step runs in
the project image given as ``sdk_container_image``, and nothing else is staged for the workers
(no SDK tarball, no requirements: the image carries them).
"""

import base64
import bz2

import pytest
from apache_beam.portability import common_urns
from apache_beam.portability.api import beam_runner_api_pb2
from apache_beam.runners.dataflow.internal import apiclient
from google.cloud import dataflow

from components.featurize import core
from tests.helpers.gcs import emulated_gcs

# One worker runs the module, so its fixture (the emulator, both jobs) is built once.
pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("featurize_dataflow_graph")]

IMAGE = "europe-docker.pkg.dev/household-sounds/ml/household-sounds:0123abc"
WORK = "gs://data/work"
OUTPUT = f"{WORK}/featurized"
SPLITS = ("train", "validation", "test")
DATAFLOW_ARGS = (
    "--project=household-sounds-test",
    "--region=europe-west1",
    "--temp_location=gs://data/dataflow-tmp",
    "--no_auth",  # the Dataflow client is never called; the emulator takes anonymous uploads
    "--dry_run=True",
)


@pytest.fixture(scope="module")
def jobs(tmp_path_factory):
    folder = tmp_path_factory.mktemp("dataflow")
    with pytest.MonkeyPatch.context() as monkeypatch, emulated_gcs(folder, monkeypatch) as gcs:
        bucket = gcs.bucket("data")
        bucket.blob("work/manifest.jsonl").upload_from_string(
            '{"clip_id": "c0", "uri": "gs://data/audio/c0.wav", "split": "train", '
            '"label_index": 0}\n'
        )
        # The second job reads the first one's raw shards, and Beam checks at construction that
        # its file patterns match something: in a dry run nothing is read, so empty files do.
        for split in SPLITS:
            bucket.blob(
                f"work/featurized/raw/{split}/part-00000{core.RAW_SUFFIX}"
            ).upload_from_string(b"")
        cfg = core.FeaturizeConfig(
            runner="DataflowRunner", beam_args=DATAFLOW_ARGS, sdk_container_image=IMAGE
        )
        built = {
            "featurize": core.featurize_pipeline(f"{WORK}/manifest.jsonl", OUTPUT, cfg).run().job,
            "transform": core.transform_pipeline(
                OUTPUT, f"{OUTPUT}/transform_graph", cfg, f"{OUTPUT}/{core.TRANSFORM_SCRATCH}"
            )
            .run()
            .job,
        }
        for job in built.values():
            client = apiclient.DataflowApplicationClient(job.options, job.root_staging_location)
            client.create_job_description(job)  # stages to the emulator, fills the Environment
        staged = {
            blob.name: blob.download_as_bytes() if blob.name.endswith("/pipeline.pb") else None
            for blob in bucket.list_blobs(prefix="dataflow-tmp/")
        }
        yield built, staged


def _top_level(job) -> set[str]:
    transforms = job.proto_pipeline.components.transforms.values()
    return {t.unique_name for t in transforms if "/" not in t.unique_name and t.spec.urn}


def _transform(job, name: str) -> beam_runner_api_pb2.PTransform:
    (found,) = [
        t for t in job.proto_pipeline.components.transforms.values() if t.unique_name == name
    ]
    return found


def _pickled_payloads(job, prefix: str) -> bytes:
    """The unpickled-to-bytes DoFns of every ParDo under ``prefix``: where sinks keep paths."""
    payloads = []
    for t in job.proto_pipeline.components.transforms.values():
        if t.unique_name.startswith(prefix) and t.spec.urn == common_urns.primitives.PAR_DO.urn:
            do_fn = beam_runner_api_pb2.ParDoPayload.FromString(t.spec.payload).do_fn
            payloads.append(bz2.decompress(base64.b64decode(do_fn.payload)))
    return b"".join(payloads)


def test_the_featurize_job_reads_decodes_featurizes_and_writes_shards_and_dead_letter(jobs):
    job = jobs[0]["featurize"]
    assert job.proto.type_ == dataflow.JobType.JOB_TYPE_BATCH
    assert _top_level(job) == {
        "ReadManifest",
        "ParseManifest",
        "Distribute",
        "Decode",
        "Batch",
        "Features",
        "BySplit",
        *(f"Values{split}" for split in SPLITS),
        *(f"WriteRaw{split}" for split in SPLITS),
        "Jsondead_letter",
        "Writedead_letter",
        "Jsonclip_stats",
        "Writeclip_stats",
    }
    decode = _transform(job, "Decode")
    assert set(decode.outputs) == {"None", "dead_letter", "clip_stats"}
    dead_letter = _transform(job, "Jsondead_letter")
    assert list(dead_letter.inputs.values()) == [decode.outputs["dead_letter"]]
    assert f"{WORK}/manifest.jsonl".encode() in _pickled_payloads(job, "ReadManifest")
    assert f"{OUTPUT}/dead_letter".encode() in _pickled_payloads(job, "Writedead_letter")
    for split in SPLITS:
        assert f"{OUTPUT}/raw/{split}/part".encode() in _pickled_payloads(job, f"WriteRaw{split}")
    # The workers unpickle featurize's DoFns by reference: the project image must hold them.
    assert b"components.featurize.clips" in _pickled_payloads(job, "Decode")
    assert b"DecodeClip" in _pickled_payloads(job, "Decode")
    assert b"ComputeFeatures" in _pickled_payloads(job, "Features")


def test_the_transform_job_analyses_train_and_transforms_every_split(jobs):
    job = jobs[0]["transform"]
    assert _top_level(job) == {
        "ReadTrainForAnalysis",
        "Analyze",
        "WriteTransformGraph",
        *(
            f"{step}{split}"
            for step in ("Read", "Transform", "Encode", "Write")
            for split in SPLITS
        ),
    }
    analyzed = _transform(job, "Analyze")
    assert list(analyzed.inputs.values()) == list(
        _transform(job, "ReadTrainForAnalysis").outputs.values()
    ), "the scaling is fit on the training split only"
    assert f"{OUTPUT}/transform_graph".encode() in _pickled_payloads(job, "WriteTransformGraph")
    for split in SPLITS:
        assert f"{OUTPUT}/examples/{split}/part".encode() in _pickled_payloads(job, f"Write{split}")
        assert f"{OUTPUT}/raw/{split}/".encode() in _pickled_payloads(job, f"Read{split}")


@pytest.mark.parametrize("name", ["featurize", "transform"])
def test_every_step_runs_in_the_project_image_and_nothing_else_is_staged(jobs, name):
    built, staged = jobs
    job = built[name]
    environments = job.proto_pipeline.components.environments
    assert {env.urn for env in environments.values()} == {common_urns.environments.DOCKER.urn}
    images = {
        beam_runner_api_pb2.DockerPayload.FromString(env.payload).container_image
        for env in environments.values()
    }
    assert images == {IMAGE}
    (pool,) = job.proto.environment.worker_pools
    assert [image.container_image for image in pool.sdk_harness_container_images] == [IMAGE]
    assert "use_runner_v2" in job.proto.environment.experiments
    # What a submission stages: the pipeline proto itself (the same graph, read back from
    # GCS) and Beam's own records; no SDK tarball, requirements or setup package.
    prefix = job.google_cloud_options.staging_location.removeprefix("gs://data/")
    files = {name.removeprefix(prefix + "/") for name in staged if name.startswith(prefix)}
    assert "pipeline.pb" in files
    assert not {"dataflow_python_sdk.tar", "requirements.txt", "workflow.tar.gz"} & files
    graph = beam_runner_api_pb2.Pipeline.FromString(staged[f"{prefix}/pipeline.pb"])
    assert graph.components.transforms.keys() == job.proto_pipeline.components.transforms.keys()


def test_featurize_refuses_a_dry_run_with_the_reason(tmp_path):
    cfg = core.FeaturizeConfig(runner="DataflowRunner", beam_args=DATAFLOW_ARGS)
    with pytest.raises(ValueError, match="cannot be a --dry_run: its second job reads"):
        core.run(f"{WORK}/manifest.jsonl", str(tmp_path), cfg)
