"""Remote Beam runners: which locations Beam gets, and that the workers run the project image.

The image options are checked through Beam's own option parsing and environment construction,
so a flag Beam ignores (Beam 2.77's portable Docker environment does not read
``--sdk_container_image``) fails here.
"""

import logging

import pytest
from apache_beam.options.pipeline_options import PipelineOptions, PortableOptions, WorkerOptions
from apache_beam.transforms.environments import DockerEnvironment, Environment

from components.featurize import remote

IMAGE = "europe-docker.pkg.dev/p/r/household-sounds:abc123"


def _environment(args: tuple[str, ...]) -> Environment:
    return Environment.from_options(PipelineOptions(list(args)).view_as(PortableOptions))


def test_remote_uris_go_to_beam_and_local_paths_stay_local() -> None:
    assert remote.beam_location("gs://b/root/x/examples", "/gcs/b/root/x/examples") == (
        "gs://b/root/x/examples"
    )
    assert remote.beam_location("/runs/demo/x/examples", "/runs/demo/x/examples") == (
        "/runs/demo/x/examples"
    )
    # The launcher copies these back itself; TF's file systems cannot open them.
    assert remote.beam_location("minio://mlpipeline/x", "/minio/mlpipeline/x") == (
        "/minio/mlpipeline/x"
    )
    assert remote.beam_location("s3://b/x", "/s3/b/x") == "/s3/b/x"


@pytest.mark.parametrize(
    "runner", ["DataflowRunner", "dataflow", "apache_beam.runners.dataflow.DataflowRunner"]
)
def test_dataflow_workers_run_the_pipeline_image(runner: str) -> None:
    args = remote.container_args(runner, ["--project=p", "--region=r"], IMAGE)
    assert args[:2] == ("--project=p", "--region=r")
    assert PipelineOptions(list(args)).view_as(WorkerOptions).sdk_container_image == IMAGE


@pytest.mark.parametrize("runner", ["FlinkRunner", "SparkRunner", "PortableRunner"])
def test_portable_workers_run_the_pipeline_image_in_a_docker_environment(runner: str) -> None:
    args = remote.container_args(runner, ["--job_endpoint=localhost:8099"], IMAGE)
    environment = _environment(args)
    assert isinstance(environment, DockerEnvironment)
    assert environment.container_image == IMAGE
    # Without our options Beam would pull its own SDK image, which lacks the project.
    default = _environment(("--job_endpoint=localhost:8099",))
    assert isinstance(default, DockerEnvironment) and default.container_image != IMAGE


def test_an_image_or_environment_the_caller_chose_wins() -> None:
    mine = "registry.example/beam-custom:1"
    for chosen in (
        [f"--sdk_container_image={mine}"],
        ["--sdk_container_image", mine],
    ):
        args = remote.container_args("DataflowRunner", chosen, IMAGE)
        assert PipelineOptions(list(args)).view_as(WorkerOptions).sdk_container_image == mine
    args = remote.container_args("FlinkRunner", [f"--environment_config={mine}"], IMAGE)
    assert _environment(args).container_image == mine
    args = remote.container_args(
        "FlinkRunner", [f"--environment_options=docker_container_image={mine}"], IMAGE
    )
    assert _environment(args).container_image == mine
    # Another environment type runs no container at all: nothing to add.
    loopback = remote.container_args("FlinkRunner", ["--environment_type=LOOPBACK"], IMAGE)
    assert "docker_container_image" not in " ".join(loopback)
    # An explicit DOCKER type still gets the image.
    docker = remote.container_args("SparkRunner", ["--environment_type=DOCKER"], IMAGE)
    assert _environment(docker).container_image == IMAGE


def test_local_runners_and_no_image_get_nothing() -> None:
    for runner in ("FnApiRunner", "DirectRunner", "BundleBasedDirectRunner"):
        assert remote.container_args(runner, ["--x=1"], IMAGE) == ("--x=1",)
    assert remote.container_args("DataflowRunner", ["--x=1"], "") == ("--x=1",)


def test_dataflow_refuses_a_local_path_before_any_job_starts(caplog) -> None:
    remote.check_reachable("DataflowRunner", ["gs://b/m.jsonl", "gs://b/out"])
    with pytest.raises(ValueError, match="cannot read the local path '/gcs/b/out'"):
        remote.check_reachable("DataflowRunner", ["gs://b/m.jsonl", "/gcs/b/out"])
    remote.check_reachable("FnApiRunner", ["/tmp/m.jsonl"])
    with caplog.at_level(logging.WARNING):
        remote.check_reachable("FlinkRunner", ["/mnt/shared/out"])  # a shared volume may work
    assert "same path" in caplog.text
