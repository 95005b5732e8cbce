"""Which featurize runs get the worker check, and the reason it gives from Beam's errors.

The check job itself (a pool without Beam, without the project, no pool at all, and a healthy
pool) runs in ``tests/component/featurize/test_featurize_portable.py``.
"""

import pytest

from components.featurize.worker_check import external_pool, reason

POOL = "localhost:50000"


@pytest.mark.parametrize(
    ("runner", "beam_args"),
    [
        (
            "PortableRunner",
            ["--job_endpoint=embed", "--environment_type=EXTERNAL", f"--environment_config={POOL}"],
        ),
        ("FlinkRunner", ["--environment_type", "EXTERNAL", "--environment_config", POOL]),
        (
            "SparkRunner",
            [
                "--environment_type=beam:env:external:v1",
                f'--environment_config={{"url": "{POOL}", "params": {{}}}}',
            ],
        ),
        (
            "PortableRunner",
            [
                "--environment_type=EXTERNAL",
                f"--environment_options=external_service_address={POOL}",
            ],
        ),
    ],
)
def test_an_external_environment_of_a_portable_runner_is_checked(runner, beam_args):
    assert external_pool(runner, beam_args) == POOL


@pytest.mark.parametrize(
    ("runner", "beam_args"),
    [
        ("PortableRunner", ["--job_endpoint=embed", "--environment_type=LOOPBACK"]),
        ("FlinkRunner", ["--flink_master=jm:8081"]),  # the Docker default
        ("PortableRunner", ["--environment_type=PROCESS", "--environment_config={}"]),
        ("FnApiRunner", ["--environment_type=EXTERNAL", f"--environment_config={POOL}"]),
        ("DataflowRunner", ["--environment_type=EXTERNAL", f"--environment_config={POOL}"]),
    ],
)
def test_other_environments_and_runners_are_not(runner, beam_args):
    assert external_pool(runner, beam_args) is None


def test_the_reason_is_the_grpc_details_or_the_last_exception_line():
    grpc_failure = """Pipeline job-1 failed in state FAILED: Error running pipeline.
Traceback (most recent call last):
grpc._channel._InactiveRpcError: <_InactiveRpcError of RPC that terminated with:
\tstatus = StatusCode.UNAVAILABLE
\tdetails = "failed to connect to all addresses; last error: Connection refused"
>"""
    assert (
        reason(grpc_failure) == "failed to connect to all addresses; last error: Connection refused"
    )
    import_failure = """Traceback (most recent call last):
RuntimeError: Traceback (most recent call last):
  File "bundle_processor.py", line 1950, in _create_pardo_operation
ModuleNotFoundError: No module named 'components'

"""
    assert reason(import_failure) == "ModuleNotFoundError: No module named 'components'"
    assert reason("something odd\n") == "something odd"
