"""Child process of the hostile featurize test: three real Beam runs and their own peak memory.

Run as ``python -m tests.helpers.featurize_run GOOD_MANIFEST ALL_MANIFEST OUTPUT_DIR``. It runs
featurize's decode → features → shards Beam graph (``core.build_featurize``, FnApiRunner) on the
good clips alone twice, then on the good clips plus the hostile files, and prints one JSON line
with each run's seconds and peak resident memory. The first run only warms the process up: a
second Beam job in one process peaks up to ~150 MB above the first whatever its input (the
allocator's state, not the clips), so the hostile run is compared with the second good run.
Before each run the kernel's high-water mark is reset (``/proc/self/clear_refs``) and afterwards
read back (``VmHWM``), so each peak is that run's own and not the imports' (TensorFlow's import
peaks above the featurizer's steady state). ``resource.getrusage``'s ``ru_maxrss``, the whole
process's peak, is reported too; it cannot be reset, since exiting threads fold the peak they saw
into it.
"""

import json
import re
import resource
import sys
import time


def status_mb(key: str) -> float:
    """A memory line of ``/proc/self/status`` (``VmRSS``, ``VmHWM``), MiB."""
    with open("/proc/self/status") as handle:
        return int(re.search(rf"^{key}:\s+(\d+) kB", handle.read(), re.M).group(1)) / 1024


def reset_peak() -> bool:
    """Resets the peak RSS to the current RSS (Linux ≥ 4.0); whether it took effect."""
    try:
        with open("/proc/self/clear_refs", "w") as handle:
            handle.write("5")
    except OSError:
        return False
    return status_mb("VmHWM") - status_mb("VmRSS") < 16


def main(good_manifest: str, all_manifest: str, output_dir: str) -> None:
    """Runs both Beam jobs and prints the measurements."""
    import apache_beam as beam
    from apache_beam.options.pipeline_options import PipelineOptions

    from components.featurize import core
    from components.featurize.config import FeaturizeConfig

    measured: dict[str, object] = {"peak_rss_mb_imports": status_mb("VmHWM")}
    config = FeaturizeConfig()
    runs = (("warmup", good_manifest), ("good", good_manifest), ("all", all_manifest))
    for name, manifest in runs:
        measured[f"peak_reset_{name}"] = reset_peak()
        measured[f"rss_mb_start_{name}"] = round(status_mb("VmRSS"), 1)
        started = time.monotonic()
        options = PipelineOptions([f"--runner={config.runner}"])
        with beam.Pipeline(options=options) as pipeline:
            core.build_featurize(pipeline, manifest, f"{output_dir}/{name}", config)
        measured[f"seconds_{name}"] = round(time.monotonic() - started, 2)
        measured[f"peak_rss_mb_{name}"] = round(status_mb("VmHWM"), 1)
    measured["ru_maxrss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    print(json.dumps(measured))


if __name__ == "__main__":
    main(*sys.argv[1:4])
