"""``trnet bench mix-feats`` prints its table: the figures are not asserted, their
consistency is (every row times the same audio; each ratio is its speed over the bare
loop's)."""

import re

import pytest
from typer.testing import CliRunner

from trnet.cli import app


def test_bench_mix_feats_prints_three_pipelines_with_ratios():
    result = CliRunner().invoke(
        app,
        ["bench", "mix-feats", "--n-utts", "6", "--repeat", "2", "--nj", "1"],
        env={"COLUMNS": "200"},
    )
    assert result.exit_code == 0, result.output + repr(result.exception)
    assert "6 utts, generated set, best of 2" in result.output
    rows = {}
    for line in result.output.splitlines():
        cells = [c.strip() for c in line.strip().strip("│").split("│")]
        if len(cells) == 5 and re.fullmatch(r"\d+\.\d\d", cells[-1]):
            rows[cells[0]] = [float(c) for c in cells[1:]]
    assert list(rows) == [
        "bare: soundfile read + fbank",
        "trnet mix --feats (nj 1)",
        "trnet feats on the mixed ark (nj 1)",
    ]
    (bare_h, _, bare_speed, bare_ratio), *_ = rows.values()
    assert bare_ratio == 1.00 and bare_h > 0  # the bare loop is the reference
    for audio_h, wall, speed, ratio in rows.values():
        assert audio_h == bare_h  # the same utterances in every pipeline
        assert speed > 0
        if wall >= 0.1:  # "wall s" has 2 decimals
            assert speed == pytest.approx(audio_h * 3600 / wall, rel=0.01 / wall + 0.01)
        assert ratio == pytest.approx(speed / bare_speed, rel=0.02, abs=0.01)
