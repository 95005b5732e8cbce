"""``compile --accelerator-type/--accelerator-count/--node-selector/--toleration``: the training
tasks (and only they) carry the accelerator request and the placement in the compiled IR."""

import pytest
import yaml

from cli import main as cli
from pipelines.accelerator import Accelerator, Toleration
from tests.helpers.pipeline_spec import all_tasks
from tests.helpers.usage import usage_error

GPU_FLAGS = [
    "--accelerator-type",
    "nvidia.com/gpu",
    "--accelerator-count",
    "2",
    "--node-selector",
    "cloud.google.com/gke-accelerator=nvidia-tesla-t4",
    "--toleration",
    "nvidia.com/gpu:NoSchedule",
    "--toleration",
    "dedicated=training:NoExecute",
]


def _compile(tmp_path, *flags: str) -> list[dict]:
    path = tmp_path / "pipeline.yaml"
    assert cli.main(["compile", "--output", str(path), *flags]) == 0
    with open(path) as handle:
        return [doc for doc in yaml.safe_load_all(handle) if doc]


def _train_executors(spec: dict) -> set[str]:
    """The executors of the Keras training tasks (seed and tuned loops)."""
    return {
        task["componentRef"]["name"].replace("comp-", "exec-", 1)
        for name, task in all_tasks(spec).items()
        if name.startswith("train")
    }


@pytest.mark.slow
def test_training_tasks_request_the_accelerator_and_its_nodes(tmp_path):
    spec, platform = _compile(tmp_path, *GPU_FLAGS)
    executors = spec["deploymentSpec"]["executors"]
    trains = _train_executors(spec)
    assert trains and trains <= set(executors)
    for name, executor in executors.items():
        resources = executor["container"].get("resources", {})
        if name in trains:
            assert resources["accelerator"]["resourceType"] == "nvidia.com/gpu", name
            assert resources["accelerator"]["resourceCount"] == "2", name
        else:
            assert "accelerator" not in resources, name
    placed = platform["platforms"]["kubernetes"]["deploymentSpec"]["executors"]
    pinned = {name for name, config in placed.items() if "nodeSelector" in config}
    assert pinned == trains  # no other task is pinned to GPU nodes
    assert not any("tolerations" in placed[name] for name in set(placed) - trains)
    for name in trains:
        assert placed[name]["nodeSelector"]["labels"] == {
            "cloud.google.com/gke-accelerator": "nvidia-tesla-t4"
        }
        assert placed[name]["tolerations"] == [
            {"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"},
            {"key": "dedicated", "operator": "Equal", "value": "training", "effect": "NoExecute"},
        ]


@pytest.mark.slow
def test_without_flags_no_task_requests_an_accelerator_or_placement(tmp_path):
    spec, platform = _compile(tmp_path)  # the platform spec holds the deadlines only
    assert _train_executors(spec)
    for name, executor in spec["deploymentSpec"]["executors"].items():
        assert "accelerator" not in executor["container"].get("resources", {}), name
    placed = platform["platforms"]["kubernetes"]["deploymentSpec"]["executors"]
    assert {key for config in placed.values() for key in config} == {"activeDeadlineSeconds"}


@pytest.mark.slow
def test_mixed_precision_and_checkpoint_root_are_pipeline_parameters(tmp_path):
    spec, _ = _compile(tmp_path)
    parameters = spec["root"]["inputDefinitions"]["parameters"]
    assert parameters["mixed_precision"]["defaultValue"] is False
    assert parameters["checkpoint_root"]["defaultValue"] == ""
    for name, task in all_tasks(spec).items():
        if name.startswith("train"):
            inputs = task["inputs"]["parameters"]
            for parameter in ("mixed_precision", "checkpoint_root"):  # through the loop's inputs
                source = inputs[parameter]["componentInputParameter"]
                assert source == f"pipelinechannel--{parameter}", (name, parameter)


@pytest.mark.parametrize(
    "text,parsed",
    [
        ("nvidia.com/gpu", Toleration("nvidia.com/gpu")),
        ("nvidia.com/gpu:NoSchedule", Toleration("nvidia.com/gpu", "", "NoSchedule")),
        ("pool=gpu:PreferNoSchedule", Toleration("pool", "gpu", "PreferNoSchedule")),
    ],
)
def test_toleration_syntax(text, parsed):
    assert Toleration.parse(text) == parsed


@pytest.mark.parametrize(
    "fields,message",
    [
        ({"toleration": ("gpu:Sometimes",)}, "KEY\\[=VALUE\\]"),
        ({"toleration": (":NoSchedule",)}, "KEY\\[=VALUE\\]"),
        ({"node_selector": ("pool",)}, "KEY=VALUE"),
        ({"accelerator_type": "nvidia.com/gpu", "accelerator_count": 0}, "at least 1"),
    ],
)
def test_bad_placement_is_refused_with_the_expected_syntax(fields, message):
    with pytest.raises(ValueError, match=message):
        Accelerator(**fields)


def test_submit_with_a_compiled_package_refuses_placement_flags(tmp_path):
    package = str(tmp_path / "built.yaml")
    argv = ["submit", "--host", "http://127.0.0.1:9", "--package", package]
    flags = (["--accelerator-type", "nvidia.com/gpu"], ["--toleration", "x:NoSchedule"])
    for flag in (*flags, ["--task-timeout", "train=1"]):
        message = usage_error([*argv, *flag])
        assert "accelerator, placement, tuner and --task-timeout flags need no --package" in message
