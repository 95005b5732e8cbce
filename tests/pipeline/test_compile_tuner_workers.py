"""``compile --tuner-workers N``: each tuned task becomes the chief of N worker tasks beside it.

Asserts on the compiled IR; the search itself runs in tests/component/train/test_distributed.py.
"""

import pytest
import yaml

from pipelines.compile import compile_pipeline
from pipelines.task_limits import RETRIES
from pipelines.training import ORACLE_PORT
from tests.helpers.pipeline_spec import all_tasks
from tests.helpers.usage import usage_error

RUN_ID = "{{$.pipeline_job_uuid}}"


def compiled(tmp_path, workers: int) -> dict:
    path = compile_pipeline(str(tmp_path / f"pipeline-{workers}.yaml"), tuner_workers=workers)
    with open(path) as handle:
        return next(yaml.safe_load_all(handle))  # then the Kubernetes platform spec


def constant(task: dict, name: str):
    return task["inputs"]["parameters"][name]["runtimeValue"]["constant"]


def loops(spec: dict) -> dict[str, dict]:
    return {name: task for name, task in all_tasks(spec).items() if "parameterIterator" in task}


def test_no_workers_compiles_todays_pipeline(tmp_path):
    spec = compiled(tmp_path, 0)
    assert len(loops(spec)) == 3  # seed Keras, tuned Keras, baselines
    tasks = all_tasks(spec)
    for name in ("train", "train-2"):
        assert "tuner_id" not in tasks[name]["inputs"]["parameters"], name  # searches alone
        assert tasks[name]["cachingOptions"]["enableCache"] is True


def test_workers_search_beside_each_tuned_chief(tmp_path):
    spec = compiled(tmp_path, 3)
    tasks = all_tasks(spec)
    seed, chief, worker = tasks["train"], tasks["train-2"], tasks["train-3"]
    assert "tuner_id" not in seed["inputs"]["parameters"]
    assert constant(chief, "tuner_id") == "chief"
    assert constant(chief, "oracle_address") == f"0.0.0.0:{ORACLE_PORT}"
    assert constant(worker, "pipeline_run_id") == constant(chief, "pipeline_run_id") == RUN_ID
    # The workers' loop sits in the tuned families' loop, beside the chief: three at once.
    chief_dag = dag_holding(spec, "train-2")
    (nested,) = [task for task in chief_dag.values() if "parameterIterator" in task]
    assert "train-3" in spec["components"][nested["componentRef"]["name"]]["dag"]["tasks"]
    assert yaml.safe_load(nested["parameterIterator"]["items"]["raw"]) == [
        "tuner0",
        "tuner1",
        "tuner2",
    ]
    assert nested["iteratorPolicy"]["parallelismLimit"] == 3
    item = worker["inputs"]["parameters"]["tuner_id"]["componentInputParameter"]
    assert item.startswith("pipelinechannel--loop-item")
    # The same search as the chief's: every other input the same (channels passed down from
    # the family's loop), the examples included; a worker finds the chief by the rendezvous.
    chief_inputs, worker_inputs = chief["inputs"], worker["inputs"]
    role = {"tuner_id", "oracle_address"}
    assert set(worker_inputs["parameters"]) == set(chief_inputs["parameters"]) - {"oracle_address"}
    for name in set(chief_inputs["parameters"]) - role:
        assert worker_inputs["parameters"][name] == chief_inputs["parameters"][name], name
    assert worker_inputs["artifacts"] == chief_inputs["artifacts"]
    assert set(worker_inputs["artifacts"]) == {"examples"}
    for task in (chief, worker):  # a cached chief would serve nothing to its workers
        assert task["cachingOptions"].get("enableCache", False) is False
        assert task["retryPolicy"]["maxRetryCount"] == RETRIES["train"]
    executors = spec["deploymentSpec"]["executors"]
    chief_resources, worker_resources = (
        executors[f"exec-{name}"]["container"]["resources"] for name in ("train-2", "train-3")
    )
    assert chief_resources == worker_resources


def dag_holding(spec: dict, task_name: str) -> dict[str, dict]:
    """The tasks of the DAG (a component's) in which ``task_name`` is one."""
    (dag,) = [
        component["dag"]["tasks"]
        for component in spec["components"].values()
        if task_name in component.get("dag", {}).get("tasks", {})
    ]
    return dag


@pytest.mark.parametrize("count", ["-1", "two"])
def test_a_worker_count_must_be_a_count(count, tmp_path):
    argv = ["compile", "--output", str(tmp_path / "p.yaml"), "--tuner-workers", count]
    with pytest.raises(SystemExit):
        usage_error(argv)


def test_vertex_cannot_run_a_distributed_search():
    argv = ["submit", "--vertex", "--project", "p", "--region", "europe-west4"]
    argv += ["--pipeline-root", "gs://b/root", "--tuner-workers", "2"]
    assert "not on Vertex AI" in usage_error(argv)
