"""The compiled pipeline's structure: tasks, edges, images, resources, retries and caching.

Asserts on the IR that Kubeflow runs (not on a stored YAML snapshot), so a kfp upgrade that
reorders keys does not break it but a lost edge or an unpinned image does.
"""

import pytest
import yaml
from kfp import components

from components import IMAGE
from components.baselines.config import MODELS
from components.deploy.config import DeployConfig
from components.featurize.config import FeaturizeConfig
from components.rebalance.config import RebalanceConfig
from components.train.config import FAMILIES, TrainConfig
from pipelines.compile import compile_pipeline
from pipelines.task_limits import RETRIES
from pipelines.training import TRAIN_ORDER, PvcMount
from tests.helpers.pipeline_spec import all_tasks

STEPS = {"ingest", "rebalance", "featurize", "train", "baselines", "evaluate", "deploy"}


@pytest.fixture(scope="module")
def compiled(tmp_path_factory):
    path = str(tmp_path_factory.mktemp("compile") / "pipeline.yaml")
    compile_pipeline(path)
    with open(path) as handle:
        return path, next(yaml.safe_load_all(handle))  # then the Kubernetes platform spec


def producers(task: dict) -> set[str]:
    """Names of the tasks whose outputs ``task`` consumes (artifacts and parameters)."""
    inputs = task.get("inputs", {})
    names = set(task.get("dependentTasks", []))
    for kind in ("artifacts", "parameters"):
        for value in inputs.get(kind, {}).values():
            for key in ("taskOutputArtifact", "taskOutputParameter"):
                if key in value:
                    names.add(value[key]["producerTask"])
    return names


def test_every_step_is_a_task(compiled):
    _, spec = compiled
    assert STEPS <= set(all_tasks(spec))


def test_edges_follow_the_dag(compiled):
    _, spec = compiled
    tasks = all_tasks(spec)
    assert "ingest" in producers(tasks["rebalance"])
    assert "rebalance" in producers(tasks["featurize"])
    # train and baselines sit in ParallelFor loops fed by featurize's examples
    loops = [name for name in tasks if name.startswith("for-loop")]
    assert len(loops) == 3  # seed Keras, tuned Keras, baselines
    assert all("featurize" in producers(tasks[loop]) for loop in loops)
    assert set(loops) | {"ingest", "featurize"} <= producers(tasks["evaluate"])
    assert {"evaluate", "featurize"} | set(loops) <= producers(tasks["deploy"])


def test_the_loops_run_the_models_that_read_the_computed_feature_sets(compiled):
    _, spec = compiled
    parameters = spec["root"]["inputDefinitions"]["parameters"]
    assert parameters["feature_sets"]["defaultValue"] == list(FeaturizeConfig.feature_sets)
    assert "yamnet_embedding" not in parameters["feature_sets"]["defaultValue"]  # opt-in
    tasks = all_tasks(spec)
    given = {"componentInputParameter": "feature_sets"}
    readers = {"families-reading", "families-reading-2", "baselines-reading"}
    for name in ("featurize", *readers):
        assert tasks[name]["inputs"]["parameters"]["feature_sets"] == given, name
    candidates = {
        name: tasks[name]["inputs"]["parameters"][key]
        for name, key in (
            ("families-reading", "families"),
            ("families-reading-2", "families"),
            ("baselines-reading", "models"),
        )
    }
    # the candidates are the list parameters: every family and baseline by default, the
    # slowest families first
    assert candidates["families-reading"] == {"componentInputParameter": "families"}
    assert candidates["families-reading-2"] == {"componentInputParameter": "tuned_families"}
    assert candidates["baselines-reading"] == {"componentInputParameter": "baseline_models"}
    assert TRAIN_ORDER[:2] == ["resnet50_mfcc", "mn04_finetuned"]
    assert parameters["families"]["defaultValue"] == TRAIN_ORDER
    assert sorted(TRAIN_ORDER) == sorted(FAMILIES)
    assert parameters["baseline_models"]["defaultValue"] == list(MODELS)
    more = tasks["ingest"]["inputs"]["parameters"]["more_data_roots"]
    assert more["componentInputParameter"] == "more_data_roots"  # every data root reaches ingest
    for embedding in ("yamnet", "mn04"):
        estimators = ("logistic_regression", "random_forest", "svc")
        assert {f"{estimator}_{embedding}" for estimator in estimators} <= set(MODELS)
    loops = [task for name, task in tasks.items() if name.startswith("for-loop")]
    iterated = {loop["parameterIterator"]["items"]["inputParameter"] for loop in loops}
    assert iterated == {f"pipelinechannel--{reader}-Output" for reader in readers}
    # every family is tuned by default but the fine-tuned mn04 (each trial would fine-tune it)
    tuned_default = parameters["tuned_families"]["defaultValue"]
    assert set(tuned_default) == set(FAMILIES) - {"mn04_finetuned"}


def test_every_executor_runs_the_project_image_without_installing(compiled):
    _, spec = compiled
    executors = spec["deploymentSpec"]["executors"]
    assert {f"exec-{step}" for step in STEPS} <= set(executors)
    for name, executor in executors.items():
        container = executor["container"]
        assert container["image"] == IMAGE, name
        assert "pip install" not in " ".join(container.get("command", [])), name


