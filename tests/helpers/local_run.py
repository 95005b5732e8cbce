"""A stand-in for ``pipelines.local.run``: what ``household-sounds run`` would have run, no work."""

import pytest


def record_local_runs(monkeypatch: pytest.MonkeyPatch) -> dict[str, object]:
    """Replaces ``local.run``; returns the dict its calls fill (arguments, run_dir, cache...)."""
    from pipelines import local

    seen: dict[str, object] = {}

    def fake_run(pipeline_func, run_dir, arguments, cache, verbose=False, runner=None):
        seen.update(arguments, run_dir=run_dir, cache=cache, verbose=verbose, runner=runner)
        seen.update(pipeline=pipeline_func)
        return local.LocalRun(run_dir, "kfp", 0.0, {})

    monkeypatch.setattr(local, "run", fake_run)
    return seen
