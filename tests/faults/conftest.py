"""Fault-suite fixture: the record each test writes of what it tried.

Every fault test fills ``fault_record`` (a dict) with what it tried: ``inputs`` (files or
mutations fed in), ``faults`` (kills injected), ``requests`` (sent to a server), ``crashes``
(server deaths or answers other than the expected ones) and ``lost`` (clips or versions lost or
seen half-written), plus free-form ``details``. At teardown the record, with the test's outcome
and duration, is written as ``<test name>.json`` to ``$FAULTS_REPORT_DIR`` (what
``benchmarks/reliability.py`` sets and tabulates) or, without it, to the session's temporary
directory. The served model is the one the serving tests share (``tests/conftest.py``'s session
fixtures: a small CNN trained on 24 synthetic clips, exported by the deploy step).
"""

import json
import os
import time

import pytest

REPORT_DIR_ENV = "FAULTS_REPORT_DIR"
_REPORTS = pytest.StashKey[dict]()


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item, call):
    """Keeps each phase's report on the item, so the record can say how the test ended."""
    report = yield
    item.stash.setdefault(_REPORTS, {})[report.when] = report
    return report


@pytest.fixture
def fault_record(request, tmp_path_factory):
    """A dict the test fills; written as JSON when the test ends (see the module docstring)."""
    record = {"inputs": 0, "faults": 0, "requests": 0, "crashes": 0, "lost": 0, "details": {}}
    started = time.monotonic()
    yield record
    call = request.node.stash.get(_REPORTS, {}).get("call")
    record["test"] = request.node.name
    record["outcome"] = call.outcome if call is not None else "error"
    record["seconds"] = round(time.monotonic() - started, 1)
    directory = os.environ.get(REPORT_DIR_ENV) or str(
        tmp_path_factory.getbasetemp() / "fault-records"
    )
    os.makedirs(directory, exist_ok=True)
    with open(os.path.join(directory, f"{request.node.name}.json"), "w") as handle:
        json.dump(record, handle, indent=1, sort_keys=True)
