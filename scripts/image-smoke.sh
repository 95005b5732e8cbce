#!/usr/bin/env bash
# Smoke-builds docker/pipeline.Dockerfile with podman + runc where no Docker engine exists
# and Docker Hub cannot be reached (our dev VMs; see shared infra notes §3), then runs the
# project CLI inside the image with no network.
#
# The python base image is replaced by a stand-in made with debootstrap (Debian bookworm's
# python3.11 + venv, tagged with the Dockerfile's PYTHON_BASE default), and the locked wheels
# are downloaded on the host first, so the build itself runs with --network=none. It is a build
# and packaging smoke test of the real, unchanged Dockerfile, not a byte-identical image:
# the official base's /usr/local CPython is not used. Beam's SDK image (the source of
# /opt/apache/beam/boot, a Go binary) cannot be pulled either: the build argument BEAM_SDK_IMAGE
# replaces it with a stand-in under its own name (never the official one's), whose boot only
# says it is one and exits 3, so the smoke run checks that runner flags reach
# /opt/apache/beam/boot through the entrypoint, not that Beam's harness starts. The image is
# tagged SMOKE_IMAGE (default localhost/household-sounds:smoke), never the release name, and
# records the stand-in in its label, which scripts/image-push.sh refuses to push.
#
# Needs root (apt-get, debootstrap, rootful podman). Not part of `make test` (minutes, root).
# Usage: scripts/image-smoke.sh            (env: SMOKE_WORK=dir to keep downloads between runs)
set -euo pipefail
cd "$(dirname "$0")/.."

DOCKERFILE=docker/pipeline.Dockerfile
WORK=${SMOKE_WORK:-build/image-smoke}
IMAGE=${SMOKE_IMAGE:-localhost/household-sounds:smoke}
BASE=$(sed -n 's/^ARG PYTHON_BASE=//p' "$DOCKERFILE")
BEAM_VERSION=$(awk -F= '/^ARG BEAM_VERSION=/ { print $2; exit }' "$DOCKERFILE")
BEAM_SDK=localhost/household-sounds-smoke/beam-sdk-standin:$BEAM_VERSION
PIP=${PIP:-.venv/bin/pip}

log() { printf '\n== %s  [%ss]\n' "$*" "$SECONDS"; }
die() { printf 'image-smoke: %s\n' "$*" >&2; exit 1; }

[[ $(id -u) -eq 0 ]] || die "run as root (apt-get, debootstrap and rootful podman need it)"
[[ -x $PIP ]] || die "$PIP not found: run 'make install' first (it downloads the locked wheels)"

log "tools: podman buildah runc debootstrap"
missing=()
for tool in podman buildah runc debootstrap; do
  command -v "$tool" >/dev/null || missing+=("$tool")
