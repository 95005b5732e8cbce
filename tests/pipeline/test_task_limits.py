"""Every step's pod deadline and retries, as compiled; and what Vertex gets instead.

The deadlines are Kubernetes' ``activeDeadlineSeconds`` in the package's platform spec
(``kfp.kubernetes.set_timeout``); the retries are the pipeline spec's retry policy. Vertex AI
runs no platform spec, and google-cloud-aiplatform cannot load a package that holds one.
"""

import pytest
import yaml

from cli import main as cli
from pipelines.compile import compile_pipeline
from pipelines.package import kubernetes_settings, without_platform_spec
from pipelines.task_limits import LOCAL_LIMITS, RETRIES, RETRY_BACKOFF, TIMEOUT_HOURS, TaskLimits
from tests.helpers.pipeline_spec import all_tasks
from tests.helpers.usage import usage_error

IMAGE = "registry.example.com/team/household-sounds:abc1234"  # not the unpublished release one


def _step(name: str) -> str:
    """``exec-train-2`` / ``train-2`` → ``train``; a reading task (``families-reading-2``) →
    ``reading``."""
    name = name.removeprefix("exec-")
    base, _, suffix = name.rpartition("-")
    name = base if suffix.isdigit() else name
    return "reading" if name.endswith("-reading") else name


def _docs(path: str) -> tuple[dict, dict]:
    with open(path) as handle:
        spec, platform = yaml.safe_load_all(handle)
    return spec, platform["platforms"]["kubernetes"]["deploymentSpec"]["executors"]


@pytest.fixture(scope="module")
def package(tmp_path_factory) -> str:
    """The package with a distributed tuner worker too: it gets train's deadline and retries."""
    path = str(tmp_path_factory.mktemp("limits") / "pipeline.yaml")
    return compile_pipeline(path, tuner_workers=1)


def test_every_step_has_its_documented_deadline(package):
    _, executors = _docs(package)
    steps = {_step(name) for name in executors}
    assert steps == set(TIMEOUT_HOURS)
    assert "exec-train-3" in executors  # the tuner worker
    for name, executor in executors.items():
        expected = TIMEOUT_HOURS[_step(name)] * 3600
        assert int(executor["activeDeadlineSeconds"]) == expected, name


def test_only_the_steps_a_retry_can_help_are_retried(package):
    spec, _ = _docs(package)
    retried = {}
    for name, task in all_tasks(spec).items():
        if "componentRef" in task and not name.startswith("for-loop"):
            policy = task.get("retryPolicy", {})
            retried[_step(name)] = policy.get("maxRetryCount", 0)
            if policy:
                assert policy["backoffDuration"] == RETRY_BACKOFF, name
    assert retried == RETRIES
    assert retried["deploy"] == retried["evaluate"] == retried["baselines"] == 0
    assert retried["ingest"] > 0 and retried["train"] > 0


def test_task_timeout_changes_one_step_and_zero_removes_it(tmp_path, capsys):
    path = str(tmp_path / "p.yaml")
    compile_ = ["compile", "--output", path, "--image", IMAGE]
    assert cli.main([*compile_, "--task-timeout", "train=10", "--task-timeout", "deploy=0"]) == 0
    capsys.readouterr()
    _, executors = _docs(path)
    for name, executor in executors.items():
        step = _step(name)
        if step == "deploy":
            assert "activeDeadlineSeconds" not in executor
        else:
            hours = 10 if step == "train" else TIMEOUT_HOURS[step]
            assert int(executor["activeDeadlineSeconds"]) == hours * 3600, name
    for bad in ("tran=1", "train=-1", "train=soon", "train"):
        assert "--task-timeout" in usage_error([*compile_, "--task-timeout", bad])


def test_a_local_run_retries_nothing():
    from google.protobuf import json_format

    from pipelines.training import build_pipeline

    spec = json_format.MessageToDict(build_pipeline(limits=LOCAL_LIMITS).pipeline_spec)
    assert not any("retryPolicy" in task for task in all_tasks(spec).values())
    assert TaskLimits(retries=False).hours() == TIMEOUT_HOURS


def test_vertex_gets_the_pipeline_spec_without_the_kubernetes_one(package, tmp_path):
    from google.cloud.aiplatform.utils import yaml_utils

    with pytest.raises(yaml.YAMLError, match="single document"):
        yaml_utils.load_yaml(package)  # why Vertex cannot be sent the package as it is
    assert kubernetes_settings(package) == ["activeDeadlineSeconds"]
    alone = without_platform_spec(package, str(tmp_path / "vertex.yaml"))
    spec = yaml_utils.load_yaml(alone)
    assert spec == _docs(package)[0] and kubernetes_settings(alone) == []