def test_heavy_steps_have_resources_and_their_retries(compiled):
    _, spec = compiled
    executors = spec["deploymentSpec"]["executors"]
    for step in ("featurize", "train", "baselines", "evaluate"):
        resources = executors[f"exec-{step}"]["container"]["resources"]
        assert resources["cpuLimit"] > 0 and resources["memoryLimit"] > 0, step
    tasks = all_tasks(spec)
    for step in ("featurize", "train", "baselines", "evaluate"):  # test_task_limits.py: why
        retries = tasks[step].get("retryPolicy", {}).get("maxRetryCount", 0)
        assert retries == RETRIES[step], step
    for step in ("featurize", "train", "baselines"):
        assert tasks[step]["cachingOptions"].get("enableCache", False) is True, step
    # evaluate compares with the production model under model_base, which changes between runs
    # with the same inputs: a cached evaluation would bless against a model no longer served.
    assert tasks["evaluate"]["cachingOptions"].get("enableCache", False) is False


def test_parameters_cover_data_runner_budgets_and_thresholds(compiled):
    _, spec = compiled
    parameters = spec["root"]["inputDefinitions"]["parameters"]
    for name in (
        "data_root",
        "data_format",
        "runner",
        "beam_args",
        "target_per_class",
        "epochs",
        "max_trials",
        "search_iterations",
        "min_macro_f1",
        "min_worst_slice_f1",
        "model_base",
        "family_overrides",
        "more_data_roots",
        "families",
        "tuned_families",
        "baseline_models",
    ):
        assert name in parameters, name
    assert parameters["runner"]["defaultValue"] == "FnApiRunner"
    assert parameters["more_data_roots"]["defaultValue"] == []
    assert "previous_metrics" not in parameters  # replaced by evaluate reading model_base


def test_evaluate_and_deploy_see_the_same_model_base_and_deploy_records_the_run(compiled):
    _, spec = compiled
    tasks = all_tasks(spec)
    for step in ("evaluate", "deploy"):
        given = tasks[step]["inputs"]["parameters"]["model_base"]
        assert given["componentInputParameter"] == "model_base", step
    deploy = tasks["deploy"]["inputs"]["parameters"]
    assert deploy["pipeline_run_name"]["runtimeValue"]["constant"] == "{{$.pipeline_job_name}}"
    assert deploy["pipeline_run_id"]["runtimeValue"]["constant"] == "{{$.pipeline_job_uuid}}"


def test_compiled_package_loads_back(compiled):
    path, _ = compiled
    pipeline = components.load_component_from_file(path)
    assert pipeline.name == "household-sounds"


def test_pvc_is_mounted_into_every_task_through_kfp_kubernetes(compiled, tmp_path):
    """`compile --pvc NAME:PATH`: every executor mounts the claim; the DAG itself is unchanged."""
    path, plain = compiled
    store = PvcMount.parse("household-sounds-store:/mnt/household-sounds")
    with open(compile_pipeline(str(tmp_path / "kind.yaml"), [store])) as handle:
        spec, platform = yaml.safe_load_all(handle)
    assert spec == plain
    executors = platform["platforms"]["kubernetes"]["deploymentSpec"]["executors"]
    assert set(executors) == set(spec["deploymentSpec"]["executors"])
    for name, executor in executors.items():
        assert executor["pvcMount"] == [
            {
                "constant": "household-sounds-store",
                "mountPath": "/mnt/household-sounds",
                "pvcNameParameter": {"runtimeValue": {"constant": "household-sounds-store"}},
            }
        ], name
    with open(path) as handle:
        _, plain_platform = yaml.safe_load_all(handle)
    plain_executors = plain_platform["platforms"]["kubernetes"]["deploymentSpec"]["executors"]
    assert not any("pvcMount" in executor for executor in plain_executors.values())


@pytest.mark.parametrize("text", ["store", "store:relative/path", ":/mnt/x"])
def test_pvc_flag_needs_a_name_and_an_absolute_path(text):
    with pytest.raises(ValueError, match="NAME:/absolute/mount/path"):
        PvcMount.parse(text)


def test_wrapper_and_pipeline_defaults_are_the_step_configs(compiled):
    """Defaults are defined once, in components/<step>/config.py, and reach the compiled IR."""
    _, spec = compiled

    def default(component: str, name: str):
        return spec["components"][component]["inputDefinitions"]["parameters"][name]["defaultValue"]

    assert default("comp-train", "epochs") == TrainConfig.epochs
    assert default("comp-train", "tuner") == TrainConfig.tuner
    assert default("comp-rebalance", "target_per_class") == RebalanceConfig.target_per_class
    assert default("comp-featurize", "runner") == FeaturizeConfig.runner
    assert default("comp-deploy", "model_name") == DeployConfig.model_name
    root = spec["root"]["inputDefinitions"]["parameters"]
    assert root["epochs"]["defaultValue"] == TrainConfig.epochs
    assert root["target_per_class"]["defaultValue"] == RebalanceConfig.target_per_class


def test_ingest_is_cached_by_the_required_data_fingerprint(compiled):
    """Ingest is cacheable like the steps after it; the fingerprint, which has no default, is
    its cache key, so a run cannot be started without deciding it (``submit`` computes it)."""
    _, spec = compiled
    ingest = all_tasks(spec)["ingest"]
    assert ingest["cachingOptions"]["enableCache"] is True
    fingerprint = ingest["inputs"]["parameters"]["data_fingerprint"]
    assert fingerprint["componentInputParameter"] == "data_fingerprint"
    root = spec["root"]["inputDefinitions"]["parameters"]["data_fingerprint"]
    assert "defaultValue" not in root and not root.get("isOptional")
    for step in ("evaluate", "deploy"):
        assert not all_tasks(spec)[step]["cachingOptions"].get("enableCache"), step
