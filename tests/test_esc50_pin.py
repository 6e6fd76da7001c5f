"""ESC-50 comes from a commit-pinned archive, checked against its sha256 when one is known."""

from __future__ import annotations

import dataclasses
import hashlib
import re

import pytest
from http_toy import make_zip, random_bytes

from trnet.errors import TrnetError
from trnet.noise import download as dl

COMMIT = dl.ESC50_COMMIT


def _commit_zip() -> bytes:
    """What GitHub's archive of a commit holds: ESC-50-<commit>/..."""
    return make_zip(
        {
            f"ESC-50-{COMMIT}/meta/esc50.csv": b"filename,fold,target,category\n",
            f"ESC-50-{COMMIT}/audio/1-1-A-0.wav": random_bytes(20_000, 7),
        }
    )


def test_the_archive_url_names_a_commit_not_a_branch():
    corpus = dl.CORPORA["esc50"]
    assert re.fullmatch(r"[0-9a-f]{40}", COMMIT)
    assert corpus.url == f"https://github.com/karolpiczak/ESC-50/archive/{COMMIT}.zip"
    assert "master" not in corpus.url and COMMIT[:12] in corpus.archive
    assert corpus.extracts_to == f"ESC-50-{COMMIT}" and corpus.top_dir == "ESC-50-master"


def test_commit_archive_is_extracted_as_esc50_master_and_its_sha256_reported(
    server,
    tmp_path,
    capsys,
):
    data = _commit_zip()
    server.files["/c.zip"] = data
    root = dl.fetch_corpus("esc50", tmp_path, url=server.base + "/c.zip")
    assert root == tmp_path / "ESC-50-master"
    assert (root / "meta" / "esc50.csv").is_file()
    assert not (tmp_path / f"ESC-50-{COMMIT}").exists()
    assert hashlib.sha256(data).hexdigest() in capsys.readouterr().err.replace("\n", "")


def test_a_recorded_sha256_is_enforced(server, tmp_path, monkeypatch):
    data = _commit_zip()
    server.files["/c.zip"] = data
    pinned = dataclasses.replace(dl.CORPORA["esc50"], sha256="0" * 64)
    monkeypatch.setitem(dl.CORPORA, "esc50", pinned)
    with pytest.raises(TrnetError, match=r"sha256 [0-9a-f]{64}, expected 0{64}"):
        dl.fetch_corpus("esc50", tmp_path / "a", url=server.base + "/c.zip")
    assert not (tmp_path / "a" / "ESC-50-master").exists()
    good = dataclasses.replace(pinned, sha256=hashlib.sha256(data).hexdigest())
    monkeypatch.setitem(dl.CORPORA, "esc50", good)
    assert (dl.fetch_corpus("esc50", tmp_path / "b", url=server.base + "/c.zip")).is_dir()
    # --sha256 on the command line overrides the record
    with pytest.raises(TrnetError, match="expected " + "1" * 64):
        dl.fetch_corpus("esc50", tmp_path / "c", url=server.base + "/c.zip", sha256="1" * 64)
