"""``submit`` passes the data's fingerprint, so a cluster caches ingest exactly when it should.

The data lies in a GCS emulator (``tests/helpers/gcs.py``: gcp-storage-emulator on 127.0.0.1)
and the run goes to a fake KFP REST API (``tests/helpers/fake_kfp.py``): the tests see the
exact ``data_fingerprint`` a cluster would get, run after run, as the objects change.
"""

from collections.abc import Iterator
from pathlib import Path

import pytest

from cli import main as cli
from components.ingest.fingerprint import fingerprint
from pipelines.compile import compile_pipeline
from tests.helpers.fake_kfp import FakeKfp, serve
from tests.helpers.gcs import gcs_emulator
from tests.helpers.usage import usage_error

pytestmark = [pytest.mark.xdist_group("infra"), pytest.mark.slow]  # a compile and an emulator
IMAGE = "registry.example.com/team/household-sounds:abc1234"


@pytest.fixture(scope="module")
def bucket(tmp_path_factory: pytest.TempPathFactory) -> Iterator:
    from google.cloud import storage

    with pytest.MonkeyPatch.context() as patch, gcs_emulator(tmp_path_factory.mktemp("gcs")) as env:
        for name, value in env.items():
            patch.setenv(name, value)
        data = storage.Client().bucket("data")
        for name in ("ds/FSD50K.metadata/dev.json", "ds/audio/1.wav", "ds/manifest.csv"):
            data.blob(name).upload_from_string(b"RIFF" + name.encode())
        data.blob("dsx/not-under-ds.wav").upload_from_string(b"RIFF")
        yield data


@pytest.fixture(scope="module")
def package(tmp_path_factory: pytest.TempPathFactory) -> str:
    return compile_pipeline(str(tmp_path_factory.mktemp("pkg") / "pipeline.yaml"), image=IMAGE)


