"""Damaged features (issue 15): validate reads every scp entry with its frame count; training
and decoding stop with one line naming the scp, its line and the ark offset."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from trnet.cli import app
from trnet.errors import TrnetError
from trnet.feats.extract import FeatsWriter
from trnet.io import read_kv, write_kv
from trnet.train.data import FeatureStore

UTTS = {"s1-a": 103, "s1-b": 130, "s2-c": 90}


def _condition(root: Path, utts: dict[str, int] = UTTS) -> Path:
    cond = root / "dump" / "clean"
    cond.mkdir(parents=True)
    write_kv(cond / "utt2spk", {u: u.split("-")[0] for u in utts})
    write_kv(cond / "spk2utt", {"s1": "s1-a s1-b", "s2": "s2-c"})
    writer = FeatsWriter(cond, {"fbank": {}, "seed": 0})
    rng = np.random.default_rng(0)
    for utt, n in utts.items():
        writer.add(utt, rng.standard_normal((n, 80)).astype(np.float32))
    writer.close()
    return cond


def _validate(cond: Path) -> tuple[int, list[str]]:
    result = CliRunner().invoke(app, ["data", "validate", str(cond), "--no-wav"])
    return result.exit_code, [line for line in result.output.splitlines() if line.strip()]


def _cut_in_half(cond: Path) -> None:
    ark = cond / "feats.ark"
    os.truncate(ark, ark.stat().st_size // 2)


def _move_offset(cond: Path, utt: str = "s1-b", by: int = 7) -> None:
    scp = read_kv(cond / "feats.scp")
    ark, _, off = scp[utt].rpartition(":")
    scp[utt] = f"{ark}:{int(off) + by}"
    write_kv(cond / "feats.scp", scp)


def _point_at_other(cond: Path) -> None:
    scp = read_kv(cond / "feats.scp")
    scp["s1-a"] = scp["s1-b"]
    write_kv(cond / "feats.scp", scp)


def test_intact_features_validate(tmp_path):
    code, lines = _validate(_condition(tmp_path))
    assert code == 0, lines


@pytest.mark.parametrize(
    ("damage", "utt", "line", "what"),
    [
        (_cut_in_half, "s1-b", 2, "cannot read"),
        (_move_offset, "s1-b", 2, "is not the start of the entry of s1-b"),
        (_point_at_other, "s1-a", 1, "the entry of 's1-b', not of s1-a"),
    ],
)
def test_damage_is_one_line_naming_scp_line_and_offset(tmp_path, damage, utt, line, what):
    cond = _condition(tmp_path)
    damage(cond)
    scp = cond / "feats.scp"
    offset = read_kv(scp)[utt].rpartition(":")[2]
    code, lines = _validate(cond)
    assert code == 1
    bad = [x for x in lines if f"{scp}:{line}: {utt}: " in x and what in x]
    assert len(bad) == 1 and f"offset {offset}" in bad[0], lines
    store = FeatureStore(tmp_path / "dump")  # what train and decode read through
    with pytest.raises(TrnetError) as err:
        for u in UTTS:
            store.load("clean", u)
    assert str(err.value).startswith(f"{scp}:{line}: {utt}: ") and what in str(err.value)
    assert "\n" not in str(err.value)


def _load_all(dump: Path) -> None:
    store = FeatureStore(dump)
    for u in UTTS:
        store.load("clean", u)


def test_swapped_offsets_of_equal_length_utterances_are_caught(tmp_path):
    """The frame count cannot tell two utterances of one length apart: the key the ark holds
    just before each offset does."""
    cond = _condition(tmp_path, {"s1-a": 100, "s1-b": 100, "s2-c": 90})
    scp = read_kv(cond / "feats.scp")
    scp["s1-a"], scp["s1-b"] = scp["s1-b"], scp["s1-a"]
    write_kv(cond / "feats.scp", scp)
    code, lines = _validate(cond)
    ark, offset = scp["s1-a"].rpartition(":")[::2]
    expected = (
        f"{cond / 'feats.scp'}:1: s1-a: {ark} offset {offset} is the entry of 's1-b', "
        "not of s1-a (swapped or stale scp offsets?)"
    )
    assert code == 1 and f"✗ {expected}" in lines, lines
    with pytest.raises(TrnetError) as err:
        _load_all(tmp_path / "dump")
    assert str(err.value) == expected


def test_a_piped_scp_value_is_never_run(tmp_path):
    """kaldiio runs a value ending in '|' as a shell command; trnet reads arks as files."""
    cond = _condition(tmp_path)
    marker = tmp_path / "ran"
    scp = read_kv(cond / "feats.scp")
    scp["s1-b"] = f"touch {marker} |"
    write_kv(cond / "feats.scp", scp)
    code, lines = _validate(cond)
    assert code == 1
    assert any(f"feats.scp:2: s1-b: cannot read touch {marker} |" in x for x in lines), lines
    with pytest.raises(TrnetError, match="feats.scp:2: s1-b: cannot read"):
        _load_all(tmp_path / "dump")
    assert not marker.exists()
