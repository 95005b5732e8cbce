"""Start the development server from the command line: ``household-sounds serve-dev``.

``serve_until_stopped`` serves a model base over gRPC (``grpc_api.py``) and, given a port, over
REST (``rest.py``) too, and blocks until Ctrl-C or SIGTERM. When the model base has a rollout
config (``<model_base>/models.config``) it serves what the config says, versions and labels,
and follows the file as TF Serving does (``config_follower.py``); otherwise it serves the newest
version of every model. ``ServerSecurity`` turns on TLS and a required token.
"""

import logging
import signal

from components.artifacts.model_base import exists, rollout_config_file
from serving.dev_server import grpc_api, rest
from serving.dev_server.config_follower import ConfigFollower
from serving.dev_server.repository import ModelRepository
from serving.dev_server.security import ServerSecurity


def serve_until_stopped(
    model_base: str,
    port: int,
    rest_port: int = 0,
    poll_s: float = 2.0,
    security: ServerSecurity = ServerSecurity(),
) -> None:
    """Serves ``model_base`` over gRPC (and REST on ``rest_port`` if not 0) until stopped.

    Stops on Ctrl-C and on SIGTERM (what Kubernetes and process managers send), also when
    started with SIGINT ignored, as the children of a shell's background job are.

    Args:
        model_base: The model base (local or ``gs://``).
        port: gRPC port.
        rest_port: REST port, 0 for none.
        poll_s: Seconds between two reads of the rollout config, if there is one.
        security: TLS and the token calls must carry.
    """
    logging.basicConfig(level=logging.INFO)
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, signal.default_int_handler)
    follower = None
    if exists(rollout_config_file(model_base)):
        repository = ModelRepository([])
        follower = ConfigFollower(repository, model_base, poll_s)
        follower.apply()
        follower.start()
    else:
        repository = ModelRepository.from_base(model_base)
    server, _ = grpc_api.serve(repository, port, security=security)
    if rest_port:
        rest.serve(repository, rest_port, security=security)
    try:
        server.wait_for_termination()
    except KeyboardInterrupt:
        server.stop(grace=2).wait()
    finally:
        if follower is not None:
            follower.stop()
