#!/usr/bin/env bash
# Re-resolves the dependency set into the hashed lock files: requirements.lock (runtime, what
# the image installs), requirements-dev.lock (test/lint/notebook/cluster tools) and
# requirements-build.lock (the installer pinned below), via scripts/write_locks.py,
# constraints.txt from them (scripts/constraints.py), and requirements-serving-tf.lock
# (scripts/lock_serving_tf.py).
# tensorflow-transform, tfx-bsl, tf_keras and tensorflow-serving-api declare a dependency on the
# full `tensorflow` wheel (tfx-bsl also on tensorflow-serving-api<2.20); the lock has the
# identical `tensorflow-cpu` build in place of the pipeline extra's `tensorflow`, and the 2.21
# serving protos that match it (LOCK_ONLY), so those four are installed without their declared
# dependencies and everything else is resolved normally.
set -euo pipefail
cd "$(dirname "$0")/.."
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
python3.11 -m venv "$tmp/venv"
"$tmp/venv/bin/pip" install --quiet "pip==26.3" "setuptools==80.9.0" "wheel==0.45.1"
no_deps='tensorflow-transform|tfx-bsl|tf_keras|tensorflow-serving-api'
LOCK_ONLY='tensorflow-serving-api==2.21.0'
python3.11 - "$no_deps" > "$tmp/direct.txt" <<'PY'
import re, sys, tomllib
project = tomllib.load(open("pyproject.toml", "rb"))["project"]
skip = re.compile(rf"^({sys.argv[1]})\b")
extras = project["optional-dependencies"]
for req in project["dependencies"] + [r for extra in extras.values() for r in extra]:
    if not skip.match(req):
        print(re.sub(r"^tensorflow==", "tensorflow-cpu==", req))
PY
"$tmp/venv/bin/pip" install --quiet -r "$tmp/direct.txt"
grep -E "^($no_deps)==" <(python3.11 - <<'PY'
import tomllib
for req in tomllib.load(open("pyproject.toml", "rb"))["project"]["optional-dependencies"]["pipeline"]:
    print(req)
PY
) | cat - <(echo "$LOCK_ONLY") | xargs "$tmp/venv/bin/pip" install --quiet --no-deps
# Split by the installed dependency graph and hash every file PyPI has for CPython 3.11.
"$tmp/venv/bin/python" scripts/write_locks.py
python3.11 scripts/constraints.py > constraints.txt
# The serving image's TensorFlow, a separate environment (deploy's infra validation).
"$tmp/venv/bin/python" scripts/lock_serving_tf.py
