"""``submit --vertex`` against a fake Vertex AI REST API on 127.0.0.1 (``fake_vertex``).

google-cloud-aiplatform runs unmodified: Application Default Credentials from a key file, the
signed token exchange, the pipeline root's bucket check and the REST calls all reach the fake, so
these tests see the exact PipelineJob a Vertex project would get and the credentials it carries.
"""

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from cli import main as cli
from pipelines.compile import compile_pipeline
from pipelines.presets import DEMO_ARGUMENTS
from tests.helpers.fake_kfp import serve
from tests.helpers.fake_vertex import TOKEN, FakeVertex
from tests.helpers.usage import usage_error

pytestmark = [pytest.mark.xdist_group("infra"), pytest.mark.slow]  # compile + aiplatform: ~30 s
JOBS = "/v1/projects/proj-1/locations/europe-west4/pipelineJobs"
IMAGE = "europe-docker.pkg.dev/proj-1/ml/household-sounds:abc1234"


@pytest.fixture(scope="module")
def package(tmp_path_factory: pytest.TempPathFactory) -> str:
    return compile_pipeline(str(tmp_path_factory.mktemp("pkg") / "pipeline.yaml"), image=IMAGE)


@pytest.fixture
def fake_vertex(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[FakeVertex]:
    fake = FakeVertex()
    server = serve(fake)
    monkeypatch.setenv("HOME", str(tmp_path))  # no gcloud configuration of the machine's user
    for var in ("GOOGLE_CLOUD_PROJECT", "CLOUDSDK_CONFIG", "CLOUDSDK_CORE_PROJECT"):
        monkeypatch.delenv(var, raising=False)
    adc = fake.credentials_file(str(tmp_path / "adc.json"))
    monkeypatch.setenv("GOOGLE_APPLICATION_CREDENTIALS", adc)
    monkeypatch.setenv("STORAGE_EMULATOR_HOST", fake.url)
    from google.cloud.aiplatform.utils import resource_manager_utils

    monkeypatch.setattr(resource_manager_utils, "get_project_number", fake.project_number)
    yield fake
    server.shutdown()


def _submit_argv(fake: FakeVertex, package: str) -> list[str]:
    argv = ["submit", "--vertex", "--project", "proj-1", "--region", "europe-west4"]
    argv += ["--pipeline-root", "gs://ml-runs/root", "--vertex-endpoint", fake.url]
    return [
        *argv,
        "--package",
        package,
        "--preset",
        "demo",
        "--param",
        "data_root=gs://ml-data/demo",
        "--param",
        "data_fingerprint=f1",
    ]


def _submit(fake: FakeVertex, package: str, *extra: str) -> int:
    return cli.main([*_submit_argv(fake, package), *extra])


def test_vertex_gets_the_compiled_pipeline_with_arguments_and_credentials(
    fake_vertex: FakeVertex, package: str, capsys: pytest.CaptureFixture[str]
) -> None:
    extra = ("--run-name", "nightly", "--caching", "off", "--service-account", "sa@p.iam")
    assert _submit(fake_vertex, package, *extra) == 0
    printed = json.loads(capsys.readouterr().out)
    (create,) = [r for r in fake_vertex.requests if (r.method, r.path) == ("POST", JOBS)]
    job_id = create.query["pipelineJobId"][0]
    assert printed == {
        "vertex_job": f"projects/proj-1/locations/europe-west4/pipelineJobs/{job_id}",
        "run_url": "https://console.cloud.google.com/vertex-ai/locations/europe-west4/"
        f"pipelines/runs/{job_id}?project=proj-1",
    }
    # The key's identity reaches both APIs: Vertex gets a JWT the key signed itself (what
    # google-auth does for service-account keys on Google APIs), Cloud Storage the access token
    # the signed exchange returned.
    scheme, jwt = create.headers["authorization"].split(" ")
    assert scheme == "Bearer"
    assert fake_vertex.signed_by_the_key(jwt)["iss"] == "submitter@proj-1.iam.gserviceaccount.com"
    (exchange,) = [r for r in fake_vertex.requests if r.path == "/token"]
    assert exchange.body["grant_type"] == ["urn:ietf:params:oauth:grant-type:jwt-bearer"]
    fake_vertex.signed_by_the_key(exchange.body["assertion"][0])
    bucket_checks = [r for r in fake_vertex.requests if r.path.startswith("/storage/v1/b/")]
    assert bucket_checks, "aiplatform looks up the pipeline root's bucket"
    assert {r.path for r in bucket_checks} == {"/storage/v1/b/ml-runs"}
    assert {r.headers["authorization"] for r in bucket_checks} == {f"Bearer {TOKEN}"}
    assert fake_vertex.project_lookups == ["proj-1"], "aiplatform checked the bucket's owner"
    job = create.body
    assert job["displayName"] == "nightly"
    assert job["serviceAccount"] == "sa@p.iam"
    assert job["runtimeConfig"]["gcsOutputDirectory"] == "gs://ml-runs/root"
    values = job["runtimeConfig"]["parameterValues"]
    assert values == {**DEMO_ARGUMENTS, "data_root": "gs://ml-data/demo", "data_fingerprint": "f1"}
    assert "platforms" not in job["pipelineSpec"], "Vertex gets the pipeline spec alone"
    spec = job["pipelineSpec"]
    executors = spec["deploymentSpec"]["executors"].values()
    assert {executor["container"]["image"] for executor in executors} == {IMAGE}
    root_tasks = spec["root"]["dag"]["tasks"]
    assert all(task.get("cachingOptions", {}) == {} for task in root_tasks.values())


@pytest.mark.parametrize(
    ("states", "code"),
    [
        (["PIPELINE_STATE_RUNNING", "PIPELINE_STATE_SUCCEEDED"], 0),
        (["PIPELINE_STATE_RUNNING", "PIPELINE_STATE_FAILED"], 1),
        (["PIPELINE_STATE_CANCELLING", "PIPELINE_STATE_CANCELLED"], 1),
    ],
)
def test_vertex_wait_exits_with_the_jobs_outcome(
    fake_vertex: FakeVertex, package: str, capsys, states: list[str], code: int
) -> None:
    fake_vertex.job_states = list(states)
    assert _submit(fake_vertex, package, "--wait", "--poll", "0.01") == code
    captured = capsys.readouterr()
    assert json.loads(captured.out)["state"] == states[-1]
    assert f"job: {states[-1]}" in captured.err


def test_vertex_refuses_what_it_cannot_use(fake_vertex: FakeVertex, package: str) -> None:
    assert "needs a gs:// root" in usage_error(
        [
            "submit",
            "--vertex",
            "--project",
            "p",
            "--region",
            "r",
            "--package",
            package,
            "--pipeline-root",
            "/local/root",
            "--param",
            "data_root=gs://b/d",
        ]
    )
    assert "--token: Kubeflow options, not for --vertex" in usage_error(
        [*_submit_argv(fake_vertex, package), "--token", "t"]
    )
    assert "unknown pipeline parameter 'epoch'" in usage_error(
        [*_submit_argv(fake_vertex, package), "--param", "epoch=3"]
    )
    assert fake_vertex.requests == [], "nothing is sent when the command line is wrong"


def test_vertex_runs_as_compute_engines_account_unless_given_a_gcp_one(
    fake_vertex: FakeVertex, package: str
) -> None:
    # The option's default names the Kubernetes account of a Kubeflow run: not sent to Vertex.
    assert _submit(fake_vertex, package) == 0
    (create,) = [r for r in fake_vertex.requests if (r.method, r.path) == ("POST", JOBS)]
    assert not create.body.get("serviceAccount")
    sent = len(fake_vertex.requests)
    line = usage_error([*_submit_argv(fake_vertex, package), "--service-account", "my-ksa"])
    assert "a Vertex job runs as a GCP service account" in line
    assert len(fake_vertex.requests) == sent, "nothing is sent for a Kubernetes account name"
