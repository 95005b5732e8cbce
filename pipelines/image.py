"""The container image the compiled pipeline's tasks run, chosen at compile time, not in code.

The image is ``--image REGISTRY/NAME:TAG`` (or ``@sha256:`` digest), else the
``HOUSEHOLD_SOUNDS_IMAGE`` environment variable, else the release image ``components.IMAGE``.
A lightweight component fixes its image when it is decorated (``@dsl.component(base_image=...)``),
so ``with_image`` re-creates each component from the same Python function with
``dsl.component`` for the chosen image: the IR is compiled for that image by KFP itself, with
the same interface and the same shipped source, and no YAML is edited afterwards.
"""

import os
import re
from collections.abc import Mapping

from kfp import dsl
from kfp.dsl.python_component import PythonComponent

from components import IMAGE

IMAGE_ENV = "HOUSEHOLD_SOUNDS_IMAGE"
_COMPONENT = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
_REFERENCE = re.compile(
    rf"(?:[A-Za-z0-9.-]+(?::[0-9]+)?/)?{_COMPONENT}(?:/{_COMPONENT})*"
    r"(?::[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}|@sha256:[0-9a-f]{64})"
)


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


def default_image(environ: Mapping[str, str] = os.environ) -> str:
    """``$HOUSEHOLD_SOUNDS_IMAGE`` if set (and valid), else the release image."""
    return check_image(environ.get(IMAGE_ENV) or IMAGE)


def with_image(component: PythonComponent, image: str) -> PythonComponent:
    """``component`` re-created from its Python function to run in ``image`` (itself if same)."""
    if component.component_spec.implementation.container.image == image:
        return component
    return dsl.component(
        func=component.python_func, base_image=check_image(image), install_kfp_package=False
    )
