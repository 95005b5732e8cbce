#!/usr/bin/env bash
# Pushes the image `make image` built to REGISTRY (a registry and repository your cluster pulls
# from, e.g. europe-docker.pkg.dev/PROJECT/ml or ghcr.io/ME) under its version and its commit's
# short tag, and prints the --image to compile and submit with. `make image-push REGISTRY=...`
# runs this; log in to the registry first (docker/podman login, gcloud auth configure-docker).
set -euo pipefail
cd "$(dirname "$0")/.."
registry=${REGISTRY:?"set REGISTRY, e.g. make image-push REGISTRY=europe-docker.pkg.dev/PROJECT/ml"}
image=$(scripts/image-tag.sh)
engine=$(scripts/image-engine.sh)
target="${registry%/}/${image##*/}"
sources=("$image")
if short=$(git rev-parse --short HEAD 2>/dev/null); then
  sources+=("${image%:*}:$short")
fi
for source in "${sources[@]}"; do
  pushed="${registry%/}/${source##*/}"
  "$engine" tag "$source" "$pushed"
  "$engine" push "$pushed"
done
echo "pushed $target; run on a cluster with: household-sounds submit --image $target ..."
