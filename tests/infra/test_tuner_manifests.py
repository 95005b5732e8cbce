"""k8s/tuner: a distributed search's chief (headless Service + Job) and indexed worker Job.

Rendered and schema-validated with the other targets (tests/infra/test_manifests.py); here the
properties the search relies on, and every pod's arguments parsed by the real command line into
the role ``household-sounds train`` would run.
"""

import pytest

from cli.flags import config_from_args
from cli.main import build_parser
from components.train.config import CHIEF, TrainConfig
from tests.helpers.kustomize import one, render

pytestmark = pytest.mark.xdist_group("infra")

INDEX_ANNOTATION = "metadata.annotations['batch.kubernetes.io/job-completion-index']"


def container(job: dict) -> dict:
    (only,) = job["spec"]["template"]["spec"]["containers"]
    return only


def train_config(pod: dict, index: int = 0) -> tuple[TrainConfig, dict]:
    """What ``household-sounds train`` makes of a container's arguments: config and paths."""
    assert pod["command"] == ["household-sounds", "train"]
    args = [arg.replace("$(WORKER_INDEX)", str(index)) for arg in pod["args"]]
    parsed = build_parser().parse_args(["train", *args])
    config = config_from_args(parsed, TrainConfig, presets=parsed.command.presets)
    return config, {"examples": parsed.examples, "output": parsed.output}


def test_workers_find_the_chief_through_a_headless_service():
    docs = render("k8s/tuner")
    service = one(docs, "Service", "tuner-chief")
    chief, workers = one(docs, "Job", "tuner-chief"), one(docs, "Job", "tuner-workers")
    assert service["spec"]["clusterIP"] == "None"  # its name resolves to the chief pod's IP
    assert service["spec"]["publishNotReadyAddresses"] is True
    selector = service["spec"]["selector"]
    assert selector.items() <= chief["spec"]["template"]["metadata"]["labels"].items()
    assert not selector.items() <= workers["spec"]["template"]["metadata"]["labels"].items()
    (port,) = service["spec"]["ports"]
    assert {p["name"]: p["containerPort"] for p in container(chief)["ports"]} == {
        port["targetPort"]: port["port"]
    }

    chief_config, chief_paths = train_config(container(chief))
    assert chief_config.role.tuner_id == CHIEF and chief_config.tuned
    assert chief_config.oracle_address == f"0.0.0.0:{port['port']}"  # every interface
    chief_config.role.check()
    spec = workers["spec"]
    assert spec["completionMode"] == "Indexed"
    assert spec["completions"] == spec["parallelism"] >= 2  # all at once: one shared budget
    env = {e["name"]: e["valueFrom"]["fieldRef"]["fieldPath"] for e in container(workers)["env"]}
    assert env == {"WORKER_INDEX": INDEX_ANNOTATION}
    ids, outputs = set(), set()
    for index in range(spec["completions"]):
        worker_config, worker_paths = train_config(container(workers), index)
        worker_config.role.check()
        assert worker_config.role.is_worker and worker_config.tuned
        assert worker_config.oracle_address == f"{service['metadata']['name']}:{port['port']}"
        assert worker_paths["examples"] == chief_paths["examples"]  # one search, one data set
        for same in ("family", "tuner", "epochs", "max_trials", "seed", "tuner_timeout_s"):
            assert getattr(worker_config, same) == getattr(chief_config, same), same
        ids.add(worker_config.tuner_id)
        outputs.add(worker_paths["output"])
    assert len(ids) == len(outputs - {chief_paths["output"]}) == spec["completions"]


def test_pods_restart_in_place_and_run_locked_down():
    docs = render("k8s/tuner")
    for name in ("tuner-chief", "tuner-workers"):
        job = one(docs, "Job", name)
        pod = job["spec"]["template"]["spec"]
        # a restarted container keeps its pod (IP, index, emptyDir) and so its tuner id
        assert pod["restartPolicy"] == "OnFailure"
        assert job["spec"]["activeDeadlineSeconds"] > 0  # nothing waits forever
        assert pod["serviceAccountName"] == one(docs, "ServiceAccount")["metadata"]["name"]
        assert pod["securityContext"]["runAsNonRoot"] is True
        security = container(job)["securityContext"]
        assert security["readOnlyRootFilesystem"] is True
        assert security["capabilities"]["drop"] == ["ALL"]
        resources = container(job)["resources"]
        assert resources["requests"] == resources["limits"]
        mounts = {m["name"]: m["mountPath"] for m in container(job)["volumeMounts"]}
        assert mounts == {"tmp": "/tmp"}
