"""The flags that say how a command reaches TF Serving: where, which version, TLS, credentials.

``server_flags`` adds ``--target``, ``--rest`` and ``--timeout``; ``version_flags`` the version a
request asks for (``--version N`` or ``--label stable``; neither: the newest the server has
loaded); ``security_flags`` TLS (``--tls``, ``--ca-file``, ``--client-cert``/``--client-key``)
and credentials (``--token``/``--token-file``, ``--header NAME=VALUE``, repeatable).
``version_choice`` and ``security`` build ``serving.client.VersionChoice`` and
``serving.security.Security`` from the parsed flags (``access``: both, as the clients' keyword
arguments); a bad value is a ``UsageError``. The
``serving`` modules are imported only then, so ``--help`` stays instant.
"""

import argparse
from pathlib import Path

from cli.flags import UsageError


def server_flags(parser: argparse.ArgumentParser, required: bool = False) -> None:
    """``--target``, ``--rest`` and ``--timeout``, then the version and security flags."""
    target = {"required": True} if required else {"default": "localhost:8500"}
    parser.add_argument("--target", help="host:port of TF Serving", **target)
    parser.add_argument("--rest", action="store_true", help="use the REST API (e.g. :8501)")
    timeout_flag(parser)
    version_flags(parser)
    security_flags(parser)


def timeout_flag(parser: argparse.ArgumentParser) -> None:
    """``--timeout``: seconds per request."""
    parser.add_argument("--timeout", type=float, default=30.0, help="seconds per request")


def version_flags(parser: argparse.ArgumentParser) -> None:
    """``--version N`` or ``--label LABEL`` (default: the newest version the server loaded)."""
    which = parser.add_mutually_exclusive_group()
    which.add_argument("--version", type=int, help="ask for this model version")
    which.add_argument("--label", help="ask for the version with this label (stable, canary)")


def security_flags(parser: argparse.ArgumentParser) -> None:
    """TLS and credentials for the calls to the server."""
    group = parser.add_argument_group("TLS and credentials")
    group.add_argument("--tls", action="store_true", help="TLS with the system's CAs")
    group.add_argument("--ca-file", help="PEM CA bundle of the server's certificate (TLS)")
    group.add_argument("--client-cert", help="PEM client certificate to present (mTLS)")
    group.add_argument("--client-key", help="PEM key of --client-cert")
    token = group.add_mutually_exclusive_group()
    token.add_argument("--token", help="bearer token (visible to `ps`: prefer --token-file)")
    token.add_argument("--token-file", help="file holding the bearer token")
    group.add_argument(
        "--header",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="extra header / gRPC metadata sent with every call (repeatable)",
    )


def access(args: argparse.Namespace) -> dict:
    """``{"choice", "security"}``: the clients' keyword arguments the flags describe."""
    return {"choice": version_choice(args), "security": security(args)}


def version_choice(args: argparse.Namespace):
    """The ``serving.client.VersionChoice`` of ``--version``/``--label``."""
    from serving.client import VersionChoice

    try:
        return VersionChoice(args.version, args.label)
    except ValueError as error:
        raise UsageError(str(error)) from None


def security(args: argparse.Namespace):
    """The ``serving.security.Security`` of the TLS and credential flags."""
    from serving.security import Security

    token = args.token
    if args.token_file:
        try:
            token = Path(args.token_file).read_text(encoding="utf-8").strip()
        except OSError as error:
            raise UsageError(
                f"cannot read --token-file {args.token_file}: {error.strerror}"
            ) from None
    headers = []
    for header in args.header:
        name, separator, value = header.partition("=")
        if not separator or not name.strip():
            raise UsageError(f"--header takes NAME=VALUE, got {header!r}")
        headers.append((name.strip(), value))
    for flag, path in (
        ("--ca-file", args.ca_file),
        ("--client-cert", args.client_cert),
        ("--client-key", args.client_key),
    ):
        if path and not Path(path).is_file():
            raise UsageError(f"{flag} {path}: no such file")
    try:
        return Security(
            tls=args.tls,
            ca_file=args.ca_file,
            cert_file=args.client_cert,
            key_file=args.client_key,
            token=token,
            headers=tuple(headers),
        )
    except ValueError as error:
        raise UsageError(str(error)) from None
