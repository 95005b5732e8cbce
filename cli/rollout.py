"""The rollout commands: ``promote VERSION --label stable|canary`` and ``rollback``.

Both rewrite the rollout config ``<model_base>/models.config`` (local or ``gs://``) that TF
Serving follows, as ``serving/rollout.py`` defines, and print the labels and versions served
afterwards as JSON. Moving a label onto a version TF Serving has not loaded yet waits one
config poll (``--config-poll-seconds``, the server's ``--model_config_file_poll_wait_seconds``)
and, given ``--status-target`` (TF Serving's REST API), until that server reports the version
``AVAILABLE``. A wrong version or label, or nothing to roll back to, is a usage error (exit 2);
a config changed meanwhile, or a version that never loads, a failure (exit 1).
``cli/main.py`` registers ``COMMANDS``.
"""

import argparse

from cli import connection
from cli.flags import Command, emit, registrar
from components.deploy.config import DeployConfig

COMMANDS: dict[str, Command] = {}
command = registrar(COMMANDS)
NAME = ("model_name",)


def _wait_flags(parser: argparse.ArgumentParser) -> None:
    help = "the servers' --model_config_file_poll_wait_seconds: wait this long for them to load"
    parser.add_argument("--config-poll-seconds", type=float, default=60.0, help=help)
    help = "host:port of TF Serving's REST API: wait until it reports the version AVAILABLE"
    parser.add_argument("--status-target", help=help)
    help = "longest wait for --status-target to report the version AVAILABLE (seconds)"
    parser.add_argument("--load-timeout", type=float, default=600.0, help=help)
    connection.timeout_flag(parser)
    connection.security_flags(parser)


def _promote_flags(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("version", type=int, metavar="VERSION", help="version to promote")
    parser.add_argument("--label", required=True, help="stable or canary")
    help = "base_path written into a new config: where TF Serving finds the model (default: "
    help += "<model-base>/<model-name>, right for gs://; e.g. /models/household_sounds on a PVC)"
    parser.add_argument("--served-base-path", help=help)
    _wait_flags(parser)


def _settings(args: argparse.Namespace, config: DeployConfig):
    from serving.client import RestClient
    from serving.rollout import RolloutSettings

    states = None
    if args.status_target:
        security = connection.security(args)
        url = f"{security.scheme()}://{args.status_target}"
        client = RestClient(url, config.model_name, args.timeout, security=security)
        states = client.version_states
    return RolloutSettings(
        model_name=config.model_name,
        poll_s=args.config_poll_seconds,
        load_timeout_s=args.load_timeout,
        served_base_path=getattr(args, "served_base_path", None),
        version_states=states,
    )


@command("promote", "model-base", config=DeployConfig, only=NAME, flags=_promote_flags)
def _promote(args: argparse.Namespace, config: DeployConfig) -> int:
    """Point the stable or canary label at a version (TF Serving's rollout config)."""
    from serving import rollout

    return emit(rollout.promote(args.model_base, args.version, args.label, _settings(args, config)))


@command("rollback", "model-base", config=DeployConfig, only=NAME, flags=_wait_flags)
def _rollback(args: argparse.Namespace, config: DeployConfig) -> int:
    """Point stable (and canary) back at the previous stable version."""
    from serving import rollout

    return emit(rollout.rollback(args.model_base, _settings(args, config)))