@pytest.fixture
def fake_kfp(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[FakeKfp]:
    monkeypatch.setenv("HOME", str(tmp_path))  # not the user's ~/.config/kfp/context.json
    for var in ("KF_PIPELINES_ENDPOINT", "KFP_TOKEN", "KFP_COOKIES"):
        monkeypatch.delenv(var, raising=False)
    fake = FakeKfp()
    server = serve(fake)
    yield fake
    server.shutdown()


def test_a_gcs_fingerprint_follows_names_sizes_and_generations(bucket):
    before = fingerprint("gs://data/ds")
    assert fingerprint("gs://data/ds/") == before == fingerprint("gs://data/ds/manifest.csv")
    bucket.blob("dsx/another.wav").upload_from_string(b"RIFF")  # beside the prefix, not in it
    assert fingerprint("gs://data/ds") == before
    bucket.blob("ds/audio/1.wav").upload_from_string(b"RIFFds/audio/1.wav")  # same bytes, new gen
    rewritten = fingerprint("gs://data/ds")
    assert rewritten != before
    bucket.blob("ds/audio/2.wav").upload_from_string(b"RIFF")
    assert fingerprint("gs://data/ds") not in (before, rewritten)
    bucket.blob("ds/audio/2.wav").delete()
    assert fingerprint("gs://data/ds") == rewritten
    with pytest.raises(FileNotFoundError, match="no objects under it"):
        fingerprint("gs://data/nothing-here")
    with pytest.raises(FileNotFoundError, match="no such bucket"):
        fingerprint("gs://no-such-bucket/ds")


def _pipeline_spec(body: dict) -> dict:
    """The pipeline spec a run request carries (kfp sends it beside the platform spec)."""
    return body["pipeline_spec"]["pipeline_spec"]


def _submitted(fake: FakeKfp) -> tuple[dict, dict]:
    """The last run's parameters and its pipeline spec's ingest task."""
    body = fake.requests[-1].body
    tasks = _pipeline_spec(body)["root"]["dag"]["tasks"]
    return body["runtime_config"]["parameters"], tasks["ingest"]


def test_submit_sends_the_fingerprint_so_unchanged_data_is_a_cache_hit(
    bucket, package, fake_kfp, capsys
):
    argv = ["submit", "--host", fake_kfp.url, "--package", package]
    argv += ["--param", "data_root=gs://data/ds"]
    assert cli.main(argv) == 0
    first, ingest = _submitted(fake_kfp)
    assert first["data_fingerprint"] == fingerprint("gs://data/ds")
    assert ingest["cachingOptions"] == {"enableCache": True}
    assert ingest["inputs"]["parameters"]["data_fingerprint"] == {
        "componentInputParameter": "data_fingerprint"
    }
    assert cli.main(argv) == 0  # nothing changed: the same key, so KFP reuses ingest and after
    assert _submitted(fake_kfp)[0]["data_fingerprint"] == first["data_fingerprint"]

    bucket.blob("ds/audio/3.wav").upload_from_string(b"RIFF")  # new data: a new key
    assert cli.main(argv) == 0
    assert _submitted(fake_kfp)[0]["data_fingerprint"] != first["data_fingerprint"]

    assert cli.main([*argv, "--param", "data_fingerprint=rerun-1"]) == 0  # forcing a rerun
    assert _submitted(fake_kfp)[0]["data_fingerprint"] == "rerun-1"

    assert cli.main([*argv, "--caching", "off"]) == 0
    assert _submitted(fake_kfp)[1]["cachingOptions"] == {}
    capsys.readouterr()


def test_a_recurring_run_never_caches_ingest(bucket, package, fake_kfp, capsys):
    argv = ["submit", "--host", fake_kfp.url, "--package", package, "--cron", "0 0 3 * * 1"]
    assert cli.main([*argv, "--param", "data_root=gs://data/ds"]) == 0
    body = fake_kfp.requests[-1].body
    assert body["runtime_config"]["parameters"]["data_fingerprint"] == ""
    tasks = _pipeline_spec(body)["root"]["dag"]["tasks"]
    assert tasks["ingest"]["cachingOptions"] == {}
    assert tasks["rebalance"]["cachingOptions"] == {"enableCache": True}
    capsys.readouterr()


def test_data_this_machine_cannot_read_is_a_usage_error_with_the_way_out(
    package, fake_kfp, tmp_path, capsys
):
    argv = ["submit", "--host", fake_kfp.url, "--package", package]
    argv += ["--param", "data_root=/mnt/household-sounds/data/demo"]
    line = usage_error(argv)
    assert "--fingerprint-from" in line and "--param data_fingerprint=" in line
    assert fake_kfp.requests == [], "nothing is sent"
    copy = tmp_path / "copy"
    (copy / "audio").mkdir(parents=True)
    (copy / "audio" / "1.wav").write_bytes(b"RIFF")
    assert cli.main([*argv, "--fingerprint-from", str(copy)]) == 0  # kind's host folder
    assert _submitted(fake_kfp)[0]["data_fingerprint"] == fingerprint(str(copy))
    assert "--param data_root=" in usage_error(
        ["submit", "--host", fake_kfp.url, "--package", package]
    )
    assert cli.main(["fingerprint", "--data-root", str(copy)]) == 0
    assert fingerprint(str(copy)) in capsys.readouterr().out


def test_the_fingerprint_covers_every_data_root(bucket, package, fake_kfp, capsys):
    more = '[{"data_root": "gs://data/dsx", "data_format": "manifest"}]'
    argv = ["submit", "--host", fake_kfp.url, "--package", package]
    argv += ["--param", "data_root=gs://data/ds", "--param", f"more_data_roots={more}"]
    assert cli.main(argv) == 0
    sent = _submitted(fake_kfp)[0]["data_fingerprint"]
    assert sent == fingerprint("gs://data/ds", "gs://data/dsx") != fingerprint("gs://data/ds")
    bucket.blob("dsx/another.wav").upload_from_string(b"RIFF")  # only the second root changes
    assert cli.main(argv) == 0
    assert _submitted(fake_kfp)[0]["data_fingerprint"] != sent
    capsys.readouterr()
