"""Every kustomize target renders with the pinned kubectl and validates against Kubernetes 1.31.

Schema validation is offline and strict (kubernetes-validate: unknown fields fail). On top of
the schema, the properties we rely on are asserted: pinned images, probes, non-root read-only
containers, resources, ports, the NodePorts kind publishes and what each overlay changes.
"""

import kubernetes_validate
import pytest
import yaml

from components import IMAGE, __version__
from pipelines.submit import PIPELINE_SERVICE_ACCOUNT
from serving.limits import MAX_MESSAGE_BYTES
from tests.helpers.kustomize import one, render, serving_container
from tests.helpers.paths import ROOT

pytestmark = pytest.mark.xdist_group("infra")

K8S_VERSION = "1.31.0"  # the kind node image in k8s/kind/cluster.yaml is v1.31.x
TARGETS = [
    "k8s/base",
    "k8s/overlays/kind",
    "k8s/overlays/cluster",
    "k8s/kfp",
    "k8s/pipeline-rbac",
    "k8s/tuner",
]
MODEL_NAME = "household_sounds"


@pytest.mark.parametrize("target", TARGETS)
def test_renders_and_validates_strictly(target: str) -> None:
    docs = render(target)
    assert docs
    for doc in docs:
        try:
            kubernetes_validate.validate(doc, K8S_VERSION, strict=True)
        except kubernetes_validate.SchemaNotFoundError:
            # A CRD instance has no built-in schema; we ship none, so this must not happen.
            pytest.fail(f"{target}: no schema for {doc['apiVersion']} {doc['kind']}")
        except kubernetes_validate.ValidationError as error:
            name = f"{doc['kind']}/{doc['metadata']['name']}"
            pytest.fail(f"{target}: {name}: {error.message} at {list(error.path)}")


def test_validation_catches_an_unknown_field() -> None:
    """Guards the test above: strict mode really rejects what a typo would produce."""
    deployment = yaml.safe_load(yaml.safe_dump(one(render("k8s/base"), "Deployment", "tf-serving")))
    deployment["spec"]["template"]["spec"]["containers"][0]["readinessProbe"]["httpGett"] = {}
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(deployment, K8S_VERSION, strict=True)


@pytest.mark.parametrize("target", TARGETS[:3])
def test_serving_deployment_properties(target: str) -> None:
    docs = render(target)
    deployment = one(docs, "Deployment", "tf-serving")
    pod = deployment["spec"]["template"]["spec"]
    container = serving_container(docs)

    image, _, tag = container["image"].rpartition(":")
    assert image == "tensorflow/serving"
    assert tag == "2.20.0", "pinned exact version, never latest"

    args = container["args"]
    assert "--port=8500" in args and "--rest_api_port=8501" in args
    assert "--enable_batching=true" in args
    for flag in ("batching_parameters_file", "monitoring_config_file"):
        (value,) = [a.split("=", 1)[1] for a in args if a.startswith(f"--{flag}=")]
        assert value.startswith("/etc/tf-serving/")
    # The rollout config lives in the model store (promote/rollback rewrite it), re-read every
    # minute; labels at start-up need the flag (TF Serving refuses them otherwise).
    assert "--model_config_file=$(MODEL_CONFIG_FILE)" in args
    env = {e["name"]: e["value"] for e in container["env"]}
    assert env["MODEL_CONFIG_FILE"].endswith("/models.config")
    assert "--model_config_file_poll_wait_seconds=60" in args
    assert "--allow_version_labels_for_unavailable_models=true" in args
    ports = {p["name"]: p["containerPort"] for p in container["ports"]}
    assert ports == {"grpc": 8500, "http": 8501}

    http = container["startupProbe"]["httpGet"]
    assert http == {"path": f"/v1/models/{MODEL_NAME}", "port": "http"}
    ready = container["readinessProbe"]["exec"]["command"][-1]  # run in tests/serving/dev_server
    assert f"/v1/models/{MODEL_NAME}" in ready and '"AVAILABLE"' in ready
    (channel_arguments,) = [a for a in args if a.startswith("--grpc_channel_arguments=")]
    assert channel_arguments.endswith(f"grpc.max_receive_message_length={MAX_MESSAGE_BYTES}")
    assert {"--grpc_max_threads=16", "--rest_api_num_threads=8"} <= set(args)
    assert container["livenessProbe"]["tcpSocket"]["port"] == "grpc"

    resources = container["resources"]
    assert set(resources) == {"requests", "limits"}
    assert {"cpu", "memory"} <= set(resources["requests"]) <= set(resources["limits"])

    pod_security = pod["securityContext"]
    assert pod_security["runAsNonRoot"] is True and pod_security["runAsUser"] > 0
    assert pod_security["seccompProfile"]["type"] == "RuntimeDefault"
    security = container["securityContext"]
    assert security["readOnlyRootFilesystem"] is True
    assert security["allowPrivilegeEscalation"] is False
    assert security["capabilities"]["drop"] == ["ALL"]
    mounts = {m["name"]: m["mountPath"] for m in container["volumeMounts"]}
    assert mounts["tmp"] == "/tmp" and mounts["config"] == "/etc/tf-serving"
    volumes = {v["name"]: v for v in pod["volumes"]}
    assert "emptyDir" in volumes["tmp"]

    # The ConfigMap reference follows kustomize's content-hashed generator name.
    config_map = one(docs, "ConfigMap")
    assert volumes["config"]["configMap"]["name"] == config_map["metadata"]["name"]
    assert set(config_map["data"]) == {"batching.config", "monitoring.config"}

    service = one(docs, "Service", "tf-serving")
    assert {p["name"]: p["port"] for p in service["spec"]["ports"]} == ports
    selector = deployment["spec"]["selector"]["matchLabels"]
    assert service["spec"]["selector"] == selector
    assert selector.items() <= deployment["spec"]["template"]["metadata"]["labels"].items()


