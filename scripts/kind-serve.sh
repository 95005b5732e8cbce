#!/usr/bin/env bash
# `make kind-serve`: serves the model with TF Serving on the kind cluster (k8s/overlays/kind).
# The model store is $STORE/models (node: /mnt/household-sounds/models). A kind pipeline run's
# deploy step writes there itself; otherwise the newest version from a local run is copied in
# (MODEL_SOURCE, default runs/demo/serving/household_sounds from `make demo`). The first time,
# that version is promoted to stable: the rollout config TF Serving reads is written into the
# store (base_path as TF Serving sees it, /models/...). Later versions: `household-sounds promote`.
# Then: gRPC on localhost:8500, REST on localhost:8501.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/kind-lib.sh
source scripts/kind-lib.sh

need_cluster
need curl "Install curl (used to check the REST API)"
source_dir=${MODEL_SOURCE:-runs/demo/serving/$MODEL_NAME}
target=$STORE/models/$MODEL_NAME

# TF Serving loads integer-named version folders; take the newest one.
newest() { find "$1" -mindepth 1 -maxdepth 1 -type d -regex '.*/[0-9]+' -printf '%f\n' 2>/dev/null | sort -n | tail -1; }

version=$(newest "$source_dir" || true)
if [[ -n $version ]]; then
  step "model $source_dir/$version → $target/$version"
  mkdir -p "$target"
  if [[ ! -d $target/$version ]]; then
    # Copy beside, then rename: TF Serving must never see a half-copied version.
    rm -rf "$target/.tmp-$version"
    cp -a "$source_dir/$version" "$target/.tmp-$version"
    chmod -R a+rX "$target/.tmp-$version"
    mv "$target/.tmp-$version" "$target/$version"
  fi
elif [[ -z $(newest "$target" || true) ]]; then
  die "no model version in $source_dir or $target: run 'make demo' or 'make kind-run' first"
fi

if [[ ! -f $STORE/models/models.config ]]; then
  step "rollout config: version $(newest "$target") is stable"
  .venv/bin/household-sounds promote "$(newest "$target")" --label stable \
    --model-base "$STORE/models" --served-base-path "/models/$MODEL_NAME" >/dev/null
  chmod a+r "$STORE/models/models.config"
fi

step "TF Serving (k8s/overlays/kind)"
"$KUBECTL" apply -k k8s/overlays/kind
"$KUBECTL" -n "$SERVING_NAMESPACE" rollout status deployment/tf-serving --timeout=10m

step "model status"
curl -fsS "http://localhost:8501/v1/models/$MODEL_NAME"
echo
echo "gRPC: household-sounds predict FILE.wav --target localhost:8500 --label stable"
echo "REST: household-sounds predict FILE.wav --rest --target localhost:8501 --label stable"
