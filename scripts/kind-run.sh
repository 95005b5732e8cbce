#!/usr/bin/env bash
# `make kind-run`: submits the demo pipeline to the kind cluster's Kubeflow Pipelines.
# Generates the demo dataset into the store (node: /mnt/household-sounds/data/demo) if absent,
# compiles the pipeline, mounts the store PVC into every task (pipelines.submit.mount_pvc) and
# submits with the demo presets; deploy writes the blessed model to
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
  chmod -R a+rwX "$STORE/data"
fi

step "compile → build/pipeline.yaml"
.venv/bin/household-sounds compile --output build/pipeline.yaml

step "submit to $host (experiment $experiment)"
# Python rather than `household-sounds submit`: the demo adds the kind-only PVC mount and the
# demo presets; both go through the same pipelines.submit functions.
KFP_HOST_URL=$host EXPERIMENT=$experiment NODE_STORE=$NODE_STORE \
  .venv/bin/python - <<'PY'
import os

from pipelines.submit import mount_pvc, submit
from pipelines.training import DEMO_ARGUMENTS

store = os.environ["NODE_STORE"]
package = mount_pvc("build/pipeline.yaml", "build/pipeline-kind.yaml",
                    "household-sounds-store", store)
run_id = submit(
    package,
    os.environ["KFP_HOST_URL"],
    namespace=None,
    experiment=os.environ["EXPERIMENT"],
    run_name=os.environ.get("RUN_NAME") or None,
    params={**DEMO_ARGUMENTS, "data_root": f"{store}/data/demo", "model_base": f"{store}/models"},
)
print(f"run id: {run_id}")
PY
echo "follow it at http://localhost:8080/#/runs ; when it has finished: make kind-serve"
