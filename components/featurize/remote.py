"""Where a remote Beam runner's workers find featurize's files and code.

The workers of DataflowRunner and of the portable runners (FlinkRunner, SparkRunner,
PortableRunner against a Flink or Spark job server) run on other machines, in containers of
their own: they cannot read the KFP pod's disk, where the KFP launcher stages artifacts (under
``/gcs``, ``/minio``, ``/s3``), nor import a package the pod installed. So, first, on a remote
pipeline root featurize hands Beam the artifacts' URIs (``gs://``), which every worker opens
through Beam's and TensorFlow's GCS file systems, and a local pipeline root keeps local paths
(``beam_location``); a local path given to DataflowRunner cannot work and is refused before a
job starts (``check_reachable``; a portable cluster may share a volume: only a warning there).
Second, the workers run the project image itself, which carries the Beam SDK harness
(``docker/pipeline.Dockerfile``): Dataflow takes it as ``--sdk_container_image``; a portable
runner's Docker environment reads only ``--environment_config`` or
``--environment_options=docker_container_image=`` (Beam 2.77's
``DockerEnvironment.from_options``), so those are set as well (``container_args``). Either is
added only when the caller chose no image or environment of their own. Beam- and TF-free.
"""

import logging
from collections.abc import Iterable, Sequence

REMOTE_SCHEMES = ("gs://",)
DATAFLOW = frozenset({"dataflow"})
PORTABLE = frozenset({"flink", "spark", "portable"})


def is_remote(location: str) -> bool:
    """Whether ``location`` is a URI that workers on other machines can open."""
    return location.startswith(REMOTE_SCHEMES)


def beam_location(uri: str, path: str) -> str:
    """An artifact's location for Beam: its ``uri`` when remote (``gs://``), else its ``path``.

    KFP gives every artifact both: ``uri`` where the data lives, ``path`` the task's local view
    of it (a FUSE mount on Vertex AI, a folder the launcher uploads afterwards on Kubeflow).
    ``minio://`` and ``s3://`` URIs stay local paths: TensorFlow's file systems cannot open
    them, and the launcher copies the folder there after the task.
    """
    return uri if uri and is_remote(uri) else path


def runner_kind(runner: str) -> str:
    """``"DataflowRunner"``, ``"dataflow"`` or a dotted class path → ``"dataflow"``."""
    name = runner.rsplit(".", 1)[-1].lower()
    return name.removesuffix("runner") or name


def flag_value(beam_args: Sequence[str], flag: str) -> str | None:
    """The value of ``flag`` in ``beam_args`` (``--flag=value`` or ``--flag value``), or None."""
    for index, arg in enumerate(beam_args):
        if arg.startswith(flag + "="):
            return arg.split("=", 1)[1]
        if arg == flag and index + 1 < len(beam_args):
            return beam_args[index + 1]
    return None


def _given(beam_args: Sequence[str], *flags: str) -> bool:
    return any(arg == flag or arg.startswith(flag + "=") for arg in beam_args for flag in flags)


def container_args(runner: str, beam_args: Sequence[str], image: str) -> tuple[str, ...]:
    """``beam_args`` plus the options that make ``runner``'s workers run ``image``.

    Args:
        runner: The Beam runner name.
        beam_args: The caller's Beam options; an image or environment chosen there wins.
        image: The project image (``""``: add nothing).

    Returns:
        For Dataflow, ``--sdk_container_image=image``; for a portable runner also a Docker
        environment of ``image`` unless another environment type (LOOPBACK, PROCESS,
        EXTERNAL) was chosen; for any other runner, ``beam_args`` unchanged.
    """
    args = tuple(beam_args)
    kind = runner_kind(runner)
    if not image or kind not in DATAFLOW | PORTABLE:
        return args
    if not _given(args, "--sdk_container_image", "--worker_harness_container_image"):
        args = (*args, f"--sdk_container_image={image}")
    if kind in DATAFLOW:
        return args
    environment = flag_value(args, "--environment_type")
    chosen = _given(args, "--environment_config") or any(
        "docker_container_image=" in arg for arg in args
    )
    if chosen or environment not in (None, "DOCKER"):
        return args
    docker = () if environment else ("--environment_type=DOCKER",)
    return (*args, *docker, f"--environment_options=docker_container_image={image}")


def check_reachable(runner: str, locations: Iterable[str]) -> None:
    """Refuses local paths for DataflowRunner, whose workers never share the pod's disk.

    A portable runner's workers may share one (the same volume mounted on every Flink or Spark
    worker), so a local path only gets a warning there.

    Raises:
        ValueError: naming the first local path, and what to do instead.
    """
    kind = runner_kind(runner)
    for location in locations:
        if is_remote(location) or kind not in DATAFLOW | PORTABLE:
            continue
        if kind in PORTABLE:
            logging.warning(
                "featurize: %s workers must see %s at the same path (shared volume)",
                runner,
                location,
            )
        else:
            raise ValueError(
                f"{runner} workers cannot read the local path {location!r}: run the pipeline "
                "with a gs:// pipeline root and data root (or featurize with gs:// --manifest "
                "and --output)"
            )
