"""The data fingerprint changes when a file is added, removed, resized or rewritten."""

import os

import pytest

from components.ingest.fingerprint import fingerprint


def test_fingerprint_follows_the_files(tmp_path):
    (tmp_path / "audio").mkdir()
    (tmp_path / "audio" / "a.wav").write_bytes(b"1234")
    (tmp_path / "meta.csv").write_text("a\n")
    first = fingerprint(str(tmp_path))
    assert fingerprint(str(tmp_path)) == first
    assert fingerprint(str(tmp_path) + "/") == first
    (tmp_path / "audio" / "b.wav").write_bytes(b"x")
    added = fingerprint(str(tmp_path))
    assert added != first
    (tmp_path / "audio" / "b.wav").unlink()
    assert fingerprint(str(tmp_path)) == first
    (tmp_path / "audio" / "a.wav").write_bytes(b"12345")
    resized = fingerprint(str(tmp_path))
    assert resized not in (first, added)
    stat = os.stat(tmp_path / "audio" / "a.wav")
    os.utime(tmp_path / "audio" / "a.wav", ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9))
    assert fingerprint(str(tmp_path)) != resized


def test_a_missing_root_is_a_clear_error(tmp_path):
    with pytest.raises(FileNotFoundError, match="is not a directory or a manifest CSV"):
        fingerprint(str(tmp_path / "absent"))
