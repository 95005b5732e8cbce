"""Start the development server from the command line: ``household-sounds serve-dev``.

``serve_until_stopped`` loads every model under a model base into one ``ModelRepository``,
serves it over gRPC (``grpc_api.py``) and, given a port, over REST (``rest.py``) too, and
blocks until Ctrl-C or SIGTERM.
"""

import logging
import signal

from serving.dev_server import grpc_api, rest
from serving.dev_server.repository import ModelRepository


def serve_until_stopped(model_base: str, port: int, rest_port: int = 0) -> None:
    """Serves every model under ``model_base`` over gRPC (and REST on ``rest_port`` if not 0).

    Stops on Ctrl-C and on SIGTERM (what Kubernetes and process managers send), also when
    started with SIGINT ignored, as the children of a shell's background job are.
    """
    logging.basicConfig(level=logging.INFO)
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, signal.default_int_handler)
    repository = ModelRepository.from_base(model_base)
    server, _ = grpc_api.serve(repository, port)
    if rest_port:
        rest.serve(repository, rest_port)
    try:
        server.wait_for_termination()
    except KeyboardInterrupt:
        server.stop(grace=2).wait()