done
if ((${#missing[@]})); then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
podman --version

mkdir -p "$WORK"
WORK=$(cd "$WORK" && pwd)
# Our own containers.conf instead of editing /etc: runc, because crun fails on this VM's hybrid
# cgroups; ulimits below the VM's hard limits; no network unless a command asks for one.
cat > "$WORK/containers.conf" <<'CONF'
[containers]
default_ulimits = ["nofile=1024:1024", "nproc=1024:1024"]
netns = "none"
[engine]
runtime = "runc"
CONF
export CONTAINERS_CONF="$WORK/containers.conf"

if podman image exists "$BASE"; then
  log "stand-in base $BASE already present"
else
  log "debootstrap bookworm → stand-in for $BASE"
  rootfs="$WORK/rootfs"
  rm -rf "$rootfs"
  debootstrap --variant=minbase --include=python3,python3-venv,ca-certificates,passwd \
    bookworm "$rootfs" http://deb.debian.org/debian >"$WORK/debootstrap.log"
  tar -C "$rootfs" -c . | podman import - localhost/debian-py:bookworm
  rm -rf "$rootfs"
  # The official image has python/pip in /usr/local/bin and no EXTERNALLY-MANAGED marker.
  # The host CA bundle lets pip verify a TLS-intercepting proxy, if one is used.
  cp /etc/ssl/certs/ca-certificates.crt "$WORK/ca.crt"
  cat > "$WORK/standin.Containerfile" <<'CONTAINERFILE'
FROM localhost/debian-py:bookworm
COPY ca.crt /etc/ssl/certs/ca-certificates.crt
ENV PIP_CERT=/etc/ssl/certs/ca-certificates.crt SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt
RUN rm -f /usr/lib/python3.11/EXTERNALLY-MANAGED \
 && ln -sf /usr/bin/python3 /usr/local/bin/python \
 && ln -sf /usr/bin/python3 /usr/local/bin/python3
CONTAINERFILE
  podman build --pull=never -t "$BASE" -f "$WORK/standin.Containerfile" "$WORK"
fi

if podman image exists "$BEAM_SDK"; then
  log "stand-in $BEAM_SDK already present"
else
  log "stand-in for $BEAM_SDK (boot is a marker script, see the header)"
  mkdir -p "$WORK/beam-standin"
  printf '#!/bin/sh\necho "stand-in boot (image-smoke), args: $*"\nexit 3\n' \
    > "$WORK/beam-standin/boot"
  chmod +x "$WORK/beam-standin/boot"
  printf 'FROM scratch\nCOPY boot /opt/apache/beam/boot\n' > "$WORK/beam-standin/Containerfile"
  podman build --pull=never -t "$BEAM_SDK" -f "$WORK/beam-standin/Containerfile" "$WORK/beam-standin"
fi

log "download the locked wheels on the host (the build itself has no network)"
mkdir -p "$WORK/wheels"
# Exactly the files the lock's hashes allow. (Two locked packages, google-apitools 0.5.31 and
# kfp-server-api, exist only as sdists: the builder stage builds those from the downloaded
# setuptools/wheel.)
if ! "$PIP" download --require-hashes --no-deps --no-build-isolation -d "$WORK/wheels" \
  -r requirements-build.lock -r requirements.lock >"$WORK/download.log" 2>&1; then
  grep -v "is ignored: it is neither" "$WORK/download.log" | tail -20 >&2
  die "pip download failed (log: $WORK/download.log)"
fi
# The serving TensorFlow's lock (deploy's infra validation) pins other versions of some of the
# same packages, so it is downloaded on its own.
if ! "$PIP" download --require-hashes --no-deps --only-binary :all: -d "$WORK/wheels" \
  -r requirements-serving-tf.lock >>"$WORK/download.log" 2>&1; then
  grep -v "is ignored: it is neither" "$WORK/download.log" | tail -20 >&2
  die "pip download of requirements-serving-tf.lock failed (log: $WORK/download.log)"
fi
du -sh "$WORK/wheels"

log "podman build $IMAGE (--network=none)"
scripts/stage-weights.sh
build_start=$SECONDS
podman build --pull=never --network=none \
  --volume "$WORK/wheels:/wheels:ro" \
  --build-arg PIP_NO_INDEX=1 --build-arg PIP_FIND_LINKS=/wheels \
  --build-arg "BEAM_SDK_IMAGE=$BEAM_SDK" --build-arg "GIT_COMMIT=$(git rev-parse HEAD)" \
  -f "$DOCKERFILE" -t "$IMAGE" .
echo "build seconds: $((SECONDS - build_start))"
podman image inspect --format 'image size: {{.Size}} bytes' "$IMAGE"

log "run inside the image (--network=none)"
run() { podman run --rm --network=none "$IMAGE" "$@"; }
run sh -c 'echo "uid=$(id -u) python=$(command -v python3) $(python3 --version)"'
run household-sounds --help
# Runner flags go to Beam's boot (here the stand-in, which exits 3 after naming itself).
boot_out=$(podman run --rm --network=none "$IMAGE" --id=1 --provision_endpoint=localhost:1 || true)
[[ $boot_out == "stand-in boot (image-smoke), args: --id=1 --provision_endpoint=localhost:1" ]] \
  || die "runner flags did not reach /opt/apache/beam/boot: $boot_out"
echo "entrypoint: runner flags → /opt/apache/beam/boot"
run python -c "import components.audio.features, soundfile; print('features ok; libsndfile', soundfile.__libsndfile_version__)"
# KFP runs lightweight components as `python3 -m kfp.dsl.executor_main` (install_kfp_package=False):
# the executor and every component wrapper must import from the image alone.
run python3 -c '
import importlib, importlib.util, pkgutil
import components, kfp.dsl.executor_main
names = [m.name for m in pkgutil.iter_modules(components.__path__)
         if m.ispkg and importlib.util.find_spec(f"components.{m.name}.component")]
for name in names:
    importlib.import_module(f"components.{name}.component")
print("kfp executor_main + component wrappers import:", ", ".join(names))'

# deploy's infra validation finds the serving TensorFlow baked into the image.
run python3 -c '
from components.deploy import serving_tf
found = serving_tf.interpreter()
assert not found.installed, found
print("serving TensorFlow", found.tensorflow, "at", found.path)'

# One real step end to end: the demo-data generator and the ingest core, as the ingest
# component would call them, inside a read-only root with only /tmp writable.
podman run --rm --network=none --read-only --tmpfs /tmp "$IMAGE" sh -c '
  set -e
  household-sounds demo-data --output /tmp/demo >/tmp/demo.json
  household-sounds ingest --data-root /tmp/demo --data-format fsd50k --output /tmp/manifest
  ls /tmp/manifest'
log "image smoke OK: $IMAGE"