@pytest.mark.parametrize("target", TARGETS[:3])
def test_web_app_runs_beside_serving(target: str) -> None:
    docs = render(target)
    deployment = one(docs, "Deployment", "household-sounds-app")
    pod = deployment["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    # Base and kind run the project image of this version (kind loads it into its node); the
    # cluster overlay names the registry it is pushed to (images: in its kustomization).
    pushed = f"europe-docker.pkg.dev/PROJECT_ID/household-sounds/household-sounds:{__version__}"
    expected = pushed if target == "k8s/overlays/cluster" else IMAGE
    assert container["image"] == expected
    assert container["command"] == ["household-sounds"] and container["args"][0] == "app"
    assert "--target=tf-serving:8500" in container["args"]
    assert "--label=stable" in container["args"]
    assert "--host=0.0.0.0" in container["args"] and "--port=8080" in container["args"]
    assert {p["name"]: p["containerPort"] for p in container["ports"]} == {"http": 8080}
    for probe in ("readinessProbe", "livenessProbe"):
        assert container[probe]["httpGet"] == {"path": "/healthz", "port": "http"}
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    assert container["securityContext"]["capabilities"]["drop"] == ["ALL"]
    assert set(container["resources"]) == {"requests", "limits"}

    service = one(docs, "Service", "household-sounds-app")
    assert service["spec"]["ports"][0]["targetPort"] == "http"
    selector = deployment["spec"]["selector"]["matchLabels"]
    assert service["spec"]["selector"].items() <= selector.items()
    assert selector.items() <= deployment["spec"]["template"]["metadata"]["labels"].items()
    # Neither Service selects the other's pods.
    serving = one(docs, "Deployment", "tf-serving")["spec"]["template"]["metadata"]["labels"]
    assert not service["spec"]["selector"].items() <= serving.items()
    tf_serving = one(docs, "Service", "tf-serving")["spec"]["selector"]
    assert not tf_serving.items() <= deployment["spec"]["template"]["metadata"]["labels"].items()


@pytest.mark.parametrize("target", TARGETS[:3])
def test_web_app_canary_track_differs_only_in_its_label(target: str) -> None:
    """The canary track is the stable one asking for ``canary``; the Service selects both."""
    docs = render(target)
    stable = one(docs, "Deployment", "household-sounds-app")
    canary = one(docs, "Deployment", "household-sounds-app-canary")
    service = one(docs, "Service", "household-sounds-app")["spec"]["selector"]
    for track, deployment in (("stable", stable), ("canary", canary)):
        pod_labels = deployment["spec"]["template"]["metadata"]["labels"]
        assert pod_labels["household-sounds/track"] == track
        assert deployment["spec"]["selector"]["matchLabels"]["household-sounds/track"] == track
        assert service.items() <= pod_labels.items()
    assert canary["spec"]["replicas"] == 1 <= stable["spec"]["replicas"]
    (container,) = canary["spec"]["template"]["spec"]["containers"]
    assert "--label=canary" in container["args"]

    def without_track(deployment: dict) -> dict:
        text = yaml.safe_dump(deployment).replace("canary", "stable")
        copy = yaml.safe_load(text.replace("household-sounds-app-stable", "household-sounds-app"))
        copy["spec"].pop("replicas")
        return copy

    assert without_track(canary) == without_track(stable)


@pytest.mark.parametrize("target", TARGETS[:3])
def test_network_policy_admits_only_clients_and_the_scraper(target: str) -> None:
    docs = render(target)
    policy = one(docs, "NetworkPolicy", "tf-serving-ingress")
    pod_labels = one(docs, "Deployment", "tf-serving")["spec"]["template"]["metadata"]["labels"]
    assert policy["spec"]["podSelector"]["matchLabels"].items() <= pod_labels.items()
    assert policy["spec"]["policyTypes"] == ["Ingress"]
    rules = policy["spec"]["ingress"]
    admitted = {}
    for rule in rules:
        (source,) = rule["from"]
        assert source["namespaceSelector"] == {} and "matchLabels" not in source["podSelector"]
        (expression,) = source["podSelector"]["matchExpressions"]
        admitted[expression["key"], *expression["values"]] = {p["port"] for p in rule["ports"]}
    assert admitted == {
        ("household-sounds/tf-serving-client", "true"): {"grpc", "http"},
        ("app.kubernetes.io/name", "prometheus"): {"http"},
    }
    app = one(docs, "Deployment", "household-sounds-app")["spec"]["template"]["metadata"]
    assert app["labels"]["household-sounds/tf-serving-client"] == "true", "the app may call it"
    extra = [d for d in docs if d["kind"] == "NetworkPolicy" and d is not policy]
    assert [d["metadata"]["name"] for d in extra] == (
        ["tf-serving-ingress-from-kind-host"] if target.endswith("kind") else []
    )


def test_base_reads_models_from_a_pvc() -> None:
    docs = render("k8s/base")
    container = serving_container(docs)
    assert {"name": "models", "mountPath": "/models", "readOnly": True} in container["volumeMounts"]
    pvc = one(docs, "PersistentVolumeClaim", "model-store")
    pod = one(docs, "Deployment", "tf-serving")["spec"]["template"]["spec"]
    (models,) = [v for v in pod["volumes"] if v["name"] == "models"]
    assert models["persistentVolumeClaim"]["claimName"] == pvc["metadata"]["name"]
    env = {e["name"]: e["value"] for e in container["env"]}
    assert env["MODEL_CONFIG_FILE"] == "/models/models.config", "in the store, beside the models"


def test_kind_overlay() -> None:
    docs = render("k8s/overlays/kind")
    assert {d["metadata"].get("namespace") for d in docs if d["kind"] != "PersistentVolume"} <= {
        "household-sounds",
        None,
    }
    assert one(docs, "Deployment", "tf-serving")["spec"]["replicas"] == 1
    service = one(docs, "Service", "tf-serving")
    assert service["spec"]["type"] == "NodePort"
    node_ports = {p["name"]: p["nodePort"] for p in service["spec"]["ports"]}
    assert node_ports == {"grpc": 30500, "http": 30501}

    # The PVC binds to the hostPath volume on the node folder that kind mounts from the host.
    pv = one(docs, "PersistentVolume")
    pvc = one(docs, "PersistentVolumeClaim")
    assert pvc["spec"]["volumeName"] == pv["metadata"]["name"]
    assert pvc["spec"]["storageClassName"] == pv["spec"]["storageClassName"] == ""
    assert pv["spec"]["claimRef"] == {"namespace": "household-sounds", "name": "model-store"}
    # Directory, not DirectoryOrCreate: never a root-owned folder the kubelet made up.
    assert pv["spec"]["hostPath"] == {"path": "/mnt/household-sounds/models", "type": "Directory"}

    cluster = yaml.safe_load((ROOT / "k8s/kind/cluster.yaml").read_text())
    (node,) = cluster["nodes"]
    published = {m["containerPort"]: m["hostPort"] for m in node["extraPortMappings"]}
    assert published == {30500: 8500, 30501: 8501, 30300: 8080}
    assert all(m["listenAddress"] == "127.0.0.1" for m in node["extraPortMappings"])
    assert node["extraMounts"] == [
        {"hostPath": "build/kind-store", "containerPath": "/mnt/household-sounds"}
    ]
    assert node["image"].startswith("kindest/node:v1.31.")


def test_cluster_overlay() -> None:
    docs = render("k8s/overlays/cluster")
    deployment = one(docs, "Deployment", "tf-serving")
    pod = deployment["spec"]["template"]["spec"]
    assert deployment["spec"]["replicas"] >= 2
    assert not [d for d in docs if d["kind"] in ("PersistentVolumeClaim", "PersistentVolume")]
    assert "models" not in {v["name"] for v in pod["volumes"]}
    assert "models" not in {m["name"] for m in serving_container(docs)["volumeMounts"]}

    env = {e["name"]: e["value"] for e in serving_container(docs)["env"]}
    assert env["MODEL_CONFIG_FILE"] == "gs://household-sounds-models/models.config"
    assert one(docs, "Deployment", "household-sounds-app")["spec"]["replicas"] == 3

    account = one(docs, "ServiceAccount")
    assert pod["serviceAccountName"] == account["metadata"]["name"]
    assert account["metadata"]["annotations"]["iam.gke.io/gcp-service-account"].endswith(
        ".iam.gserviceaccount.com"
    )
    hpa = one(docs, "HorizontalPodAutoscaler")
    assert hpa["spec"]["scaleTargetRef"]["name"] == deployment["metadata"]["name"]
    assert hpa["spec"]["minReplicas"] >= 2
    pdb = one(docs, "PodDisruptionBudget")
    assert pdb["spec"]["selector"]["matchLabels"].items() <= (
        deployment["spec"]["template"]["metadata"]["labels"].items()
    )


@pytest.mark.parametrize("target", TARGETS)
def test_no_credentials_in_manifests(target: str) -> None:
    docs = render(target)
    assert not [d for d in docs if d["kind"] == "Secret"]
    text = yaml.safe_dump_all(docs).lower()
    for marker in ("private_key", "client_secret", "password", "-----begin"):
        assert marker not in text


def test_kfp_pipeline_store() -> None:
    docs = render("k8s/kfp")
    pv = one(docs, "PersistentVolume")
    pvc = one(docs, "PersistentVolumeClaim")
    assert pvc["metadata"] == {"name": "household-sounds-store", "namespace": "kubeflow"}
    assert pv["spec"]["claimRef"] == {"namespace": "kubeflow", "name": "household-sounds-store"}
    assert pv["spec"]["hostPath"] == {"path": "/mnt/household-sounds", "type": "Directory"}
    # kind-run.sh mounts exactly this claim at exactly this path into every task.
    script = (ROOT / "scripts/kind-run.sh").read_text()
    assert '--pvc "household-sounds-store:$NODE_STORE"' in script
    assert "NODE_STORE=/mnt/household-sounds" in (ROOT / "scripts/kind-lib.sh").read_text()


# What a KFP v2 task pod calls the Kubernetes API for (k8s/pipeline-rbac/service-account.yaml).
PIPELINE_RULES = [
    {
        "apiGroups": [""],
        "resources": ["configmaps"],
        "resourceNames": ["kfp-launcher"],
        "verbs": ["get", "list", "watch"],
    },
    {
        "apiGroups": [""],
        "resources": ["secrets"],
        "resourceNames": ["mlpipeline-minio-artifact"],
        "verbs": ["get"],
    },
    {"apiGroups": [""], "resources": ["pods"], "verbs": ["get", "list", "watch"]},
    {
        "apiGroups": ["argoproj.io"],
        "resources": ["workflowtaskresults"],
        "verbs": ["create", "patch"],
    },
]


@pytest.mark.parametrize("target", ["k8s/pipeline-rbac", "k8s/kfp"])
def test_pipeline_pods_get_a_least_privilege_service_account(target: str) -> None:
    docs = render(target)
    account = one(docs, "ServiceAccount")
    assert account["metadata"]["name"] == PIPELINE_SERVICE_ACCOUNT, "submit's default"
    assert account["metadata"]["namespace"] == "kubeflow", "where standalone KFP runs pipelines"
    assert not [d for d in docs if d["kind"] in ("ClusterRole", "ClusterRoleBinding")]
    role = one(docs, "Role")
    assert role["rules"] == PIPELINE_RULES
    for rule in role["rules"]:
        assert "*" not in rule["verbs"] + rule["resources"] + rule["apiGroups"]
        if "secrets" in rule["resources"]:
            assert rule["resourceNames"] and rule["verbs"] == ["get"], "one named secret, read"
    binding = one(docs, "RoleBinding")
    assert binding["roleRef"] == {
        "apiGroup": "rbac.authorization.k8s.io",
        "kind": "Role",
        "name": role["metadata"]["name"],
    }
    assert binding["subjects"] == [
        {"kind": "ServiceAccount", "name": PIPELINE_SERVICE_ACCOUNT, "namespace": "kubeflow"}
    ]
    assert role["metadata"]["namespace"] == binding["metadata"]["namespace"] == "kubeflow"
