#!/usr/bin/env bash
# `make kind-down`: deletes the kind cluster (KFP, TF Serving and all). The host store
# build/kind-store (demo data, model versions) is kept; remove it by hand if you want.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/kind-lib.sh
source scripts/kind-lib.sh

need kind "Install kind: https://kind.sigs.k8s.io/docs/user/quick-start/#installation"
if kind get clusters 2>/dev/null | grep -qx "$CLUSTER"; then
  kind delete cluster --name "$CLUSTER"
else
  echo "no kind cluster '$CLUSTER'"
fi
echo "kept $STORE (data and models)"
