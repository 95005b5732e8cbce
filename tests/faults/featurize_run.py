"""Child process of the hostile featurize test: two real Beam runs and their peak memory.

Run as ``python -m tests.faults.featurize_run GOOD_MANIFEST ALL_MANIFEST OUTPUT_DIR``. It runs
featurize's decode → features → shards Beam graph (``core.build_featurize``, FnApiRunner) first
on the good clips alone, then on the good clips plus the hostile files, and prints one JSON line
with each run's seconds and peak resident memory (``resource.getrusage``). Before each run the
kernel's high-water mark is reset (``/proc/self/clear_refs``), so each peak is that run's own,
not the imports' (TensorFlow's import alone peaks above the featurizer's steady state).
"""

import json
import resource
import sys
import time


def peak_rss_mb() -> float:
    """Peak resident set size of this process so far, MiB (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def reset_peak() -> bool:
    """Resets this process's peak RSS to its current RSS (Linux ≥ 4.0); False where unsupported."""
    try:
        with open("/proc/self/clear_refs", "w") as handle:
            handle.write("5")
    except OSError:
        return False
    return True


def main(good_manifest: str, all_manifest: str, output_dir: str) -> None:
    """Runs both Beam jobs and prints the measurements."""
    import apache_beam as beam
    from apache_beam.options.pipeline_options import PipelineOptions

    from components.featurize import core

    measured: dict[str, object] = {"peak_rss_mb_imports": peak_rss_mb()}
    config = core.FeaturizeConfig()
    for name, manifest in (("good", good_manifest), ("all", all_manifest)):
        measured["peak_reset"] = reset_peak()
        measured[f"rss_mb_start_{name}"] = peak_rss_mb()
        started = time.monotonic()
        options = PipelineOptions([f"--runner={config.runner}"])
        with beam.Pipeline(options=options) as pipeline:
            core.build_featurize(pipeline, manifest, f"{output_dir}/{name}", config)
        measured[f"seconds_{name}"] = round(time.monotonic() - started, 2)
        measured[f"peak_rss_mb_{name}"] = peak_rss_mb()
    print(json.dumps(measured))


if __name__ == "__main__":
    main(*sys.argv[1:4])
