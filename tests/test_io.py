"""Atomic writes and Kaldi tables."""

import pytest

from trnet.errors import TrnetError
from trnet.io import atomic_write, read_kv, write_kv


def test_write_kv_sorts_in_c_order_and_round_trips(tmp_path):
    path = tmp_path / "utt2emo"
    write_kv(path, {"b": "sad", "B": "ang", "a-1": "neu"})
    assert path.read_text().splitlines() == ["B ang", "a-1 neu", "b sad"]
    assert read_kv(path) == {"B": "ang", "a-1": "neu", "b": "sad"}


def test_read_kv_names_file_and_line_of_a_duplicate(tmp_path):
    path = tmp_path / "utt2spk"
    path.write_text("u1 s1\nu1 s2\n")
    with pytest.raises(TrnetError, match=r"utt2spk:2: duplicate key 'u1'"):
        read_kv(path)


def test_atomic_write_keeps_old_file_when_writer_fails(tmp_path):
    path = tmp_path / "table"
    path.write_text("old\n")
    with pytest.raises(RuntimeError), atomic_write(path) as f:
        f.write("half")
        raise RuntimeError("killed")
    assert path.read_text() == "old\n"
    assert [p.name for p in tmp_path.iterdir()] == ["table"]
