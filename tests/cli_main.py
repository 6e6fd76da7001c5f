"""Run ``trnet`` through its real entry point, :func:`trnet.cli.main`, in this process.

``CliRunner`` returns exit code 1 both for a user error and for an uncaught exception; the
entry point is what turns a :class:`~trnet.errors.TrnetError` into one line on stderr, so
the error-path tests go through it and check that line.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass

import pytest

from trnet.cli import main


@dataclass
class Outcome:
    code: int | str | None
    stdout: str
    stderr: str

    @property
    def error_line(self) -> str:
        """The one stderr line of a user error, without its ``error: `` prefix."""
        lines = self.stderr.splitlines()
        assert len(lines) == 1, self.stderr
        assert lines[0].startswith("error: "), self.stderr
        assert "Traceback" not in self.stdout + self.stderr
        return lines[0].removeprefix("error: ")


def run_main(
    args: list[str], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> Outcome:
    """``trnet ARGS`` via ``main()``; an exception other than SystemExit fails the test."""
    monkeypatch.setattr(sys, "argv", ["trnet", *map(str, args)])
    monkeypatch.setenv("COLUMNS", "200")
    capsys.readouterr()
    try:
        main()
        code: int | str | None = 0
    except SystemExit as done:
        code = done.code
    out = capsys.readouterr()
    return Outcome(code, out.out, out.err)
