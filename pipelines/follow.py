"""Follow a submitted run to its final state: what ``household-sounds submit --wait`` does.

``follow`` polls a state getter until the state is final, reporting each change on stderr, and
returns an ``Outcome`` whose ``exit_code`` the command exits with: 0 when the run succeeded, 1
when it ended any other way (failed, canceled, skipped), 124 when ``timeout_s`` passed first
(the code of coreutils' ``timeout``). The same loop serves Kubeflow Pipelines (state names of
the v2beta1 API) and Vertex AI Pipelines (``PIPELINE_STATE_*``). It is written here rather than
taken from ``kfp.Client.wait_for_run_completion``, which in kfp 2.17 does not treat CANCELED as
final (a canceled run would be waited on until the timeout) and cannot report progress.
"""

import sys
import time
from collections.abc import Callable
from dataclasses import dataclass

TIMED_OUT = 124


@dataclass(frozen=True)
class States:
    """A backend's final states and which of them is success."""

    final: frozenset[str]
    success: str


KFP = States(frozenset({"SUCCEEDED", "FAILED", "CANCELED", "SKIPPED"}), "SUCCEEDED")
VERTEX = States(
    frozenset({"PIPELINE_STATE_SUCCEEDED", "PIPELINE_STATE_FAILED", "PIPELINE_STATE_CANCELLED"}),
    "PIPELINE_STATE_SUCCEEDED",
)


@dataclass(frozen=True)
class Outcome:
    """Where following a run ended: its last state, the seconds waited, the exit code."""

    state: str
    waited_s: float
    exit_code: int

    @property
    def message(self) -> str:
        """One line for the user: what happened and what the exit code means."""
        if self.exit_code == TIMED_OUT:
            return f"still {self.state} after {self.waited_s:.0f} s (timed out)"
        return f"{self.state} after {self.waited_s:.0f} s"


def follow(
    get_state: Callable[[], str],
    states: States,
    *,
    poll_s: float,
    timeout_s: float | None = None,
    label: str = "run",
) -> Outcome:
    """Polls ``get_state`` every ``poll_s`` until a final state or ``timeout_s`` (None: never)."""
    start = time.monotonic()
    last = None
    while True:
        state = get_state()
        if state != last:
            print(f"household-sounds: {label}: {state}", file=sys.stderr, flush=True)
            last = state
        waited = time.monotonic() - start
        if state in states.final:
            return Outcome(state, waited, 0 if state == states.success else 1)
        if timeout_s is not None and waited >= timeout_s:
            return Outcome(state, waited, TIMED_OUT)
        time.sleep(poll_s if timeout_s is None else max(0.0, min(poll_s, timeout_s - waited)))
