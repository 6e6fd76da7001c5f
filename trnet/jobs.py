"""A graph of shell jobs run at most ``nj`` at a time (``trnet run-jobs``; the recipe's stage 4:
one ``trnet train`` per system, fold and ensemble member, :func:`trnet.plan.train_jobs`).

A jobs file holds one job per line, tab-separated: its name (what is printed when it
starts), the line numbers of the jobs it waits for (comma-separated, each before it; ``-``
for none), its log and its command (run by ``bash -c``). The jobs run

- here (:func:`run_here`): a job starts as soon as the jobs it waits for are done and fewer
  than ``nj`` run, the earliest line first, so no slot idles while a job is ready; its
  output goes to its log, in the format of ``utils/run.pl`` (the command, the start, the
  output, ``# Ended (code N)``);
- or through a Kaldi-style backend (:func:`run_waves`: ``utils/run.pl``, ``utils/slurm.pl``):
  in waves, each the jobs whose waited-for jobs are in earlier waves, each wave one job array
  ``JOB=1:N`` of at most ``nj`` at once, the array's logs linked to the jobs' own.

The first job that fails stops the run: the others running are interrupted (a ``trnet``
job resumes from its checkpoints next time), nothing more starts, and the error is one line
naming the failed job's log.
"""

from __future__ import annotations

import contextlib
import os
import shlex
import shutil
import signal
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from trnet.errors import TrnetError

POLL_S = 0.05
ENDED_OK = "# Ended (code 0)"


@dataclass(frozen=True)
class Job:
    """One line of a jobs file; ``after``: the indexes (0-based) of the jobs it waits for."""

    name: str
    after: tuple[int, ...]
    log: Path
    command: str


def read_jobs(path: str | os.PathLike) -> list[Job]:
    """The jobs of a jobs file; a malformed line is a one-line error naming it."""
    path = Path(path)
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as err:
        raise TrnetError(f"{path}: cannot read the jobs file ({err.strerror})") from None
    jobs = []
    for number, line in enumerate(lines, 1):
        where = f"{path}:{number}"
        fields = line.split("\t", 3)
        if len(fields) != 4 or not all(f.strip() for f in fields):
            raise TrnetError(f"{where}: expected name, waits-for, log and command, tab-separated")
        name, after, log, command = fields
        try:
            waits = () if after == "-" else tuple(int(a) - 1 for a in after.split(","))
        except ValueError:
            raise TrnetError(f"{where}: waits for {after!r}: not line numbers") from None
        if any(not 0 <= a < number - 1 for a in waits):
            raise TrnetError(f"{where}: waits for {after!r}: not all lines before it")
        jobs.append(Job(name, waits, Path(log), command))
    return jobs


def waves(jobs: list[Job]) -> list[list[int]]:
    """The jobs (indexes) by wave: a job's wave is one after the last of those it waits for."""
    level: list[int] = []
    for job in jobs:
        level.append(1 + max((level[a] for a in job.after), default=-1))
    return [[i for i, w in enumerate(level) if w == n] for n in range(max(level, default=-1) + 1)]


def _stamp() -> str:
    return time.strftime("%F %T")


def _log_end(log: Path, code: int, start: float) -> None:
    code = 128 - code if code < 0 else code  # killed by signal N: 128 + N, as a shell says
    took = round(time.monotonic() - start)
    with open(log, "a", encoding="utf-8") as f:
        f.write(f"# Accounting: time={took} threads=1\n")
        f.write(f"# Ended (code {code}) at {time.ctime()}, elapsed time {took} seconds\n")


@dataclass
class _Running:
    index: int
    proc: subprocess.Popen
    start: float


