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
# A smoke build (scripts/image-smoke.sh) carries a stand-in for Beam's harness launcher: only an
# image built from the official SDK image, the Dockerfile's BEAM_SDK_IMAGE default, is pushed.
dockerfile=docker/pipeline.Dockerfile
beam_version=$(sed -n 's/^ARG BEAM_VERSION=//p' "$dockerfile")
official=$(sed -n 's/^ARG BEAM_SDK_IMAGE=//p' "$dockerfile")
official=${official//\$\{BEAM_VERSION\}/$beam_version}
label='{{ index .Config.Labels "org.household-sounds.beam-sdk-image" }}'
for source in "${sources[@]}"; do
  harness=$("$engine" image inspect --format "$label" "$source")
  if [[ $harness != "$official" ]]; then
    echo "image-push: $source has Beam's harness from '$harness', not $official" \
      "(a smoke build?): build it with make image" >&2
    exit 1
  fi
done
for source in "${sources[@]}"; do
  pushed="${registry%/}/${source##*/}"
  "$engine" tag "$source" "$pushed"
  "$engine" push "$pushed"
done
echo "pushed $target; run on a cluster with: household-sounds submit --image $target ..."
