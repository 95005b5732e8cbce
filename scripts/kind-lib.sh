#!/usr/bin/env bash
# Shared settings and checks for the kind-*.sh scripts (sourced, not run).
# Versions are pinned here so `make kind-up` installs the same stack every time.

# shellcheck disable=SC2034  # used by the scripts that source this file
CLUSTER=${KIND_CLUSTER:-household-sounds}
KFP_VERSION=${KFP_VERSION:-2.17.0}
STORE=${KIND_STORE:-build/kind-store}   # host folder mounted at /mnt/household-sounds on the node
NODE_STORE=/mnt/household-sounds
SERVING_NAMESPACE=household-sounds
MODEL_NAME=household_sounds

# kubectl from the project venv (pinned by requirements.lock) if present, else the PATH one.
if [[ -x .venv/bin/kubectl ]]; then KUBECTL=.venv/bin/kubectl; else KUBECTL=kubectl; fi

die() { printf '%s: %s\n' "$(basename "$0")" "$*" >&2; exit 1; }
step() { printf '\n== %s\n' "$*"; }

# need TOOL HINT: fail early, with how to get the tool, instead of half-way through.
need() {
  command -v "$1" >/dev/null || die "'$1' not found. $2"
}

need_cluster() {
  need kind "Install kind: https://kind.sigs.k8s.io/docs/user/quick-start/#installation"
  kind get clusters 2>/dev/null | grep -qx "$CLUSTER" \
    || die "kind cluster '$CLUSTER' does not exist: run 'make kind-up' first"
  "$KUBECTL" config use-context "kind-$CLUSTER" >/dev/null
}

need_venv() {
  [[ -x .venv/bin/household-sounds ]] || die ".venv/ is missing: run 'make install' first"
}
