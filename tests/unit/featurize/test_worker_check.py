"""Which featurize runs get the worker check, and the reason it gives from Beam's errors.

The check job itself (a pool without Beam, without the project, no pool at all, and a healthy
pool) runs in ``tests/component/featurize/test_featurize_portable.py``.
"""

import pytest

from components.featurize.worker_check import checked_environment, reason

POOL = "localhost:50000"
AT_POOL = f"EXTERNAL environment at {POOL}"


@pytest.mark.parametrize(
    ("runner", "beam_args", "named"),
    [
        (
            "PortableRunner",
            ["--job_endpoint=embed", "--environment_type=EXTERNAL", f"--environment_config={POOL}"],
            AT_POOL,
        ),
        ("FlinkRunner", ["--environment_type", "EXTERNAL", "--environment_config", POOL], AT_POOL),
        (
            "SparkRunner",
            [
                "--environment_type=beam:env:external:v1",
                f'--environment_config={{"url": "{POOL}", "params": {{}}}}',
            ],
            AT_POOL,
        ),
        (
            "PortableRunner",
            [
                "--environment_type=EXTERNAL",
                f"--environment_options=external_service_address={POOL}",
            ],
            AT_POOL,
        ),
        # Flink's ProcessEnvironmentFactory waits forever for a forked worker as well.
        (
            "FlinkRunner",
            [
                "--environment_type=PROCESS",
                '--environment_config={"command": "/opt/apache/beam/boot"}',
            ],
            "PROCESS environment (/opt/apache/beam/boot)",
        ),
    ],
)
def test_external_and_process_environments_of_portable_runners_are_checked(
    runner, beam_args, named
):
    assert checked_environment(runner, beam_args) == named


@pytest.mark.parametrize(
    ("runner", "beam_args"),
    [
        ("PortableRunner", ["--job_endpoint=embed", "--environment_type=LOOPBACK"]),
        ("FlinkRunner", ["--flink_master=jm:8081"]),  # the Docker default: Beam watches it
        ("SparkRunner", ["--environment_type=DOCKER"]),
        ("PortableRunner", ["--environment_type=external", f"--environment_config={POOL}"]),
        ("FnApiRunner", ["--environment_type=EXTERNAL", f"--environment_config={POOL}"]),
        ("DataflowRunner", ["--environment_type=EXTERNAL", f"--environment_config={POOL}"]),
    ],
)
def test_other_environments_and_runners_are_not(runner, beam_args):
    # (Beam itself rejects the lowercase "external" as an unknown environment type.)
    assert checked_environment(runner, beam_args) is None


def test_the_reason_is_the_grpc_details_or_the_last_exception_line():
    grpc_failure = """Pipeline job-1 failed in state FAILED: Error running pipeline.
Traceback (most recent call last):
grpc._channel._InactiveRpcError: <_InactiveRpcError of RPC that terminated with:
\tstatus = StatusCode.UNAVAILABLE
\tdetails = "failed to connect to all addresses; last error: Connection refused"
>"""
    assert reason(grpc_failure) == (
        "failed to connect to all addresses; last error: Connection refused"
    )
    import_failure = """Traceback (most recent call last):
RuntimeError: Traceback (most recent call last):
  File "bundle_processor.py", line 1950, in _create_pardo_operation
ModuleNotFoundError: No module named 'components'

"""
    assert reason(import_failure) == "ModuleNotFoundError: No module named 'components'"
    assert reason("something odd\n") == "something odd"
