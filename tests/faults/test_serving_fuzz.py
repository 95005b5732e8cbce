"""Property: the served signature answers any mutated file with scores or INVALID_ARGUMENT.

The mutations of the Beam decode fuzz (``mutations.py``: truncations, bit flips, overwrites,
insertions and header-field overwrites of real WAV, FLAC and OGG files) are sent, one file per
request, to the development server over gRPC on 127.0.0.1 and the same bytes over REST (base64
in the row format), serving the model the serving tests export. Each answer must be either one
prediction with finite probabilities summing to 1, or ``INVALID_ARGUMENT`` (HTTP 400) with a
message; never ``UNKNOWN``/``INTERNAL``, a dropped connection or a dead server, and both APIs
must agree. The served graph decodes WAV only, so FLAC and OGG inputs (mutated or not) must be
refused too. Afterwards a good clip must get exactly the scores it got before the fuzzing.
"""

import math
import re

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings

from serving.client import GrpcClient, RestClient
from serving.status import ServingError
from tests.helpers.mutations import SEEDS, mutated_files

EXAMPLES = 150  # 2 × 150 requests: 9 s measured at a load average of ~15 on 2 cores


def answer(client, data: bytes) -> tuple[str, tuple[float, ...] | str]:
    """``("ok", probabilities)`` or ``(error code, message)`` for one file."""
    try:
        (prediction,) = client.predict_wav([data])
    except ServingError as error:
        return error.code, error.message
    return "ok", prediction.probabilities


def check(outcome: tuple[str, object]) -> None:
    code, value = outcome
    if code == "ok":
        assert len(value) == 8 and all(math.isfinite(p) and 0 <= p <= 1 for p in value), value
        assert sum(value) == pytest.approx(1, abs=1e-4)
    else:
        assert code == "INVALID_ARGUMENT" and value, outcome


@pytest.mark.slow
@pytest.mark.xdist_group("serving")  # shares the serving tests' exported model
@pytest.mark.timeout(600)  # a hang guard (includes building the shared model)
def test_mutated_files_get_scores_or_invalid_argument(dev_server, fault_record):
    target, rest_url = dev_server
    counts = {"ok": 0, "INVALID_ARGUMENT": 0}
    messages: set[str] = set()
    grpc_client, rest = GrpcClient(target, timeout_s=60), RestClient(rest_url, timeout_s=60)
    with grpc_client, rest:
        before = answer(grpc_client, SEEDS["wav16"])
        assert before[0] == "ok", before
        for name, data in SEEDS.items():  # unmutated: WAV scored, FLAC and OGG refused
            outcome = answer(grpc_client, data)
            check(outcome)
            assert (outcome[0] == "ok") == name.startswith("wav"), (name, outcome)

        @settings(
            max_examples=EXAMPLES,
            deadline=None,
            database=None,
            derandomize=True,  # the same mutations on every run: a CI failure reproduces
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
        )
        @given(mutated_files())
        def property_(case):
            _, data = case
            by_grpc, by_rest = answer(grpc_client, data), answer(rest, data)
            fault_record["requests"] += 2
            for outcome in (by_grpc, by_rest):
                if outcome[0] not in counts:
                    fault_record["crashes"] += 1
                check(outcome)
            assert by_grpc[0] == by_rest[0], (by_grpc, by_rest)
            if by_grpc[0] == "ok":
                np.testing.assert_allclose(by_grpc[1], by_rest[1], atol=1e-6)
            else:
                messages.add(re.sub(r"\d+", "N", by_grpc[1].splitlines()[0]))
            counts[by_grpc[0]] += 1

        property_()
        after = (answer(grpc_client, SEEDS["wav16"]), answer(rest, SEEDS["wav16"]))
    assert after[0] == before and after[1][0] == "ok", after
    np.testing.assert_allclose(after[1][1], before[1], atol=1e-6)
    # Not vacuous: some mutations still decode, and the refusals name distinct faults (a random
    # run of 150 once drew only 2 kinds, another 9: at least 2 are required).
    assert counts["ok"] and counts["INVALID_ARGUMENT"] and len(messages) >= 2, (counts, messages)
    fault_record["inputs"] = sum(counts.values())
    fault_record["requests"] += 4 + len(SEEDS)
    fault_record["details"] = {"answers": counts, "distinct_refusals": len(messages)}
    print(f"served fuzz: {counts}; {len(messages)} distinct refusals, e.g. {sorted(messages)[:8]}")
