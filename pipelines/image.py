"""The container image the compiled pipeline's tasks run, chosen at compile time, not in code.

The command line (``cli.image.resolve_image``) picks the first of ``--image``, the
``HOUSEHOLD_SOUNDS_IMAGE`` environment variable, ``image`` in the settings file
(``cli.user_config``) and the release image ``components.IMAGE``. Each is ``REGISTRY/NAME:TAG`` or
``REGISTRY/NAME@sha256:DIGEST``; a bare ``REGISTRY/NAME`` gets the tag ``git rev-parse --short
HEAD`` of the checkout it is run in (the tag ``make image`` also gives the image it builds), and
outside a git checkout it is refused, as an implicit ``:latest`` would make runs irreproducible. A
lightweight component fixes its image when it is decorated (``@dsl.component(base_image=...)``), so
``with_image`` re-creates each component from the same Python function with ``dsl.component`` for
the chosen image: the IR is compiled for that image by KFP itself, with the same interface and the
same shipped source, and no YAML is edited afterwards.
"""

import re
import subprocess
import sys
from pathlib import Path

from kfp import dsl
from kfp.dsl.python_component import PythonComponent

_COMPONENT = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
_NAME = rf"(?:[A-Za-z0-9.-]+(?::[0-9]+)?/)?{_COMPONENT}(?:/{_COMPONENT})*"
_REFERENCE = re.compile(rf"{_NAME}(?::[A-Za-z0-9_][A-Za-z0-9_.-]{{0,127}}|@sha256:[0-9a-f]{{64}})")
_UNTAGGED = re.compile(_NAME)


def check_image(reference: str) -> str:
    """Returns ``reference`` if it names an image by tag or digest.

    Raises:
        ValueError: not an image reference, or one without a tag or digest (an implicit
            ``:latest`` would make runs irreproducible).
    """
    if not _REFERENCE.fullmatch(reference):
        raise ValueError(
            f"image {reference!r}: expected REGISTRY/NAME:TAG or REGISTRY/NAME@sha256:DIGEST "
            "(lower-case name, explicit tag)"
        )
    return reference


def check_name(reference: str) -> str:
    """Returns ``reference`` if it is an image reference, with or without a tag or digest.

    Raises:
        ValueError: not an image reference.
    """
    if not (_REFERENCE.fullmatch(reference) or _UNTAGGED.fullmatch(reference)):
        raise ValueError(
            f"image {reference!r}: expected REGISTRY/NAME[:TAG] or REGISTRY/NAME@sha256:DIGEST "
            "(lower-case name)"
        )
    return reference


def git_tag(cwd: Path | None = None) -> str:
    """``git rev-parse --short HEAD`` of the checkout at ``cwd`` (default: the working directory).

    Warns on stderr when the checkout has uncommitted changes, which an image tagged with the
    commit does not hold.

    Raises:
        ValueError: ``cwd`` is not in a git checkout (or git is not installed).
    """

    def git(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["git", *args], cwd=cwd, capture_output=True, text=True, check=False, timeout=30
        )

    try:
        head = git("rev-parse", "--short", "HEAD")
    except FileNotFoundError:
        head = None
    if head is None or head.returncode != 0:
        raise ValueError("no tag given and not in a git checkout to take one from")
    if git("status", "--porcelain", "--untracked-files=no").stdout.strip():
        print(
            f"household-sounds: warning: uncommitted changes; the image tag {head.stdout.strip()} "
            "is the last commit",
            file=sys.stderr,
        )
    return head.stdout.strip()


def complete(reference: str, cwd: Path | None = None) -> str:
    """``reference`` checked, with the git commit as its tag if it has neither tag nor digest."""
    if _REFERENCE.fullmatch(reference):
        return reference
    return check_image(f"{check_name(reference)}:{git_tag(cwd)}")


def with_image(component: PythonComponent, image: str) -> PythonComponent:
    """``component`` re-created from its Python function to run in ``image`` (itself if same)."""
    if component.component_spec.implementation.container.image == image:
        return component
    return dsl.component(
        func=component.python_func, base_image=check_image(image), install_kfp_package=False
    )
