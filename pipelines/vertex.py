"""Submit the compiled pipeline to Vertex AI Pipelines: ``household-sounds submit --vertex``.

The package is the one ``household-sounds compile`` writes for Kubeflow (KFP IR YAML runs on
both); its ``--param`` arguments are checked against it as for Kubeflow
(``package.check_params``) and caching is set on the tasks compiled as cacheable only
(``package.set_caching``; Vertex's own ``enable_caching`` would also cache evaluate and deploy).
Vertex runs no Kubernetes platform spec, so the package's (per-task deadlines, node selectors,
volumes) is left out, and said so. ``google-cloud-aiplatform`` (the ``vertex`` extra) is
imported only here, and it talks to Vertex over its REST API: the default regional endpoint
(``REGION-aiplatform.googleapis.com``) or ``endpoint`` (a Private Service Connect address, or
the fake Vertex API on 127.0.0.1 the tests use). Credentials are Google's Application Default
Credentials (``gcloud auth application-default login``, a credentials file in
``$GOOGLE_APPLICATION_CREDENTIALS``, or the workload identity of the pod or VM), looked up on
every call; before creating the job, aiplatform checks (and if missing creates) the pipeline
root's bucket with them.
"""

from __future__ import annotations

import contextlib
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pipelines.follow import VERTEX, Outcome, follow
from pipelines.package import (
    check_params,
    kubernetes_settings,
    with_caching,
    without_platform_spec,
)

SCOPE = "https://www.googleapis.com/auth/cloud-platform"
CONSOLE = "https://console.cloud.google.com/vertex-ai/locations/{region}/pipelines/runs/{job}"


@dataclass(frozen=True)
class VertexTarget:
    """Where the job runs: project, region, pipeline root (``gs://``), optional API endpoint."""

    project: str
    region: str
    pipeline_root: str
    endpoint: str | None = None

    def __post_init__(self) -> None:
        if not (self.project and self.region):
            raise ValueError("--vertex needs --project and --region")
        if not self.pipeline_root.startswith("gs://"):
            raise ValueError(
                f"--pipeline-root {self.pipeline_root!r}: Vertex AI Pipelines needs a gs:// root"
            )


@dataclass
class VertexRun:
    """A submitted job: its resource name, console URL and the live ``PipelineJob``."""

    resource_name: str
    url: str
    job: Any

    def follow(self, poll_s: float, timeout_s: float | None) -> Outcome:
        """Waits for the job's final state (see ``pipelines.follow``)."""
        return follow(
            lambda: self.job.state.name, VERTEX, poll_s=poll_s, timeout_s=timeout_s, label="job"
        )


@contextlib.contextmanager
def _pipeline_spec_only(package_path: str) -> Iterator[str]:
    """The package, or a copy without its Kubernetes platform spec (said on stderr).

    aiplatform reads the package as one YAML document (a second one, the platform spec, fails
    to load) and Vertex runs no Kubernetes settings: per-task deadlines, node selectors,
    tolerations and volumes stay Kubeflow's.
    """
    dropped = kubernetes_settings(package_path)
    if not dropped:
        yield package_path
        return
    print(
        f"household-sounds submit: Vertex AI runs no Kubernetes settings; left out: "
        f"{', '.join(dropped)}",
        file=sys.stderr,
    )
    with tempfile.TemporaryDirectory() as tmp:
        yield without_platform_spec(package_path, f"{tmp}/{Path(package_path).name}")


def submit(
    package_path: str,
    target: VertexTarget,
    *,
    display_name: str,
    params: dict[str, object],
    enable_caching: bool | None = None,
    service_account: str | None = None,
) -> VertexRun:
    """Creates a Vertex AI PipelineJob from the package and returns it, submitted.

    Args:
        package_path: IR YAML from ``household-sounds compile``.
        target: Project, region, pipeline root and endpoint.
        display_name: The job's name in the console.
        params: Pipeline arguments, checked against the package (``check_params``).
        enable_caching: Caching of the tasks compiled as cacheable; ``None`` keeps the package.
        service_account: GCP service account the job runs as (default: Compute Engine's).
    """
    arguments = check_params(package_path, params)
    import google.auth
    from google.cloud import aiplatform

    credentials, _ = google.auth.default(scopes=[SCOPE])

    aiplatform.init(
        project=target.project,
        location=target.region,
        credentials=credentials,
        api_endpoint=target.endpoint,
        api_transport="rest",
    )
    with with_caching(package_path, enable_caching) as cached, _pipeline_spec_only(cached) as path:
        job = aiplatform.PipelineJob(
            display_name=display_name,
            template_path=path,
            pipeline_root=target.pipeline_root,
            parameter_values=arguments,
            enable_caching=None,  # set_caching did it; Vertex would also cache evaluate, deploy
            project=target.project,
            location=target.region,
            credentials=credentials,
        )
    with contextlib.redirect_stdout(sys.stderr):  # keep stdout for the command's JSON
        job.submit(service_account=service_account)
    job_id = job.resource_name.rsplit("/", 1)[-1]
    url = CONSOLE.format(region=target.region, job=job_id) + f"?project={target.project}"
    return VertexRun(job.resource_name, url, job)
