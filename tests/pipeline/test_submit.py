"""pipelines.submit against a fake KFP REST API on 127.0.0.1: the exact requests a cluster gets."""

import json
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from kfp import compiler, dsl

from cli import main as cli
from components import IMAGE
from pipelines.compile import compile_pipeline
from pipelines.package import ParamError, check_params
from pipelines.presets import DEMO_ARGUMENTS
from pipelines.submit import (
    PIPELINE_SERVICE_ACCOUNT,
    KfpAuth,
    create_recurring_run,
    parse_params,
    submit,
)
from tests.helpers.fake_kfp import FakeKfp, serve
from tests.helpers.usage import usage_error

pytestmark = pytest.mark.xdist_group("infra")


@dsl.component(base_image="example.org/tiny:1", install_kfp_package=False)
def _scale(data_root: str, factor: float, steps: int, flags: list, fast: bool) -> str:
    return f"{data_root}{factor}{steps}{flags}{fast}"


@dsl.pipeline(name="tiny")
def _tiny(
    data_root: str,
    factor: float = 1.0,
    steps: int = 2,
    flags: list = [],  # noqa: B006 - KFP reads defaults from the signature
    fast: bool = False,
):
    _scale(data_root=data_root, factor=factor, steps=steps, flags=flags, fast=fast)
    with dsl.ParallelFor([1, 2]) as step:
        _scale(data_root=data_root, factor=factor, steps=step, flags=flags, fast=fast)
    never_cached = _scale(data_root=data_root, factor=factor, steps=steps, flags=flags, fast=fast)
    never_cached.set_caching_options(False)


@pytest.fixture(scope="module")
def package(tmp_path_factory: pytest.TempPathFactory) -> str:
    path = str(tmp_path_factory.mktemp("pkg") / "tiny.yaml")
    compiler.Compiler().compile(_tiny, path)
    return path


