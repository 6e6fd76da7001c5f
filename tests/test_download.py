"""The noise-corpus downloader against a local HTTP server that supports Range requests."""

from __future__ import annotations

import hashlib
import re
import subprocess
import sys

import pytest
from http_toy import make_targz, make_zip, random_bytes
from typer.testing import CliRunner

from trnet.cli import app
from trnet.errors import TrnetError
from trnet.noise.download import CORPORA, download, extract, fetch_corpus

ESC_MEMBERS = {
    "ESC-50-master/meta/esc50.csv": b"filename,fold,target,category,esc10,src_file,take\n",
    "ESC-50-master/audio/1-1-A-0.wav": random_bytes(50_000, 1),
}
MUSAN_MEMBERS = {
    "musan/noise/free-sound/noise-free-sound-0000.wav": random_bytes(80_000, 2),
    "musan/noise/free-sound/ANNOTATIONS": b"noise-free-sound-0000\n",
}


def md5(data: bytes) -> str:
    return hashlib.md5(data).hexdigest()


def test_cli_downloads_extracts_and_a_second_run_does_nothing(server, tmp_path):
    server.files["/esc.zip"] = make_zip(ESC_MEMBERS)
    dest = tmp_path / "downloads"
    args = ["download", "esc50", "--dest", str(dest), "--url", server.base + "/esc.zip"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    for name, data in ESC_MEMBERS.items():
        assert (dest / name).read_bytes() == data
    assert (dest / ".esc50.done").is_file()
    assert sorted(p.name for p in dest.iterdir()) == sorted(
        [".esc50.done", "ESC-50-master", CORPORA["esc50"].archive]
    )
    assert len(server.log) == 1
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    assert len(server.log) == 1  # no request the second time


def test_cut_connection_is_resumed_with_range_and_checksum_matches(server, tmp_path):
    archive = make_targz(MUSAN_MEMBERS)
    server.files["/musan.tar.gz"] = archive
    cut = len(archive) // 2
    server.cut_after = cut
    root = fetch_corpus(
        "musan", tmp_path, url=server.base + "/musan.tar.gz", md5=md5(archive), backoff_s=0
    )
    assert [(r, s) for _, r, s in server.log] == [(None, 200), (f"bytes={cut}-", 206)]
    assert (tmp_path / "musan.tar.gz").read_bytes() == archive
    for name, data in MUSAN_MEMBERS.items():
        assert (tmp_path / name).read_bytes() == data
    assert root == tmp_path / "musan"


def test_server_ignoring_range_restarts_the_file(server, tmp_path):
    archive = make_targz(MUSAN_MEMBERS)
    server.files["/m.tgz"] = archive
    server.cut_after = len(archive) // 3
    server.ignore_range = True
    path = download(server.base + "/m.tgz", tmp_path / "m.tgz", md5=md5(archive), backoff_s=0)
    assert [(r is not None, s) for _, r, s in server.log] == [(False, 200), (True, 200)]
    assert path.read_bytes() == archive


def test_complete_part_file_is_finished_without_a_body(server, tmp_path):
    """A .part holding every byte (killed before the rename) gets 416 and is verified."""
    data = random_bytes(5000, 3)
    server.files["/f.bin"] = data
    (tmp_path / "f.bin.part").write_bytes(data)
    path = download(
        server.base + "/f.bin", tmp_path / "f.bin", sha256=hashlib.sha256(data).hexdigest()
    )
    assert path.read_bytes() == data
    assert [s for _, _, s in server.log] == [416]


def test_wrong_checksum_keeps_the_file_and_extracts_nothing(server, tmp_path):
    archive = make_targz(MUSAN_MEMBERS)
    server.files["/musan.tar.gz"] = archive
    with pytest.raises(TrnetError, match=r"musan\.tar\.gz\.part: md5 .* expected 0{32}"):
        fetch_corpus("musan", tmp_path, url=server.base + "/musan.tar.gz", md5="0" * 32)
    assert (tmp_path / "musan.tar.gz.part").read_bytes() == archive
    assert sorted(p.name for p in tmp_path.iterdir()) == ["musan.tar.gz.part"]


def test_published_size_applies_to_a_mirror(server, tmp_path):
    """Without --md5 a mirror is checked against the published MUSAN size and md5."""
    server.files["/musan.tar.gz"] = make_targz(MUSAN_MEMBERS)
    with pytest.raises(TrnetError, match=r"musan\.tar\.gz\.part: size \d+ bytes, expected"):
        fetch_corpus("musan", tmp_path, url=server.base + "/musan.tar.gz")
    assert not (tmp_path / "musan").exists()


def test_corrupt_archive_is_a_clear_error_and_nothing_is_extracted(server, tmp_path):
    server.files["/esc.zip"] = random_bytes(3000, 4)
    with pytest.raises(
        TrnetError, match=re.escape(CORPORA["esc50"].archive) + ": cannot extract, corrupt"
    ):
        fetch_corpus("esc50", tmp_path, url=server.base + "/esc.zip")
    assert sorted(p.name for p in tmp_path.iterdir()) == [CORPORA["esc50"].archive]


@pytest.mark.parametrize(
    "name, member",
    [("evil.zip", "../evil.txt"), ("evil.tar.gz", "../evil.txt"), ("abs.tar.gz", "/tmp/x.txt")],
)
def test_path_traversal_member_is_rejected(tmp_path, name, member):
    members = {"ok/a.txt": b"a", member: b"evil"}
    archive = tmp_path / name
    archive.write_bytes(make_zip(members) if name.endswith(".zip") else make_targz(members))
    dest = tmp_path / "dest"
    with pytest.raises(TrnetError, match="outside the folder"):
        extract(archive, dest)
    assert list(dest.iterdir()) == []
    assert not (tmp_path / "evil.txt").exists()


def test_retries_are_bounded(server, tmp_path):
    server.files["/f.bin"] = random_bytes(10_000, 5)
    server.cut_after = 1000
    server.cut_requests = 100
    server.ignore_range = True  # every attempt starts over and is cut again
    with pytest.raises(TrnetError, match="failed after 3 attempts"):
        download(server.base + "/f.bin", tmp_path / "f.bin", retries=2, backoff_s=0)
    assert len(server.log) == 3
    assert (tmp_path / "f.bin.part").stat().st_size == 1000


def test_missing_url_is_an_http_error(server, tmp_path):
    with pytest.raises(TrnetError, match="HTTP 404"):
        download(server.base + "/nope.zip", tmp_path / "nope.zip")


def test_unknown_corpus_is_one_line_listing_the_known(tmp_path):
    proc = subprocess.run(
        [sys.executable, "-m", "trnet", "download", "esc5", "--dest", str(tmp_path)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 1
    assert proc.stderr.strip() == "error: unknown corpus 'esc5'; known: esc50, musan"


def test_existing_complete_file_is_verified_not_downloaded(tmp_path):
    path = tmp_path / "a.bin"
    path.write_bytes(b"abc")
    assert download("http://127.0.0.1:9/never", path, expected_size=3, md5=md5(b"abc")) == path
    with pytest.raises(TrnetError, match=r"a\.bin: size 3 bytes, expected 4"):
        download("http://127.0.0.1:9/never", path, expected_size=4)


def test_part_file_left_by_a_killed_run_is_resumed(server, tmp_path):
    data = random_bytes(20_000, 6)
    server.files["/f.bin"] = data
    (tmp_path / "f.bin.part").write_bytes(data[:7000])
    assert download(server.base + "/f.bin", tmp_path / "f.bin", md5=md5(data)).read_bytes() == data
    assert [(r, s) for _, r, s in server.log] == [("bytes=7000-", 206)]


def test_extract_clears_a_stale_temp_dir_of_a_killed_run(tmp_path):
    archive = tmp_path / "a.zip"
    archive.write_bytes(make_zip({"top/x.txt": b"x"}))
    dest = tmp_path / "dest"
    (dest / ".a.zip.abc123.extract" / "top").mkdir(parents=True)
    assert extract(archive, dest) == [dest / "top"]
    assert sorted(p.name for p in dest.iterdir()) == ["top"]
