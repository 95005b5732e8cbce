"""How long each step's pod may run on a cluster, and how often a failed step is tried again.

A pod past its deadline is stopped by Kubernetes (``activeDeadlineSeconds``, set through
``kfp.kubernetes.set_timeout`` in the package's Kubernetes platform spec), so a hung Dataflow
submission or a tuner trial that never ends frees its node instead of holding it for ever.
``TIMEOUT_HOURS`` are the defaults, sized from docs/scaling.md for the study's full FSD50K run
(see docs/cluster.md for the reasoning per step); ``--task-timeout STEP=HOURS`` on ``compile``
and ``submit`` changes one. ``RETRIES`` are fixed per step: only where a second attempt can
succeed (a transient storage read, a Dataflow submission, a lost or preempted node; training
resumes from its checkpoints), never where the same input would fail the same way again
(baselines, evaluate), nor for deploy, whose second attempt could publish a second version. A
retry is a new pod with its own deadline. A local run (``LOCAL_LIMITS``) retries nothing: on one
machine a failure is not a lost node, and a rerun resumes from kfp.local's cache. Vertex AI runs
no Kubernetes platform spec: it keeps the retries (they are part of the pipeline spec) but not
the deadlines (``pipelines.vertex``). Free of KFP, so ``--help`` stays fast.
"""

from dataclasses import dataclass, field

TIMEOUT_HOURS: dict[str, float] = {
    "ingest": 1,
    "rebalance": 1,
    "featurize": 6,
    "reading": 0.5,  # the tasks that list the families and baselines the feature sets feed
    "train": 72,
    "baselines": 24,
    "evaluate": 6,
    "deploy": 2,
}
RETRIES: dict[str, int] = {
    "ingest": 2,
    "rebalance": 2,
    "featurize": 1,
    "reading": 2,
    "train": 1,
    "baselines": 0,
    "evaluate": 0,
    "deploy": 0,
}
RETRY_BACKOFF = "60s"


@dataclass(frozen=True)
class TaskLimits:
    """Per-step deadlines: the defaults, with ``task_timeout`` (``STEP=HOURS`` items) over them."""

    task_timeout: tuple[str, ...] = field(
        default=(),
        metadata={
            "help": "a step's pod deadline in hours, repeatable (defaults: "
            + ", ".join(f"{step}={hours:g}" for step, hours in TIMEOUT_HOURS.items())
            + "; 0: none)",
            "metavar": "STEP=HOURS",
        },
    )

    retries: bool = True  # False: no step is tried again (a local run: nothing transient)

    def __post_init__(self) -> None:
        self.hours()

    def hours(self) -> dict[str, float]:
        """Every step's deadline in hours (0: none).

        Raises:
            ValueError: An item that is not ``STEP=HOURS`` with a known step and hours >= 0.
        """
        hours = dict(TIMEOUT_HOURS)
        for item in self.task_timeout:
            step, _, value = item.partition("=")
            try:
                hours[step] = float(value) if step in TIMEOUT_HOURS else -1.0
            except ValueError:
                hours[step] = -1.0
            if hours[step] < 0:
                steps = ", ".join(TIMEOUT_HOURS)
                raise ValueError(
                    f"--task-timeout {item!r}: expected STEP=HOURS (>= 0), STEP in {steps}"
                )
        return hours

    def seconds(self, step: str) -> int:
        """``step``'s deadline in whole seconds (0: none)."""
        return round(self.hours()[step] * 3600)


DEFAULT_LIMITS = TaskLimits()
LOCAL_LIMITS = TaskLimits(retries=False)