@pytest.fixture
def fake_kfp(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[FakeKfp]:
    # kfp.Client reads ~/.config/kfp/context.json; keep the user's real one out of the test.
    monkeypatch.setenv("HOME", str(tmp_path))
    for var in (
        "KF_PIPELINES_ENDPOINT",
        "KF_PIPELINES_OVERRIDE_EXPERIMENT_NAME",
        "KFP_TOKEN",
        "KFP_COOKIES",
    ):
        monkeypatch.delenv(var, raising=False)
    fake = FakeKfp()
    server = serve(fake)
    yield fake
    server.shutdown()


def test_parse_params_coerces_types() -> None:
    params = parse_params(
        [
            "epochs=4",
            "min_macro_f1=0.25",
            "force_deploy=true",
            "tuned=False",
            'beam_args=["--runner=X", "--num_workers=2"]',
            'struct={"a": 1}',
            "data_root=gs://bucket/FSD50K",
            "runner=DataflowRunner",
            'tag="2024"',
            "expr=a=b",
            "empty=",
        ]
    )
    assert params == {
        "epochs": 4,
        "min_macro_f1": 0.25,
        "force_deploy": True,
        "tuned": False,
        "beam_args": ["--runner=X", "--num_workers=2"],
        "struct": {"a": 1},
        "data_root": "gs://bucket/FSD50K",
        "runner": "DataflowRunner",
        "tag": "2024",
        "expr": "a=b",
        "empty": "",
    }


@pytest.mark.parametrize(
    ("items", "message"),
    [
        (["epochs"], "expected KEY=VALUE"),
        (["=3"], "is not a parameter name"),
        (["a-b=3"], "is not a parameter name"),
        (["x=1", "x=2"], "given twice"),
        (["x=null"], "omit the parameter"),
    ],
)
def test_parse_params_errors(items: list[str], message: str) -> None:
    with pytest.raises(ParamError, match=message):
        parse_params(items)


def test_check_params_against_the_package(package: str) -> None:
    checked = check_params(package, {"data_root": 7, "factor": 2, "steps": 3, "fast": True})
    assert checked == {"data_root": "7", "factor": 2.0, "steps": 3, "fast": True}
    assert isinstance(checked["factor"], float)
    with pytest.raises(ParamError, match="unknown pipeline parameter 'epoch'.*data_root"):
        check_params(package, {"epoch": 1})
    with pytest.raises(ParamError, match="'steps' is NUMBER_INTEGER; got float"):
        check_params(package, {"steps": 2.5})
    with pytest.raises(ParamError, match="'fast' is BOOLEAN"):
        check_params(package, {"fast": 1})
    with pytest.raises(ParamError, match="'flags' is LIST"):
        check_params(package, {"flags": "--x"})


def test_submit_sends_the_package_and_arguments(package: str, fake_kfp: FakeKfp) -> None:
    run_id = submit(
        package,
        fake_kfp.url,
        namespace=None,
        experiment="household-sounds",
        run_name="demo run",
        params=parse_params(["data_root=gs://b/d", "steps=5", 'flags=["--a"]']),
        enable_caching=False,
        service_account="pipeline-runner",
    )
    assert run_id == "run-123"
    calls = [(r.method, r.path) for r in fake_kfp.requests]
    assert calls == [
        ("GET", "/apis/v2beta1/healthz"),
        ("GET", "/apis/v2beta1/experiments"),
        ("POST", "/apis/v2beta1/experiments"),
        ("POST", "/apis/v2beta1/runs"),
    ]
    assert fake_kfp.requests[2].body["display_name"] == "household-sounds"
    run = fake_kfp.requests[3].body
    assert run["display_name"] == "demo run"
    assert run["experiment_id"] == "exp-1"
    assert run["service_account"] == "pipeline-runner"
    assert run["runtime_config"]["parameters"] == {
        "data_root": "gs://b/d",
        "steps": 5,
        "flags": ["--a"],
    }
    spec = run["pipeline_spec"]
    assert spec["pipelineInfo"]["name"] == "tiny"
    # enable_caching=False is applied to every task of the submitted spec.
    tasks = [spec["root"]["dag"]["tasks"]["scale"]]
    tasks += spec["components"]["comp-for-loop-2"]["dag"]["tasks"].values()
    assert all(task["cachingOptions"] == {} for task in tasks)


def test_caching_on_leaves_tasks_compiled_uncached_alone(package: str, fake_kfp: FakeKfp) -> None:
    submit(
        package,
        fake_kfp.url,
        namespace=None,
        experiment="e",
        run_name=None,
        params={"data_root": "/d"},
        enable_caching=True,
    )
    spec = fake_kfp.requests[-1].body["pipeline_spec"]
    root = spec["root"]["dag"]["tasks"]
    (looped,) = spec["components"]["comp-for-loop-2"]["dag"]["tasks"].values()
    assert root["scale"]["cachingOptions"] == {"enableCache": True}
    assert looped["cachingOptions"] == {"enableCache": True}
    assert root["scale-3"]["cachingOptions"] == {}, "compiled uncached, stays uncached"


def test_submit_reuses_an_existing_experiment(package: str, fake_kfp: FakeKfp) -> None:
    for _ in range(2):
        submit(
            package,
            fake_kfp.url,
            namespace=None,
            experiment="again",
            run_name=None,
            params={"data_root": "/d"},
        )
    creates = [
        r for r in fake_kfp.requests if (r.method, r.path) == ("POST", "/apis/v2beta1/experiments")
    ]
    assert len(creates) == 1
    runs = [r.body for r in fake_kfp.requests if r.path == "/apis/v2beta1/runs"]
    assert runs[1]["display_name"].startswith("tiny.yaml ")


def test_submit_rejects_bad_params_before_any_request(package: str, fake_kfp: FakeKfp) -> None:
    with pytest.raises(ParamError):
        submit(
            package, fake_kfp.url, namespace=None, experiment="e", run_name=None, params={"nope": 1}
        )
    assert fake_kfp.requests == []


def test_submit_passes_namespace_to_the_client(package: str) -> None:
    seen: dict[str, object] = {}

    class Client:
        def __init__(self, host: str, namespace: str) -> None:
            seen.update(host=host, namespace=namespace)

        def create_run_from_pipeline_package(self, path: str, **kwargs: object):
            seen.update(path=path, **kwargs)
            return type("Result", (), {"run_id": "r1"})()

    run_id = submit(
        package,
        "https://kf.example.org/pipeline",
        namespace="team-a",
        experiment="e",
        run_name="r",
        params={"data_root": "/d"},
        client_factory=Client,
    )
    assert run_id == "r1"
    assert seen["host"] == "https://kf.example.org/pipeline"
    assert seen["namespace"] == "team-a"
    assert seen["experiment_name"] == "e"
    assert seen["arguments"] == {"data_root": "/d"}


def test_recurring_run_request(package: str, fake_kfp: FakeKfp) -> None:
    recurring_id = create_recurring_run(
        package,
        fake_kfp.url,
        namespace=None,
        experiment="nightly",
        name="retrain weekly",
        cron="0 0 3 * * 1",
        params={"data_root": "gs://b/FSD50K"},
    )
    assert recurring_id == "rr-7"
    body = fake_kfp.requests[-1].body
    assert fake_kfp.requests[-1].path == "/apis/v2beta1/recurringruns"
    assert body["trigger"] == {"cron_schedule": {"cron": "0 0 3 * * 1"}}
    assert body["mode"] == "ENABLE"
    assert body["no_catchup"] is True
    assert body["max_concurrency"] == 1
    assert body["runtime_config"]["parameters"] == {"data_root": "gs://b/FSD50K"}
    assert body["pipeline_spec"]["pipelineInfo"]["name"] == "tiny"
    with pytest.raises(ParamError, match="6 fields"):
        create_recurring_run(
            package,
            fake_kfp.url,
            namespace=None,
            experiment="e",
            name="n",
            cron="0 3 * * 1",
            params={},
        )


def test_submit_preset_demo_sends_the_demo_arguments(
    fake_kfp: FakeKfp, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`household-sounds submit --preset demo` = the demo budgets, then every --param."""
    image = "registry.example.com/team/household-sounds:abc1234"
    package = compile_pipeline(str(tmp_path / "pipeline.yaml"), image=image)
    argv = ["submit", "--host", fake_kfp.url, "--package", package, "--preset", "demo"]
    argv += ["--param", "data_root=/d", "--param", "data_fingerprint=f1"]
    assert cli.main([*argv, "--param", "epochs=3"]) == 0
    assert '"run_id": "run-123"' in capsys.readouterr().out  # after kfp.Client's own links
    parameters = fake_kfp.requests[-1].body["runtime_config"]["parameters"]
    given = {"data_root": "/d", "data_fingerprint": "f1", "epochs": 3}
    assert parameters == {**DEMO_ARGUMENTS, **given}


def test_submit_compiles_for_the_image_it_is_given(
    fake_kfp: FakeKfp, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """`household-sounds submit --image ...` sends a spec whose every executor runs that image."""
    monkeypatch.delenv("HOUSEHOLD_SOUNDS_IMAGE", raising=False)
    image = "registry.example.com/team/household-sounds:abc1234"
    argv = ["submit", "--host", fake_kfp.url, "--image", image, "--param", "data_root=/d"]
    argv += ["--param", "data_fingerprint=f1"]
    assert cli.main(argv) == 0
    spec = fake_kfp.requests[-1].body["pipeline_spec"]["pipeline_spec"]  # beside platform_spec
    executors = spec["deploymentSpec"]["executors"]
    assert {executor["container"]["image"] for executor in executors.values()} == {image}
    assert "--image needs no --package" in usage_error([*argv, "--package", "built.yaml"])


def test_submit_refuses_the_unpublished_release_image_unless_told(
    fake_kfp: FakeKfp, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv("HOUSEHOLD_SOUNDS_IMAGE", raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    monkeypatch.chdir(tmp_path)  # no household-sounds.toml of the checkout
    argv = ["submit", "--host", fake_kfp.url, "--param", "data_root=/d"]
    argv += ["--param", "data_fingerprint=f1"]
    line = usage_error(argv)
    assert "nothing publishes" in line and "--allow-unpublished-image" in line
    assert fake_kfp.requests == [], "nothing is sent"
    assert cli.main([*argv, "--allow-unpublished-image"]) == 0  # e.g. kind, which loads it
    spec = fake_kfp.requests[-1].body["pipeline_spec"]["pipeline_spec"]  # beside platform_spec
    executors = spec["deploymentSpec"]["executors"]
    assert {executor["container"]["image"] for executor in executors.values()} == {IMAGE}


def test_submit_runs_pods_as_the_pipeline_service_account(
    package: str, fake_kfp: FakeKfp, capsys: pytest.CaptureFixture[str]
) -> None:
    """`household-sounds submit` sends the least-privilege account of k8s/pipeline-rbac."""
    argv = ["submit", "--host", fake_kfp.url, "--package", package, "--param", "data_root=/d"]
    assert cli.main(argv) == 0
    assert fake_kfp.requests[-1].body["service_account"] == "household-sounds-pipeline"
    assert PIPELINE_SERVICE_ACCOUNT == "household-sounds-pipeline"
    # '' = KFP's own default runner: no account in the request.
    assert cli.main([*argv, "--service-account", ""]) == 0
    assert not fake_kfp.requests[-1].body.get("service_account")
    assert cli.main([*argv, "--cron", "0 0 3 * * 1"]) == 0
    recurring = fake_kfp.requests[-1]
    assert recurring.path == "/apis/v2beta1/recurringruns"
    assert recurring.body["service_account"] == PIPELINE_SERVICE_ACCOUNT
    capsys.readouterr()


def _cli_submit(fake_kfp: FakeKfp, package: str, *extra: str) -> int:
    argv = ["submit", "--host", fake_kfp.url, "--package", package, "--param", "data_root=/d"]
    return cli.main([*argv, *extra])


def test_submit_sends_a_bearer_token_from_the_environment_and_cookies(
    package: str, fake_kfp: FakeKfp, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    """Every request, healthz to run, carries the token and the auth proxy's session cookie."""
    monkeypatch.setenv("KFP_TOKEN", "env-token")
    assert _cli_submit(fake_kfp, package, "--cookies", "authservice_session=s3cr3t") == 0
    assert fake_kfp.requests, "nothing reached the fake"
    for request in fake_kfp.requests:
        assert request.headers["authorization"] == "Bearer env-token", request.path
        assert request.headers["cookie"] == "authservice_session=s3cr3t", request.path
    assert _cli_submit(fake_kfp, package, "--token", "flag-token") == 0  # the flag wins
    assert fake_kfp.requests[-1].headers["authorization"] == "Bearer flag-token"
    assert "cookie" not in fake_kfp.requests[-1].headers
    capsys.readouterr()


def test_submit_reads_a_projected_token_file_on_every_request(
    package: str, fake_kfp: FakeKfp, tmp_path: Path, capsys
) -> None:
    token = tmp_path / "token"
    token.write_text("first")
    client_kwargs = KfpAuth(token_file=str(token)).client_kwargs()
    import kfp

    client = kfp.Client(host=fake_kfp.url, **client_kwargs)
    client.get_run("run-123")
    token.write_text("rotated")  # kubelet rotates the projected token
    client.get_run("run-123")
    seen = [r.headers["authorization"] for r in fake_kfp.requests if r.path.endswith("run-123")]
    assert seen == ["Bearer first", "Bearer rotated"]
    assert _cli_submit(fake_kfp, package, "--token-file", str(token)) == 0
    assert fake_kfp.requests[-1].headers["authorization"] == "Bearer rotated"
    capsys.readouterr()


def test_submit_prints_only_json_with_the_run_url(package: str, fake_kfp: FakeKfp, capsys) -> None:
    assert _cli_submit(fake_kfp, package) == 0
    captured = capsys.readouterr()
    printed = json.loads(captured.out)  # kfp's own "Run details:" lines went to stderr
    assert printed == {"run_id": "run-123", "run_url": f"{fake_kfp.url}/#/runs/details/run-123"}
    assert "Run details" in captured.err
    assert [r.method for r in fake_kfp.requests if "/runs/" in r.path] == [], "no wait, no poll"


@pytest.mark.parametrize(
    ("states", "code", "final"),
    [
        (["PENDING", "RUNNING", "RUNNING", "SUCCEEDED"], 0, "SUCCEEDED"),
        (["RUNNING", "FAILED"], 1, "FAILED"),
        (["RUNNING", "CANCELING", "CANCELED"], 1, "CANCELED"),  # kfp's own wait misses this one
    ],
)
def test_submit_wait_follows_the_run_to_its_final_state(
    package: str, fake_kfp: FakeKfp, capsys, states: list[str], code: int, final: str
) -> None:
    fake_kfp.run_states = list(states)
    assert _cli_submit(fake_kfp, package, "--wait", "--poll", "0.01") == code
    captured = capsys.readouterr()
    printed = json.loads(captured.out)
    assert (printed["run_id"], printed["state"]) == ("run-123", final)
    assert printed["message"].startswith(f"{final} after ")
    polls = [r for r in fake_kfp.requests if r.path == "/apis/v2beta1/runs/run-123"]
    assert len(polls) == len(states)
    for state in dict.fromkeys(states):  # each change is reported once, in order, on stderr
        assert captured.err.count(f"run: {state}\n") == 1


def test_submit_wait_times_out_with_124(package: str, fake_kfp: FakeKfp, capsys) -> None:
    fake_kfp.run_states = ["RUNNING"]
    argv = ("--wait", "--poll", "0.05", "--timeout", "0.3")
    started = time.monotonic()
    assert _cli_submit(fake_kfp, package, *argv) == 124
    assert time.monotonic() - started < 10
    printed = json.loads(capsys.readouterr().out)
    assert printed["state"] == "RUNNING" and "timed out" in printed["message"]


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--cron", "0 0 3 * * 1", "--wait"], "--wait follows one run"),
        (["--vertex", "--project", "p", "--region", "r", "--pipeline-root", "gs://b"], "--host"),
    ],
)
def test_submit_refuses_options_it_would_ignore(
    package: str, fake_kfp: FakeKfp, extra: list[str], message: str
) -> None:
    argv = ["submit", "--host", fake_kfp.url, "--package", package, "--param", "data_root=/d"]
    assert message in usage_error([*argv, *extra])
    assert fake_kfp.requests == []
    assert "--host is required" in usage_error(
        ["submit", "--package", package, "--param", "data_root=/d"]
    )
