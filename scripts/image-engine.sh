#!/usr/bin/env bash
# Prints the container engine the image scripts use: docker when a Docker engine answers (a
# docker CLI without a reachable engine, common on CI VMs, must not win over podman), else podman.
set -euo pipefail
if command -v docker >/dev/null && docker info >/dev/null 2>&1; then
  echo docker
elif command -v podman >/dev/null; then
  echo podman
else
  echo "image: neither a running Docker engine nor podman found" >&2
  echo "  install Docker (https://docs.docker.com/engine/install/) or podman" >&2
  exit 1
fi
