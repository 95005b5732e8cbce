"""Progress over clips while featurize's first Beam pass decodes them, summed over its workers.

Every ``DecodeClip`` counts the clips it has handled (decoded or dead-lettered) and, at most every
``EVERY_S`` seconds, logs ``featurize: worker <id> handled <n> clips`` on this module's logger (a
line for ``ClipProgress``, not for people: the command line shows the root logger's lines). A worker
thread in this process (the local default) logs straight there; a worker process of the
multi-process FnApiRunner logs through Beam's logging service, which this process re-logs (``Worker:
<log entry>``, on the ``local_job_service`` logger) with the same words inside. ``watching(total)``
passes both loggers' INFO lines for the length of the pass, whatever the root logger's level,
listens to them and logs the sum, ``featurize: 400/1240 clips``, at most every ``EVERY_S`` seconds
(and when the sum reaches the total). A remote runner's workers log to their own service (Dataflow's
console shows their progress); nothing comes back here for them.
"""

import contextlib
import logging
import os
import re
import threading
import time
from collections.abc import Iterator

EVERY_S = 10.0
_WORKERS = logging.getLogger(__name__)
_WORKER_LINE = re.compile(r"featurize: worker (?P<worker>\S+) handled (?P<clips>\d+) clips")
BEAM_WORKER_LOGGER = "apache_beam.runners.portability.local_job_service"


class ClipCounter:
    """One worker's count of the clips it handled, logged at most every ``EVERY_S`` seconds."""

    def __init__(self) -> None:
        self.worker = f"{os.getpid()}.{id(self):x}"
        self.clips = 0
        self._logged = time.monotonic()

    def count(self) -> None:
        """One more clip handled."""
        self.clips += 1
        if time.monotonic() - self._logged >= EVERY_S:
            self._logged = time.monotonic()
            _WORKERS.info("featurize: worker %s handled %d clips", self.worker, self.clips)


class ClipProgress(logging.Handler):
    """Sums the workers' latest counts and logs ``featurize: <sum>/<total> clips``."""

    def __init__(self, total: int) -> None:
        super().__init__(logging.INFO)
        self.total = total
        self.counts: dict[str, int] = {}
        self._logged = 0.0
        self._lock = threading.Lock()

    def emit(self, record: logging.LogRecord) -> None:
        """Takes a worker's count from ``record``, if it carries one."""
        found = _WORKER_LINE.search(record.getMessage())
        if not found:
            return
        with self._lock:
            self.counts[found["worker"]] = int(found["clips"])
            handled = sum(self.counts.values())
            due = time.monotonic() - self._logged >= EVERY_S or handled >= self.total
            if due:
                self._logged = time.monotonic()
        if due:
            logging.info("featurize: %d/%d clips", handled, self.total)


@contextlib.contextmanager
def watching(total: int) -> Iterator[ClipProgress]:
    """Logs the workers' summed progress over ``total`` clips while the block runs."""
    progress = ClipProgress(total)
    root = logging.getLogger()
    workers = (logging.getLogger(BEAM_WORKER_LOGGER), _WORKERS)  # other processes', this one's
    levels = [logger.level for logger in workers]
    for logger in workers:
        logger.setLevel(logging.INFO)  # the workers' INFO lines must reach root's handlers
    root.addHandler(progress)
    try:
        yield progress
    finally:
        root.removeHandler(progress)
        for logger, level in zip(workers, levels, strict=True):
            logger.setLevel(level)
