"""``trnet run-jobs`` (trnet/jobs.py): a graph of shell jobs, at most --nj at once, here or
through utils/run.pl in waves; stage 4 of the recipe runs its training jobs with it."""

from __future__ import annotations

from pathlib import Path

import pytest
from cli_main import run_main

ROOT = Path(__file__).resolve().parents[1]
Capture = pytest.CaptureFixture[str]


def _jobs_file(folder: Path, jobs: list[tuple[str, str, str]]) -> Path:
    """(name, waits-for, command) rows → a jobs file; each job logs to log/<name>.log and
    appends ``start NAME`` and ``end NAME`` to ``events``."""
    lines = []
    for name, after, command in jobs:
        run = f"echo start {name} >> events; {command}; code=$?; echo end {name} >> events"
        run += "; exit $code"
        lines.append(f"{name}\t{after}\tlog/{name}.log\t{run}")
    path = folder / "jobs"
    path.write_text("\n".join(lines) + "\n")
    return path


def _events(folder: Path) -> list[str]:
    return (folder / "events").read_text().splitlines()


def test_a_ready_job_starts_as_soon_as_a_slot_is_free(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: Capture
) -> None:
    """nj 2: the long job a holds one slot; b, then d (waits for b) and e go through the
    other slot while a runs (never two others at once, never a ready job left waiting);
    c, which waits for a, starts when a ends."""
    monkeypatch.chdir(tmp_path)
    jobs = [("a", "-", "sleep 3"), ("b", "-", "true"), ("c", "1", "true"),
            ("d", "2", "true"), ("e", "-", "true")]  # fmt: skip
    path = _jobs_file(tmp_path, jobs)
    done = run_main(["run-jobs", path, "--nj", "2"], monkeypatch, capsys)
    assert done.code == 0, done.stderr
    events = _events(tmp_path)
    starts = [e.split()[1] for e in events if e.startswith("start")]
    assert starts == ["a", "b", "d", "e", "c"] or starts == ["b", "a", "d", "e", "c"]
    running, most = set(), 0
    for event in events:
        what, name = event.split()
        if what == "start":
            running.add(name)
            most = max(most, len(running))
        else:
            running.discard(name)
    assert most == 2
    assert events.index("end e") < events.index("end a") < events.index("start c")
    log = (tmp_path / "log" / "c.log").read_text().splitlines()
    assert log[0].startswith("# echo start c") and log[-1].startswith("# Ended (code 0)")
    assert [line.split(" (log")[0].split()[-1] for line in done.stdout.splitlines()] == starts
    # nj 1: the file's order, one at a time
    (tmp_path / "events").unlink()
    done = run_main(["run-jobs", path, "--nj", "1"], monkeypatch, capsys)
    assert _events(tmp_path) == [f"{w} {n}" for n in "abcde" for w in ("start", "end")]


def test_a_failed_job_stops_the_run_in_one_line_naming_its_log(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: Capture
) -> None:
    """b fails while a runs: a is interrupted (its log ends with code 130), c (waits for b)
    and d never start, the error names b's log."""
    monkeypatch.chdir(tmp_path)
    jobs = [("a", "-", "sleep 30"), ("b", "-", "sleep 0.5; exit 3"), ("c", "2", "true"),
            ("d", "-", "true")]  # fmt: skip
    path = _jobs_file(tmp_path, jobs)
    done = run_main(["run-jobs", path, "--nj", "2"], monkeypatch, capsys)
    assert done.code == 1
    assert done.error_line == (
        "log/b.log: job 'b' failed (exit code 3); interrupted 1 other running job(s)"
    )
    starts = [e.split()[1] for e in _events(tmp_path) if e.startswith("start")]
    assert sorted(starts) == ["a", "b"]  # both start at once: their events may come in either order
    assert (
        (tmp_path / "log" / "a.log").read_text().splitlines()[-1].startswith("# Ended (code 130)")
    )


def test_through_run_pl_in_waves_with_the_jobs_own_logs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: Capture
) -> None:
    """--backend utils/run.pl: wave 1 (a, b), then wave 2 (c waits for a, d for b), each one
    array JOB=1:2; every job's log is its own file (linked from the wave's), with run.pl's
    header, the command and code 0; a failure names the failed job's log."""
    monkeypatch.chdir(tmp_path)
    jobs = [("a", "-", "true"), ("b", "-", "true"), ("c", "1", "true"), ("d", "2", "exit 0")]
    path = _jobs_file(tmp_path, jobs)
    args = ["run-jobs", path, "--nj", "2", "--backend", f"{ROOT / 'utils' / 'run.pl'}"]
    done = run_main(args, monkeypatch, capsys)
    assert done.code == 0, done.stderr
    events = _events(tmp_path)
    assert max(events.index("end a"), events.index("end b")) < events.index("start c")
    for k, name in enumerate("cd", 1):
        log = (tmp_path / "log" / f"{name}.log").read_text().splitlines()
        assert log[0] == f"# bash {path}.waves/wave2/{k}.sh "
        assert log[3].startswith(f"# echo start {name}")
        assert log[-1].startswith("# Ended (code 0)")
        link = tmp_path / f"jobs.waves/wave2/log/job.{k}.log"
        assert link.resolve() == (tmp_path / "log" / f"{name}.log").resolve()
    path.write_text(path.read_text().replace("exit 0", "exit 4"))
    done = run_main(args, monkeypatch, capsys)
    assert done.code == 1
    assert done.stderr.splitlines()[-1] == (
        f"error: log/d.log: job 'd' failed (1 of wave 2's 2 jobs; {ROOT}/utils/run.pl exit code 1)"
    )


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ("a\t-\tlog/a.log\n", "expected name, waits-for, log and command, tab-separated"),
        ("a\tx\tlog/a.log\ttrue\n", "waits for 'x': not line numbers"),
        ("a\t1\tlog/a.log\ttrue\n", "waits for '1': not all lines before it"),
    ],
)
def test_a_malformed_jobs_file_is_one_line_naming_the_line(
    text: str, why: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: Capture
) -> None:
    path = tmp_path / "jobs"
    path.write_text(text)
    done = run_main(["run-jobs", path], monkeypatch, capsys)
    assert done.code == 1 and done.error_line == f"{path}:1: {why}"
