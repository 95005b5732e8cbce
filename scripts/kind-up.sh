#!/usr/bin/env bash
# `make kind-up`: a local Kubeflow Pipelines on kind, ready for `make kind-run`.
#  1. creates the kind cluster from k8s/kind/cluster.yaml (host build/kind-store → node
#     /mnt/household-sounds; localhost 8080 → KFP UI, 8500/8501 → TF Serving),
#  2. installs Kubeflow Pipelines standalone $KFP_VERSION from its upstream kustomize manifests
#     and waits until every deployment is available (first time: ~5–10 min of image pulls),
#  3. exposes the KFP UI/API on the NodePort that the cluster config maps to localhost:8080,
#  4. adds the demo's pipeline store PVC (k8s/kfp),
#  5. builds the project image and loads it into the node (no registry needed).
# Idempotent: re-running skips what exists. Needs docker (or podman), kind, kubectl.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/kind-lib.sh
source scripts/kind-lib.sh

need kind "Install kind: https://kind.sigs.k8s.io/docs/user/quick-start/#installation"
need "$KUBECTL" "Run 'make install' (pinned kubectl in .venv) or install kubectl"
if command -v docker >/dev/null && docker info >/dev/null 2>&1; then
  engine=docker
elif command -v podman >/dev/null; then
  engine=podman
  export KIND_EXPERIMENTAL_PROVIDER=podman
else
  die "kind needs a running Docker engine or podman"
fi
image=$(scripts/image-tag.sh)

step "model/data store $STORE"
mkdir -p "$STORE/data" "$STORE/models"
# Owner-writable only (an older kind-up made these 0777); the pods' uid gets an ACL instead.
chmod 0755 "$STORE" "$STORE/data" "$STORE/models"
grant_pod_access "$STORE"

step "kind cluster '$CLUSTER'"
if kind get clusters 2>/dev/null | grep -qx "$CLUSTER"; then
  echo "exists"
else
  # kind wants an absolute hostPath for extraMounts: render the config with this checkout's path.
  mkdir -p build
  sed "s#hostPath: build/kind-store#hostPath: $(cd "$STORE" && pwd)#" k8s/kind/cluster.yaml \
    > build/kind-cluster.yaml
  kind create cluster --name "$CLUSTER" --config build/kind-cluster.yaml --wait 180s
fi
"$KUBECTL" config use-context "kind-$CLUSTER"

step "Kubeflow Pipelines $KFP_VERSION (standalone, platform-agnostic)"
manifests="github.com/kubeflow/pipelines/manifests/kustomize"
"$KUBECTL" apply -k "$manifests/cluster-scoped-resources?ref=$KFP_VERSION"
"$KUBECTL" wait --for condition=established --timeout=120s crd/applications.app.k8s.io
"$KUBECTL" apply -k "$manifests/env/platform-agnostic?ref=$KFP_VERSION"
echo "waiting for KFP deployments (image pulls take a while on the first run)"
"$KUBECTL" -n kubeflow wait --for=condition=Available deployment --all --timeout=20m

step "KFP UI on localhost:8080 (NodePort 30300)"
"$KUBECTL" -n kubeflow patch service ml-pipeline-ui --type merge -p \
  '{"spec":{"type":"NodePort","ports":[{"name":"http","port":80,"protocol":"TCP","targetPort":3000,"nodePort":30300}]}}'

step "pipeline store PVC (k8s/kfp)"
"$KUBECTL" apply -k k8s/kfp

step "project image $image"
scripts/image-build.sh
if [[ $engine == docker ]]; then
  kind load docker-image "$image" --name "$CLUSTER"
else
  archive=$(mktemp --suffix=.tar)
  trap 'rm -f "$archive"' EXIT
  podman save -o "$archive" "$image"
  kind load image-archive "$archive" --name "$CLUSTER"
fi

step "ready"
echo "KFP UI:  http://localhost:8080   next: make kind-run"
