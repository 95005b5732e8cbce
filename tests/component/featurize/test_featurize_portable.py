"""featurize on Beam's PortableRunner as Flink and Spark run it: LOOPBACK, then an EXTERNAL pool.

The portable path (the pipeline turned into its proto, sent to a job server, run by SDK workers
that unpickle the DoFns) must give what the in-process FnApiRunner gives: the same clips and dead
letter, the same examples and the same transform graph. The job server is Beam's embedded one
(``--job_endpoint=embed``); the EXTERNAL workers come from ``worker_pool_main`` processes on
127.0.0.1, the sidecar set-up of docs/runners.md. A pool whose workers cannot start (their
``python`` lacks Beam, or the project) must end featurize with a clear error within
``worker_start_timeout_s`` plus ``worker_check.GRACE_S``, where Beam alone waits forever.
"""

import json
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import tensorflow as tf
import tensorflow_transform as tft

from components.artifacts import files
from components.audio import examples
from components.featurize import core, worker_check
from tests.helpers.featurize_inputs import read_split, read_split_from, write_manifest
from tests.helpers.ports import free_port
from tests.helpers.worker_pool import bare_venv, venv_without_project, worker_pool

# One worker runs the module, so the module fixtures (reference run, worker pool) are built once.
pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("featurize_portable")]

EMBEDDED = ("--job_endpoint=embed",)
SPLITS = ("train", "validation", "test")
CHECK_TIMEOUT_S = 20.0  # a failing pool's bound here; the healthy check took 23 s at load ~12


def _external(address: str) -> tuple[str, ...]:
    return (*EMBEDDED, "--environment_type=EXTERNAL", f"--environment_config={address}")


def _featurize(manifest: str, out, runner: str, beam_args=(), **fields) -> core.FeaturizeResult:
    # One clip per featurizer call: the mn04 embedding's floats depend slightly on which clips
    # share a batch (up to 2.7e-6; 8.6e-5 after the z-score; two FnApiRunner runs 1.9e-5), and
    # each runner batches differently. The comparison is of runners, not of batchings.
    config = core.FeaturizeConfig(
        num_shards=1,
        batch_size=1,
        keep_raw=True,
        runner=runner,
        beam_args=tuple(beam_args),
        **fields,
    )
    return core.run(manifest, str(out), config)


@pytest.fixture(scope="module")
def inputs(tmp_path_factory):
    root = tmp_path_factory.mktemp("portable")
    manifest = write_manifest(root)
    # One worker process, as the embedded job server runs: with two, tf.Transform's sums merge
    # in another order and the z-scored embeddings move by up to 7.6e-6 (measured).
    reference = _featurize(manifest, root / "fnapi", "FnApiRunner", ["--direct_num_workers=1"])
    return root, manifest, reference


@pytest.fixture(scope="module")
def project_pool(tmp_path_factory):
    """A worker pool whose workers run this venv's Python, which has the project."""
    with worker_pool(Path(sys.prefix), tmp_path_factory.mktemp("pool")) as address:
        yield address


def _by_clip(rows: list[dict]) -> dict[bytes, dict]:
    return {row[examples.CLIP_ID]: row for row in rows}


def _assert_close(ours, theirs, key: str) -> None:
    ours, theirs = np.asarray(ours), np.asarray(theirs)
    if ours.dtype.kind in "SUO":  # clip and source ids
        np.testing.assert_array_equal(ours, theirs, err_msg=key)
    else:
        np.testing.assert_allclose(ours, theirs, rtol=0, atol=1e-5, err_msg=key)


