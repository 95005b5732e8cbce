#!/usr/bin/env bash
# Runs the demo pipeline twice on the same generated data, once with every task in the project
# image (kfp.local's DockerRunner, talking to podman's Docker-compatible API socket from
# `podman system service`) and once in subprocesses of .venv, then compares the two runs'
# outputs with scripts/compare_runs.py (manifests, example counts and features, dead letter,
# models, blessing, deployed model). `make image-demo` runs this.
#
# The image is scripts/image-smoke.sh's build (the debootstrap stand-in base and a stand-in for
# Beam's SDK harness: Docker Hub cannot be reached here), so this needs root, podman and about
# two demo runs of time; on a machine with a Docker engine, point DOCKER_HOST at it and run
# `household-sounds demo --in-image IMAGE` with an image `make image` built. Not in CI (see
# docs/containers.md). The API service is stopped on exit; the runs stay in DEMO_WORK.
# Usage: scripts/image-demo.sh   (env: DEMO_WORK=dir, default build/image-demo; SMOKE_IMAGE)
set -euo pipefail
cd "$(dirname "$0")/.."

WORK=${DEMO_WORK:-build/image-demo}
IMAGE=${SMOKE_IMAGE:-localhost/household-sounds:smoke}
CLI=$PWD/.venv/bin/household-sounds
PYTHON=$PWD/.venv/bin/python

log() { printf '\n== %s  [%ss]\n' "$*" "$SECONDS"; }
die() { printf 'image-demo: %s\n' "$*" >&2; exit 1; }

[[ -x $CLI ]] || die "$CLI not found: run 'make install' first"
log "the project image $IMAGE (scripts/image-smoke.sh)"
SMOKE_IMAGE=$IMAGE scripts/image-smoke.sh
# image-smoke's engine settings (runc, ulimits under the VM's limits, no network by default).
CONTAINERS_CONF=$(cd "${SMOKE_WORK:-build/image-smoke}" && pwd)/containers.conf
export CONTAINERS_CONF

mkdir -p "$WORK"
WORK=$(cd "$WORK" && pwd)
socket=$WORK/podman.sock
log "podman system service on $socket"
rm -f "$socket"
podman system service --time=0 "unix://$socket" &
service=$!
trap 'kill "$service" 2>/dev/null || true; wait "$service" 2>/dev/null || true' EXIT
for _ in $(seq 50); do [[ -S $socket ]] && break; sleep 0.2; done
[[ -S $socket ]] || die "podman system service did not open $socket"

data=$WORK/data
[[ -d $data/FSD50K.metadata ]] || "$CLI" demo-data --output "$data" >/dev/null
rm -rf "$WORK/in-image" "$WORK/subprocess"

log "demo with every task in $IMAGE (DockerRunner → podman)"
start=$SECONDS
DOCKER_HOST=unix://$socket "$CLI" demo --data-root "$data" --output "$WORK/in-image" \
  --no-cache --in-image "$IMAGE" >"$WORK/in-image.json"
in_image=$((SECONDS - start))

log "demo in subprocesses (SubprocessRunner)"
start=$SECONDS
"$CLI" demo --data-root "$data" --output "$WORK/subprocess" --no-cache >"$WORK/subprocess.json"
subprocess=$((SECONDS - start))

log "compare the two runs"
status=0
"$PYTHON" scripts/compare_runs.py "$WORK/in-image" "$WORK/subprocess" >"$WORK/compare.json" \
  || status=$?
echo "in the image: ${in_image} s; in subprocesses: ${subprocess} s; checks: $WORK/compare.json"
[[ $status -eq 0 ]] || die "the runs differ (see $WORK/compare.json)"
log "image demo OK: the same outputs in $IMAGE as in subprocesses"
