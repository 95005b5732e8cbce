"""Command-line flags generated from a step's config dataclass, so defaults and choices live once.

``add_config_flags(parser, Config)`` adds one option per field whose metadata has ``help``: named
``--field-name`` (or metadata ``flag``), typed and defaulted by the field (metadata
``cli_default`` replaces the default on the command line only), with choices from a ``Literal``
type; a field without a default is a required option, a ``bool`` defaulting to False a switch,
a ``tuple`` a repeatable option (metadata ``metavar``). With ``presets`` (name → field values,
e.g. the study's and the demo's budgets) a ``--preset`` option picks the defaults of the fields
it names. ``config_from_args`` builds the config back: preset values, then every option given,
then the keyword arguments. ``Command`` declares a subcommand from these parts (its required
paths, its config, its presets, extra flags), ``registrar`` registers it in a command module's
``COMMANDS`` for ``cli/main.py`` to dispatch, and ``emit`` prints a command's JSON answer (on
stdout, the only thing a command writes there). ``UsageError`` is a command used wrongly.
Imports nothing heavy, so ``--help`` stays instant.
"""

import argparse
import dataclasses
import json
import sys
import types
import typing
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

PRESET = "preset"


class UsageError(ValueError):
    """A command used wrongly: ``cli.main`` prints the message on one line and exits 2."""


def _flag_fields(config: type, only: Iterable[str] | None) -> list[dataclasses.Field]:
    names = None if only is None else set(only)
    return [
        f
        for f in dataclasses.fields(config)
        if "help" in f.metadata and (names is None or f.name in names)
    ]


def _flag_name(field_name: str) -> str:
    return "--" + field_name.replace("_", "-")


def _unwrap(kind: Any) -> tuple[Any, tuple | None]:
    """A field type → (element type, choices): ``X | None`` → X, ``Literal[...]`` → its values."""
    if typing.get_origin(kind) in (typing.Union, types.UnionType):
        (kind,) = [arg for arg in typing.get_args(kind) if arg is not type(None)]
    if typing.get_origin(kind) is typing.Literal:
        choices = typing.get_args(kind)
        return type(choices[0]), choices
    if typing.get_origin(kind) is tuple:
        return typing.get_args(kind)[0], None
    return kind, None


def add_config_flags(
    parser: argparse.ArgumentParser,
    config: type,
    *,
    presets: Mapping[str, Mapping[str, object]] | None = None,
    only: Iterable[str] | None = None,
) -> None:
    """Adds an option per documented field of ``config`` (all, or those named in ``only``)."""
    hints = typing.get_type_hints(config)
    preset_values: dict[str, list[str]] = {}
    if presets:
        for name, values in presets.items():
            for key, value in values.items():
                preset_values.setdefault(key, []).append(f"{name} {value}")
        flags = ", ".join(_flag_name(key) for key in preset_values)
        parser.add_argument(
            f"--{PRESET}",
            default=next(iter(presets)),
            choices=list(presets),
            help=f"{flags} defaults",
        )
    for f in _flag_fields(config, only):
        kind, choices = _unwrap(hints[f.name])
        flag = f.metadata.get("flag", _flag_name(f.name))
        options: dict[str, Any] = {"dest": f.name, "help": f.metadata["help"]}
        if f.name in preset_values:
            options.update(
                default=None, help=f"{options['help']} ({', '.join(preset_values[f.name])})"
            )
        elif f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
            options["required"] = True
        else:
            options["default"] = f.metadata.get("cli_default", f.default)
        if kind is bool and options.get("default") is False:
            parser.add_argument(flag, action="store_true", **options)
            continue
        if typing.get_origin(hints[f.name]) is tuple:
            options.update(action="append", default=[])
        if not choices:
            options["metavar"] = f.metadata.get("metavar", flag[2:].replace("-", "_").upper())
        parser.add_argument(flag, type=kind, choices=choices, **options)


def config_from_args(
    args: argparse.Namespace,
    config: type,
    *,
    presets: Mapping[str, Mapping[str, object]] | None = None,
    only: Iterable[str] | None = None,
    **values: object,
) -> Any:
    """The ``config`` the parsed options describe (see ``add_config_flags``), plus ``values``."""
    fields: dict[str, object] = dict(presets[getattr(args, PRESET)]) if presets else {}
    for f in _flag_fields(config, only):
        value = getattr(args, f.name)
        if value is not None and value != []:  # a repeatable option not given keeps the default
            fields[f.name] = tuple(value) if isinstance(value, list) else value
    return config(**{**fields, **values})


PATHS = {
    "data-root": "dataset root (local path or gs://)",
    "manifest": "manifest.jsonl from ingest",
    "examples": "featurize output directory",
    "model-dir": "trained model directory (model.json)",
    "transform-graph": "featurize's transform_graph/",
    "model-base": "TF Serving model base (local path or gs://)",
    "blessing": "blessing.json (or its directory)",
    "output": "output directory",
}


@dataclass(frozen=True)
class Command:
    """A subcommand: required paths, its config's options (and presets), extra ``flags``."""

    handler: Callable[..., int]
    paths: Sequence[str]
    config: type | None
    presets: Mapping[str, Mapping[str, object]] | None
    only: Sequence[str] | None
    flags: Callable[[argparse.ArgumentParser], None] | None

    def configure(self, parser: argparse.ArgumentParser) -> None:
        """Adds the command's paths, config options and extra flags to ``parser``."""
        for path in self.paths:
            parser.add_argument(f"--{path}", required=True, help=PATHS[path])
        if self.config:
            add_config_flags(parser, self.config, presets=self.presets, only=self.only)
        if self.flags:
            self.flags(parser)

    def run(self, args: argparse.Namespace) -> int:
        """Calls the handler with the parsed args (and the config they describe)."""
        if not self.config:
            return self.handler(args)
        config = config_from_args(args, self.config, presets=self.presets, only=self.only)
        return self.handler(args, config)


def registrar(registry: dict[str, Command]) -> Callable:
    """``@registrar(registry)(name, *paths, config=..., ...)`` registers a handler (``Command``)."""

    def command(name: str, *paths: str, config=None, presets=None, only=None, flags=None):
        def register(handler: Callable[..., int]) -> Callable[..., int]:
            registry[name] = Command(handler, paths, config, presets, only, flags)
            return handler

        return register

    return command


def emit(payload: Any) -> int:
    """Prints ``payload`` as a command's JSON answer on stdout; returns the exit code 0."""
    json.dump(payload, sys.stdout, indent=2, default=str)
    sys.stdout.write("\n")
    return 0
