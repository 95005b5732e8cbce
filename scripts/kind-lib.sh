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

# kubectl from the project venv (pinned by requirements-dev.lock) if present, else the PATH one.
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

# Pipeline pods and TF Serving run as the image's uid 10001, not as you. grant_pod_access DIR...
# gives that one uid (and you) read/write on the store through POSIX ACLs, default ACLs included
# so that what either side creates stays usable by both; nothing is made world-writable. Under
# rootless podman the node's uids are shifted, so the ACL is set inside `podman unshare` (uid 0
# there is you). Docker Desktop (macOS) maps every container uid to you: nothing to grant.
POD_UID=10001
grant_pod_access() {
  [[ $(uname -s) == Darwin ]] && return 0
  need setfacl "Install the acl package (setfacl), e.g. 'apt-get install acl'"
  local -a run=()
  local me
  me=$(id -u)
  if [[ ${KIND_EXPERIMENTAL_PROVIDER:-} == podman && $me != 0 ]]; then
    run=(podman unshare)
    me=0
  fi
  local acl="u:$POD_UID:rwX,u:$me:rwX,m::rwX"
  "${run[@]}" setfacl -R -m "$acl" "$@"
  "${run[@]}" find "$@" -type d -exec setfacl -d -m "$acl" {} +
}

need_venv() {
  [[ -x .venv/bin/household-sounds ]] || die ".venv/ is missing: run 'make install' first"
}