def _assert_same_outputs(out, reference_out) -> None:
    for name in ("dead_letter.jsonl", "clip_stats.jsonl"):
        ours = sorted(files.read_jsonl(str(out / name)), key=json.dumps)
        assert ours == sorted(files.read_jsonl(str(reference_out / name)), key=json.dumps), name
    raw_train = read_split_from(reference_out / "raw", "train")
    graphs = [
        tft.TFTransformOutput(str(folder / "transform_graph")) for folder in (out, reference_out)
    ]
    batch = {key: tf.constant(np.stack([row[key] for row in raw_train])) for key in raw_train[0]}
    ours, theirs = (graph.transform_raw_features(batch) for graph in graphs)
    assert ours.keys() == theirs.keys()
    for key in ours:
        _assert_close(ours[key].numpy(), theirs[key].numpy(), key)
    for split in SPLITS:
        for read, folder in ((read_split, "."), (read_split_from, "raw")):
            mine = _by_clip(read(out / folder, split))
            reference = _by_clip(read(reference_out / folder, split))
            assert mine.keys() == reference.keys() and mine, (split, folder)
            for clip, row in mine.items():
                for key, value in row.items():
                    _assert_close(value, reference[clip][key], f"{folder} {split} {key}")


def test_loopback_workers_give_the_fnapi_runners_outputs(inputs, tmp_path):
    root, manifest, reference = inputs
    started = time.monotonic()
    result = _featurize(
        manifest, tmp_path, "PortableRunner", (*EMBEDDED, "--environment_type=LOOPBACK")
    )
    print(f"PortableRunner LOOPBACK: {time.monotonic() - started:.1f} s")
    assert (
        result.clips_per_split
        == reference.clips_per_split
        == {
            "train": 8,
            "validation": 4,
            "test": 4,
        }
    )
    assert result.dead_letter_per_reason == reference.dead_letter_per_reason
    _assert_same_outputs(tmp_path, root / "fnapi")


def test_an_external_worker_pool_gives_the_fnapi_runners_outputs(inputs, project_pool, tmp_path):
    root, manifest, reference = inputs
    started = time.monotonic()
    result = _featurize(manifest, tmp_path, "PortableRunner", _external(project_pool))
    print(f"PortableRunner EXTERNAL (check job included): {time.monotonic() - started:.1f} s")
    assert result.clips_per_split == reference.clips_per_split
    assert result.dead_letter_per_reason == reference.dead_letter_per_reason
    _assert_same_outputs(tmp_path, root / "fnapi")


def _fails_within_the_bound(manifest: str, out, address: str) -> worker_check.WorkerStartError:
    started = time.monotonic()
    with pytest.raises(worker_check.WorkerStartError) as raised:
        _featurize(
            manifest,
            out,
            "PortableRunner",
            _external(address),
            worker_start_timeout_s=CHECK_TIMEOUT_S,
        )
    assert time.monotonic() - started < CHECK_TIMEOUT_S + worker_check.GRACE_S
    assert address in str(raised.value)
    assert not out.exists(), "nothing may start (or be cleared) on a pool that failed the check"
    return raised.value


def _fails_on_a_pool_of(environment, manifest: str, tmp_path) -> tuple[str, str]:
    """featurize against a pool whose workers are ``environment``'s: its error and pool log."""
    pool_dir = tmp_path / "pool"
    pool_dir.mkdir()
    with worker_pool(environment, pool_dir) as address:
        error = _fails_within_the_bound(manifest, tmp_path / "out", address)
    (log,) = pool_dir.glob("worker_pool_*.log")
    return str(error), log.read_text()


@pytest.mark.timeout(300)  # the hang guard: without the check this test never ends
def test_a_pool_whose_python_lacks_beam_is_an_error_within_the_timeout(inputs, tmp_path):
    error, log = _fails_on_a_pool_of(bare_venv(tmp_path / "bare"), inputs[1], tmp_path)
    assert f"within {CHECK_TIMEOUT_S:g} s" in error
    assert "--worker-start-timeout-s" in error
    assert "No module named 'apache_beam'" in log  # the scenario: its workers died so


@pytest.mark.timeout(300)
def test_a_pool_whose_python_lacks_the_project_is_an_error_naming_the_module(inputs, tmp_path):
    environment = venv_without_project(tmp_path / "no-project")
    error, log = _fails_on_a_pool_of(environment, inputs[1], tmp_path)
    assert "failed: ModuleNotFoundError: No module named 'components'" in error
    assert "No module named 'components'" in log


@pytest.mark.timeout(300)
def test_no_pool_at_the_address_is_an_error_within_the_timeout(inputs, tmp_path):
    error = _fails_within_the_bound(inputs[1], tmp_path / "out", f"localhost:{free_port()}")
    assert "Connection refused" in str(error)
