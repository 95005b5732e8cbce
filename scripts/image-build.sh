#!/usr/bin/env bash
# Builds the project image (docker/pipeline.Dockerfile) as components.IMAGE with docker when a
# Docker engine answers, else with podman. `make image` runs this. Extra arguments go to the
# build command, e.g. --build-arg PIP_INDEX_URL=https://mirror.example/simple.
set -euo pipefail
cd "$(dirname "$0")/.."
image=$(scripts/image-tag.sh)
# A docker CLI without a reachable engine (common on CI VMs) must not win over podman.
if command -v docker >/dev/null && docker info >/dev/null 2>&1; then
  engine=docker
elif command -v podman >/dev/null; then
  engine=podman
else
  echo "image-build: neither a running Docker engine nor podman found" >&2
  echo "  install Docker (https://docs.docker.com/engine/install/) or podman" >&2
  exit 1
fi
echo "building $image with $engine"
# The commit goes into the image (label and env) and from there into every model card.
commit=$(git rev-parse HEAD 2>/dev/null || echo unknown)
"$engine" build -f docker/pipeline.Dockerfile -t "$image" --build-arg "GIT_COMMIT=$commit" "$@" .
echo "built $image"
