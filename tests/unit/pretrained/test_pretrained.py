"""The weights cache: provisioning from folders and from a loopback HTTP server, sha256 checks.

A toy backbone (two candidate weight files and a class map, a few bytes each) stands in for the
catalog, so every path runs in milliseconds: an existing cache, a download (served by
``http.server`` on 127.0.0.1), a local folder, the preference between sources, corrupted and
missing files, and the command line on the real catalog with ../shared's files.
"""

import hashlib
import http.server
import json
import threading
from pathlib import Path

import pytest

from cli import main as cli
from components.pretrained import cache, provision
from components.pretrained.catalog import BACKBONES, Asset, Backbone, Source
from tests.helpers.paths import SHARED

BEST, FALLBACK, CLASSES = b"float weights", b"int8 weights", b"index,name\n0,Speech\n"


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _toy(url: str | None = None) -> Backbone:
    return Backbone(
        "toy",
        (
            Asset(
                "weights",
                (
                    Source("best.h5", _sha(BEST), f"{url}/best.h5" if url else None),
                    Source("fallback.tflite", _sha(FALLBACK)),
                ),
            ),
            Asset("class_map", (Source("classes.csv", _sha(CLASSES), None),)),
        ),
        notice="toy licence\n",
    )


@pytest.fixture
def server(tmp_path):
    """A loopback HTTP server over ``tmp_path / "www"``: yields (base URL, folder)."""
    root = tmp_path / "www"
    root.mkdir()

    class Handler(http.server.SimpleHTTPRequestHandler):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, directory=str(root), **kwargs)

        def log_message(self, *args):
            pass

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}", root
    httpd.shutdown()
    httpd.server_close()


def _folder(tmp_path: Path, files: dict[str, bytes], nested: str = "") -> Path:
    folder = tmp_path / "offline"
    (folder / nested).mkdir(parents=True, exist_ok=True)
    for name, data in files.items():
        (folder / nested / name).write_bytes(data)
    return folder


def test_a_local_folder_fills_the_cache_and_a_second_run_keeps_it(tmp_path):
    local = _folder(tmp_path, {"fallback.tflite": FALLBACK, "classes.csv": CLASSES}, "toy")
    lines: list[str] = []
    done = provision.provision([_toy()], cache=tmp_path / "c", local_dirs=[local], log=lines.append)
    assert [(p.file, p.how) for p in done] == [
        ("fallback.tflite", "copied"),
        ("classes.csv", "copied"),
    ]
    assert (tmp_path / "c/toy/NOTICE").read_text() == "toy licence\n"
    path, source = cache.locate(_toy(), "weights", tmp_path / "c")
    assert (path.read_bytes(), source.name) == (FALLBACK, "fallback.tflite")
    again = provision.provision([_toy()], cache=tmp_path / "c", local_dirs=[], log=lines.append)
    assert {p.how for p in again} == {"cached"}
    assert not list((tmp_path / "c/toy").glob("*.part"))


def test_the_official_url_is_preferred_and_checked(tmp_path, server):
    url, www = server
    (www / "best.h5").write_bytes(BEST)
    local = _folder(tmp_path, {"fallback.tflite": FALLBACK, "classes.csv": CLASSES})
    done = provision.provision(
        [_toy(url)], cache=tmp_path / "c", local_dirs=[local], log=lambda _: None
    )
    assert (done[0].file, done[0].how, done[0].origin) == (
        "best.h5",
        "downloaded",
        f"{url}/best.h5",
    )
    path, _ = cache.locate(_toy(url), "weights", tmp_path / "c")
    assert path.name == "best.h5" and path.read_bytes() == BEST


def test_a_wrong_download_never_lands_and_the_local_copy_is_used(tmp_path, server):
    url, www = server
    (www / "best.h5").write_bytes(b"tampered")
    local = _folder(tmp_path, {"fallback.tflite": FALLBACK, "classes.csv": CLASSES})
    lines: list[str] = []
    done = provision.provision(
        [_toy(url)], cache=tmp_path / "c", local_dirs=[local], log=lines.append
    )
    assert done[0].file == "fallback.tflite"
    assert not (tmp_path / "c/toy/best.h5").exists()
    assert any("sha256" in line and _sha(b"tampered") in line for line in lines)


def test_what_cannot_be_had_is_one_error_after_the_rest_is_provisioned(tmp_path, server):
    url, _ = server  # serves nothing: 404
    local = _folder(tmp_path, {"classes.csv": CLASSES, "fallback.tflite": b"not it"})
    with pytest.raises(cache.WeightsError) as error:
        provision.provision(
            [_toy(url)], cache=tmp_path / "c", local_dirs=[local], log=lambda _: None
        )
    message = str(error.value)
    assert "toy weights (best.h5 or fallback.tflite)" in message and "404" in message
    assert "--from DIR" in message
    assert (tmp_path / "c/toy/classes.csv").read_bytes() == CLASSES  # the rest was provisioned


def test_a_corrupted_cached_file_is_refused_at_use_and_replaced_by_provisioning(tmp_path):
    local = _folder(tmp_path, {"fallback.tflite": FALLBACK, "classes.csv": CLASSES})
    provision.provision([_toy()], cache=tmp_path / "c", local_dirs=[local], log=lambda _: None)
    cached = tmp_path / "c/toy/fallback.tflite"
    cached.write_bytes(b"int8 weightz")
    with pytest.raises(cache.WeightsError, match="sha256 .* expected .*household-sounds weights"):
        cache.locate(_toy(), "weights", tmp_path / "c")
    provision.provision([_toy()], cache=tmp_path / "c", local_dirs=[local], log=lambda _: None)
    assert cached.read_bytes() == FALLBACK


def test_a_missing_file_names_the_command_that_fixes_it(tmp_path):
    with pytest.raises(cache.WeightsError, match=r"not found in .*`household-sounds weights`"):
        cache.locate(_toy(), "class_map", tmp_path)


def test_the_cache_location_is_overridable(monkeypatch, tmp_path):
    monkeypatch.setenv(cache.ENV_VAR, str(tmp_path / "w"))
    assert cache.cache_dir() == tmp_path / "w"
    monkeypatch.delenv(cache.ENV_VAR)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert cache.cache_dir() == tmp_path / "xdg/household-sounds/weights"


def test_the_command_fills_a_cache_offline_from_shared(tmp_path, capsys):
    models = SHARED / "models"
    if not models.is_dir():
        pytest.skip("../shared/models is not present")
    argv = ["weights", "--offline", "--cache", str(tmp_path / "c")]
    assert cli.main(argv + ["--from", str(models)]) == 0
    answer = json.loads(capsys.readouterr().out)
    files = {entry["file"] for entry in answer["files"]}
    assert files == {s.name for b in BACKBONES for a in b.assets for s in a.sources[-1:]}
    for backbone in BACKBONES:
        assert (tmp_path / "c" / backbone.name / "NOTICE").is_file()
        assert len(cache.provenance(backbone, tmp_path / "c")) == len(backbone.assets)


def test_the_command_without_any_source_is_one_line_and_exit_1(tmp_path, capsys):
    assert cli.main(["weights", "--offline", "--cache", str(tmp_path / "c")]) == 1
    err = capsys.readouterr().err
    assert "household-sounds weights: could not provision" in err and "Traceback" not in err
