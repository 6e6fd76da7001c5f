"""``trnet bench mix-feats`` prints its table (the figures themselves are not asserted)."""

import re

from typer.testing import CliRunner

from trnet.cli import app


def test_bench_mix_feats_prints_three_pipelines_with_ratios():
    result = CliRunner().invoke(
        app, ["bench", "mix-feats", "--n-utts", "6", "--repeat", "2", "--nj", "1"]
    )
    assert result.exit_code == 0, result.output + repr(result.exception)
    assert "6 utts, generated set, best of 2" in result.output
    rows = [line for line in result.output.splitlines() if re.search(r"\d+\.\d\d\s*│\s*$", line)]
    assert len(rows) == 3
    assert rows[0].rstrip(" │").endswith("1.00")  # the bare loop is the reference
