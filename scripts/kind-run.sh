#!/usr/bin/env bash
# `make kind-run`: submits the demo pipeline to the kind cluster's Kubeflow Pipelines.
# Generates the demo dataset into the store (node: /mnt/household-sounds/data/demo) if absent,
# compiles the pipeline with the store PVC mounted into every task (`compile --pvc`, through
# kfp.kubernetes) and submits it with the demo preset; deploy writes the blessed model to
# /mnt/household-sounds/models, which `make kind-serve` serves. Then follow the run in the UI.
# Env: KFP_HOST (default http://localhost:8080 from kind-up's NodePort; if it does not answer,
# a port-forward to svc/ml-pipeline-ui is opened), EXPERIMENT, RUN_NAME.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/kind-lib.sh
source scripts/kind-lib.sh

need_venv
need_cluster
need curl "Install curl (used to check the KFP API)"
host=${KFP_HOST:-http://localhost:8080}
experiment=${EXPERIMENT:-household-sounds-demo}

if ! curl -fsS --max-time 5 "$host/apis/v2beta1/healthz" >/dev/null 2>&1; then
  step "KFP API not reachable at $host: port-forwarding svc/ml-pipeline-ui to localhost:18080"
  "$KUBECTL" -n kubeflow port-forward svc/ml-pipeline-ui 18080:80 >/dev/null &
  forward=$!
  trap 'kill "$forward" 2>/dev/null || true' EXIT
  host=http://localhost:18080
  for _ in $(seq 30); do
    curl -fsS --max-time 2 "$host/apis/v2beta1/healthz" >/dev/null 2>&1 && break
    sleep 1
  done
  curl -fsS --max-time 5 "$host/apis/v2beta1/healthz" >/dev/null || die "KFP API not reachable"
fi

if [[ ! -d $STORE/data/demo/FSD50K.metadata ]]; then
  step "demo dataset → $STORE/data/demo"
  .venv/bin/household-sounds demo-data --output "$STORE/data/demo" >/dev/null
  grant_pod_access "$STORE/data"
fi

step "compile → build/pipeline-kind.yaml (store PVC mounted in every task)"
.venv/bin/household-sounds compile --output build/pipeline-kind.yaml \
  --pvc "household-sounds-store:$NODE_STORE"

step "submit to $host (experiment $experiment)"
# The release image is not published, but make kind-up loaded it into the node.
.venv/bin/household-sounds submit --host "$host" --package build/pipeline-kind.yaml \
  --allow-unpublished-image --experiment "$experiment" ${RUN_NAME:+--run-name "$RUN_NAME"} --preset demo \
  --fingerprint-from "$STORE/data/demo" \
  --param "data_root=$NODE_STORE/data/demo" --param "model_base=$NODE_STORE/models"
echo "follow it at http://localhost:8080/#/runs ; when it has finished: make kind-serve"
