"""The user's settings file: defaults for the command line that belong to a place, not to the code.

``household-sounds.toml`` in the working directory (a project checkout's own settings) wins over
``$XDG_CONFIG_HOME/household-sounds/config.toml`` (``~/.config/…`` by default, a user's
settings). Each is TOML with one key today, ``image = "REGISTRY/NAME[:TAG]"``, the image that
``compile``/``submit`` compile for when neither ``--image`` nor ``$HOUSEHOLD_SOUNDS_IMAGE`` names
one. An unknown key or a value of the wrong type is an error naming the file, so a typo never
silently falls back to the release image.
"""

import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

IMAGE_ENV = "HOUSEHOLD_SOUNDS_IMAGE"  # wins over both files
PROJECT_FILE = "household-sounds.toml"
USER_FILE = "household-sounds/config.toml"  # under $XDG_CONFIG_HOME, by default ~/.config
KEYS = ("image",)


class ConfigFileError(ValueError):
    """A settings file that cannot be used; the message names the file and the fix."""


@dataclass(frozen=True)
class UserConfig:
    """The settings found, and the file they came from (``None``: no file)."""

    image: str | None = None
    source: Path | None = None


def candidates(cwd: Path, environ: Mapping[str, str]) -> list[Path]:
    """The settings files in the order they are tried: the project's, then the user's."""
    base = environ.get("XDG_CONFIG_HOME") or str(Path(environ.get("HOME", "~"), ".config"))
    return [cwd / PROJECT_FILE, Path(base).expanduser() / USER_FILE]


def load(cwd: Path | None = None, environ: Mapping[str, str] = os.environ) -> UserConfig:
    """The first settings file that exists, read and checked; ``UserConfig()`` if none does.

    Raises:
        ConfigFileError: the file is not TOML, has an unknown key, or a non-string value.
    """
    for path in candidates(cwd or Path.cwd(), environ):
        if not path.is_file():
            continue
        try:
            values = tomllib.loads(path.read_text(encoding="utf-8"))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as error:
            raise ConfigFileError(f"{path}: not valid TOML ({error})") from None
        unknown = sorted(set(values) - set(KEYS))
        if unknown:
            raise ConfigFileError(f"{path}: unknown key(s) {unknown}; known: {list(KEYS)}")
        image = values.get("image")
        if image is not None and not isinstance(image, str):
            raise ConfigFileError(f'{path}: image must be a string, e.g. image = "ghcr.io/me/x"')
        return UserConfig(image=image, source=path)
    return UserConfig()
