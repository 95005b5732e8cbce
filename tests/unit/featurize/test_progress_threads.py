"""Worker threads of this process (the local default) report progress even when the root logger
only passes warnings: their counts reach the progress handler as worker processes' lines do."""

import logging

from components.featurize import progress


def test_in_process_workers_counts_reach_the_handler_under_a_warning_root(monkeypatch):
    root = logging.getLogger()
    monkeypatch.setattr(root, "level", logging.WARNING)
    monkeypatch.setattr(progress, "EVERY_S", 0.0)
    counter = progress.ClipCounter()
    with progress.watching(total=10) as watched:
        for _ in range(4):
            counter.count()
    assert watched.counts == {counter.worker: 4}
    assert progress._WORKERS.level == logging.NOTSET  # restored
