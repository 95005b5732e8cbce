"""featurize's progress: the workers' counts, direct or through Beam's log service, summed."""

import logging

from components.featurize import progress


def _forwarded(text: str) -> None:
    """A worker process's line as Beam's local job service re-logs it in this process."""
    entry = f'severity: INFO timestamp {{ seconds: 1 }} message: "{text}" log_location: "x.py:1"'
    logging.getLogger(progress.BEAM_WORKER_LOGGER).info("Worker: %s", entry)


def test_the_workers_counts_are_summed_and_logged_at_most_every_few_seconds(caplog):
    caplog.set_level(logging.INFO)
    with progress.watching(total=300):
        _forwarded("featurize: worker 11.a handled 50 clips")
        progress._WORKERS.info("featurize: worker 12.b handled 40 clips")  # an in-process worker
        _forwarded("featurize: worker 11.a handled 120 clips")
        _forwarded("featurize: worker 12.b handled 180 clips")  # 300: the end is always said
        _forwarded("something else entirely")
    sums = [r.getMessage() for r in caplog.records if r.name == "root"]
    assert sums == ["featurize: 50/300 clips", "featurize: 300/300 clips"]
    logging.getLogger(progress.BEAM_WORKER_LOGGER).info("after: no handler listens")
    assert len([r for r in caplog.records if r.name == "root"]) == 2


def test_a_worker_counts_every_clip_and_logs_when_due(caplog, monkeypatch):
    caplog.set_level(logging.INFO)
    counter = progress.ClipCounter()
    for _ in range(3):
        counter.count()
    assert counter.clips == 3 and not caplog.records  # not yet EVERY_S seconds
    monkeypatch.setattr(progress, "EVERY_S", 0.0)
    counter.count()
    (record,) = caplog.records
    assert record.getMessage() == f"featurize: worker {counter.worker} handled 4 clips"
