"""Reading the hashed lock files: each requirement with its ``--hash`` options, and the pins."""

import re
from pathlib import Path

from packaging.utils import canonicalize_name


def requirements(lock: Path) -> list[str]:
    """The lock's requirements, each with its continuation lines joined."""
    text = re.sub(r"\\\n", " ", lock.read_text())
    return [line for line in text.splitlines() if line.strip() and not line.startswith("#")]


def pins(lock: Path) -> dict[str, str]:
    """Canonical name → version of every requirement in ``lock``."""
    found = {}
    for line in lock.read_text().splitlines():  # a pin starts a line; hashes are indented
        match = re.match(r"([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s;\\]+)", line)
        if match:
            found[canonicalize_name(match.group(1))] = match.group(2)
    return found
