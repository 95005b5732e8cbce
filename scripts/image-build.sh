#!/usr/bin/env bash
# Builds the project image (docker/pipeline.Dockerfile) as components.IMAGE with docker when a
# Docker engine answers, else with podman, and tags it NAME:<short commit> too, the tag that
# `household-sounds compile/submit --image NAME` (no tag) takes in this checkout. `make image`
# runs this. Extra arguments go to the build command, e.g.
# --build-arg PIP_INDEX_URL=https://mirror.example/simple.
set -euo pipefail
cd "$(dirname "$0")/.."
image=$(scripts/image-tag.sh)
# TENSORFLOW=gpu builds the CUDA variant (make image-gpu), every tag with a -gpu suffix.
tensorflow=${TENSORFLOW:-cpu}
suffix=""
if [ "$tensorflow" = gpu ]; then suffix=-gpu; fi
engine=$(scripts/image-engine.sh)
echo "building $image$suffix with $engine"
scripts/stage-weights.sh
# The commit goes into the image (label and env) and from there into every model card.
commit=$(git rev-parse HEAD 2>/dev/null || echo unknown)
names=("$image$suffix")
if short=$(git rev-parse --short HEAD 2>/dev/null); then
  names+=("${image%:*}:$short$suffix")
fi
tags=()
for name in "${names[@]}"; do tags+=(-t "$name"); done
"$engine" build -f docker/pipeline.Dockerfile "${tags[@]}" --build-arg "GIT_COMMIT=$commit" \
  --build-arg "TENSORFLOW=$tensorflow" "$@" .
echo "built ${names[*]}"
