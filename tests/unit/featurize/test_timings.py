"""A Beam job's timings: the DoFns' distributions, per-transform seconds, labels without splits."""

import time

import apache_beam as beam

from components.featurize import timings


class _Timed(beam.DoFn):
    def process(self, value: int):
        time.sleep(value / 20)  # sampled by the runner's state sampler: 0.6 s in all
        timings.record("work_us", value / 1000)  # value ms
        beam.metrics.Metrics.distribution(timings.NAMESPACE, "batch_clips").update(value)
        yield value


def test_summarize_reads_the_dofns_distributions_and_the_transforms_seconds():
    with beam.Pipeline(runner="FnApiRunner") as pipeline:
        _ = pipeline | beam.Create([2, 4, 6]) | "Workvalidation" >> beam.ParDo(_Timed())
    summary = timings.summarize(pipeline.result, 1.234)
    assert summary["seconds"] == 1.23
    assert summary["dofns"]["work_us"] == {
        "count": 3,
        "total_s": 0.012,
        "mean_ms": 4.0,
        "max_ms": 6.0,
    }
    assert summary["dofns"]["batch_clips"] == {"count": 3, "total": 12, "mean": 4.0}
    # the runner's sampled execution time, under the label without its split
    assert 0.4 < summary["transforms_s"]["Work"] < 5
    assert "Workvalidation" not in summary["transforms_s"]


def test_a_stage_is_its_top_level_label_without_the_split():
    assert timings._stage("WriteRawtrain/Write/WriteImpl") == "WriteRaw"
    assert timings._stage("Features") == "Features"
    assert timings._stage("train") == "train"


def test_process_age_is_this_processes_lifetime_so_far():
    age = timings.process_age_s()
    assert age is not None and 0 < age < 24 * 3600
