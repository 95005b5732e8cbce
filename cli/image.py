"""The image ``compile`` and ``submit`` compile for: the flag, environment, settings, release.

``resolve_image`` takes the first of ``--image``, ``$HOUSEHOLD_SOUNDS_IMAGE``, ``image`` in the
settings file (``cli.user_config``) and ``components.IMAGE``, and completes and checks the
reference with ``pipelines.image.complete`` (an untagged name gets the git commit as its tag).
Imported only when a command runs: ``pipelines.image`` imports KFP.
"""

import os
from collections.abc import Mapping
from pathlib import Path

from cli import user_config
from cli.user_config import IMAGE_ENV
from components import IMAGE
from pipelines.image import complete


def resolve_image(
    flag: str | None = None, environ: Mapping[str, str] = os.environ, cwd: Path | None = None
) -> str:
    """The image to compile for: ``flag``, else the environment, the settings file, the release.

    Raises:
        ValueError: the chosen reference is invalid, or untagged outside a git checkout; the
            message says where it came from.
    """
    settings = user_config.load(cwd, environ)
    for source, reference in (
        ("--image", flag),
        (f"${IMAGE_ENV}", environ.get(IMAGE_ENV)),
        (f"image in {settings.source}", settings.image),
    ):
        if reference:
            try:
                return complete(reference, cwd)
            except ValueError as error:
                raise ValueError(f"{source}: {error}") from None
    return IMAGE