def run_here(jobs: list[Job], nj: int, say: Callable[[str], None] = print) -> None:
    """Run ``jobs`` in this machine's processes, at most ``nj`` at once (see the module)."""
    if nj < 1:
        raise TrnetError(f"--nj must be at least 1, got {nj}")
    pending = list(range(len(jobs)))
    done: set[int] = set()
    running: list[_Running] = []
    try:
        while pending or running:
            while len(running) < nj:
                ready = next((i for i in pending if set(jobs[i].after) <= done), None)
                if ready is None:
                    break
                pending.remove(ready)
                running.append(_start(jobs[ready], ready, say))
            ended = _wait_any(running)
            running.remove(ended)
            code = ended.proc.returncode
            _log_end(jobs[ended.index].log, code, ended.start)
            if code != 0:
                job = jobs[ended.index]
                stopped = _stop(running, jobs)
                more = f"; interrupted {stopped} other running job(s)" if stopped else ""
                raise TrnetError(f"{job.log}: job {job.name!r} failed (exit code {code}){more}")
            done.add(ended.index)
    except KeyboardInterrupt:
        _stop(running, jobs)
        raise


def _start(job: Job, index: int, say: Callable[[str], None]) -> _Running:
    say(f"{_stamp()} {job.name} (log {job.log})")
    job.log.parent.mkdir(parents=True, exist_ok=True)
    with open(job.log, "w", encoding="utf-8") as log:
        log.write(f"# {job.command}\n# Started at {time.ctime()}\n#\n")
        log.flush()
        # its own session: a Ctrl-C reaches it through this process, which stops it
        proc = subprocess.Popen(
            ["bash", "-c", job.command],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    return _Running(index, proc, time.monotonic())


def _wait_any(running: list[_Running]) -> _Running:
    while True:
        for run in running:
            if run.proc.poll() is not None:
                return run
        time.sleep(POLL_S)


def _stop(running: list[_Running], jobs: list[Job]) -> int:
    """Interrupt the running jobs (SIGINT to each job's process group: ``trnet`` lets go of
    its locks and exits) and wait for them; their logs end with their exit codes."""
    for run in running:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(run.proc.pid, signal.SIGINT)
    for run in running:
        try:
            run.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(run.proc.pid, signal.SIGKILL)
            run.proc.wait()
        _log_end(jobs[run.index].log, run.proc.returncode, run.start)
    return len(running)


def run_waves(
    jobs: list[Job],
    nj: int,
    backend: str,
    work: Path,
    say: Callable[[str], None] = print,
) -> None:
    """Run ``jobs`` through the Kaldi-style ``backend`` (``utils/run.pl [options]``), wave by
    wave (:func:`waves`), each wave one job array ``JOB=1:N`` (at most ``nj`` at once) over
    the scripts ``<work>/wave<W>/<k>.sh``, whose logs ``<work>/wave<W>/log/job.<k>.log`` link
    to the jobs' own logs."""
    runner = shlex.split(backend)
    if not runner:
        raise TrnetError("--backend: empty")
    for number, wave in enumerate(waves(jobs), 1):
        folder = work / f"wave{number}"
        if folder.exists():
            shutil.rmtree(folder)
        (folder / "log").mkdir(parents=True)
        for k, index in enumerate(wave, 1):
            job = jobs[index]
            shown = shlex.quote(f"# {job.command}")  # the log's header names the script
            (folder / f"{k}.sh").write_text(f"echo {shown}\n{job.command}\n", encoding="utf-8")
            job.log.parent.mkdir(parents=True, exist_ok=True)
            job.log.unlink(missing_ok=True)
            link = folder / "log" / f"job.{k}.log"
            link.symlink_to(os.path.relpath(job.log.resolve(), link.parent.resolve()))
        names = ", ".join(jobs[i].name for i in wave[:3]) + (", ..." if len(wave) > 3 else "")
        say(f"{_stamp()} wave {number}: {len(wave)} job(s): {names} ({backend})")
        argv = [*runner, "--max-jobs-run", str(nj), f"JOB=1:{len(wave)}"]
        argv += [str(folder / "log" / "job.JOB.log"), "bash", str(folder / "JOB.sh")]
        code = subprocess.run(argv).returncode
        if code != 0:
            failed = [jobs[i] for i in wave if not _ended_ok(jobs[i].log)]
            first = failed[0] if failed else jobs[wave[0]]
            raise TrnetError(
                f"{first.log}: job {first.name!r} failed ({len(failed)} of wave {number}'s "
                f"{len(wave)} jobs; {runner[0]} exit code {code})"
            )


def _ended_ok(log: Path) -> bool:
    try:
        lines = log.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return False
    return bool(lines) and lines[-1].startswith(ENDED_OK)
