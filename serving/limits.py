"""What one request to the served model may hold, read by the clients and the development server.

TF Serving runs with ``serving/batching.config`` (``max_batch_size`` 32, no large-batch
splitting), so a ``Predict`` request of more than ``MAX_BATCH_SIZE`` inputs is refused with
``INVALID_ARGUMENT``; ``k8s/base/deployment.yaml`` caps every gRPC message at
``MAX_MESSAGE_BYTES`` (``--grpc_channel_arguments``), and the development server applies both
limits, gRPC and REST alike (tests check the three files agree). ``batches`` groups a client's
files into requests within both limits. Imports nothing, so ``--help`` stays fast.
"""

from collections.abc import Sequence

MAX_BATCH_SIZE = 32
# 32 MiB holds a batch of about 200 five-second 16 kHz WAV clips.
MAX_MESSAGE_BYTES = 32 * 1024 * 1024
# Room left in a message for everything but the files: the request's own fields, and the bytes
# that frame each file (a protobuf tag and length, or a REST row's JSON).
ENVELOPE_BYTES = 64 * 1024
PER_FILE_BYTES = 64
# What the files of one request may take in all.
FILES_BUDGET_BYTES = MAX_MESSAGE_BYTES - ENVELOPE_BYTES


def payload_bytes(size: int, rest: bool) -> int:
    """Bytes a file of ``size`` bytes takes in a request (REST sends it base64-encoded)."""
    return (4 * ((size + 2) // 3) if rest else size) + PER_FILE_BYTES


def fits_one_request(size: int, rest: bool) -> bool:
    """Whether a file of ``size`` bytes can be sent at all (alone in its request)."""
    return payload_bytes(size, rest) <= FILES_BUDGET_BYTES


def batches(sizes: Sequence[int], rest: bool) -> list[list[int]]:
    """Indices of the files (each ``fits_one_request``), grouped into requests in order.

    Each request holds at most ``MAX_BATCH_SIZE`` files and ``MAX_MESSAGE_BYTES`` in all.
    """
    requests: list[list[int]] = []
    used = FILES_BUDGET_BYTES + 1  # forces the first request open
    for index, size in enumerate(sizes):
        cost = payload_bytes(size, rest)
        if used + cost > FILES_BUDGET_BYTES or len(requests[-1]) == MAX_BATCH_SIZE:
            requests.append([])
            used = 0
        requests[-1].append(index)
        used += cost
    return requests
