"""``trnet run-jobs``: a jobs file's graph of shell jobs, at most ``--nj`` at once, here or
through a Kaldi-style backend (library: :mod:`trnet.jobs`)."""

from __future__ import annotations

from pathlib import Path

import typer


def register(app: typer.Typer) -> None:
    @app.command("run-jobs")
    def run_jobs(
        jobs_file: Path = typer.Argument(..., help="one job per line (see below)"),
        nj: int = typer.Option(1, "--nj", help="jobs at once"),
        backend: str = typer.Option(
            None,
            "--backend",
            help="a Kaldi-style job runner with its options (utils/run.pl, utils/slurm.pl "
            "--mem 8G): the jobs in waves, each wave one job array",
        ),
    ) -> None:
        """Run the jobs of JOBS_FILE, each as soon as the jobs it waits for are done, at
        most --nj at once (the earliest line first); the first that fails stops the run
        (the others running are interrupted) with one line naming its log.

        JOBS_FILE: one job per line, tab-separated: name (printed when it starts), the line
        numbers of the jobs it waits for (comma-separated, each before it; - for none), its
        log, its command (bash). With --backend: wave by wave (a wave: the jobs whose
        waited-for jobs are in earlier waves), each wave one array JOB=1:N over the scripts
        <JOBS_FILE>.waves/wave<W>/<k>.sh, their logs linked to the jobs' own.
        """
        from trnet import jobs as lib

        jobs = lib.read_jobs(jobs_file)
        if backend is None:
            lib.run_here(jobs, nj)
        else:
            work = jobs_file.with_name(f"{jobs_file.name}.waves")
            lib.run_waves(jobs, nj, backend, work)
