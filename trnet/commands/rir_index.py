"""``trnet rir-index``: a folder of room impulse responses → an indexed dir with each RIR's
measured RT60, DRR and RT60 bin."""

from __future__ import annotations

from pathlib import Path

import typer


def register(app: typer.Typer) -> None:
    @app.command("rir-index")
    def rir_index(
        source: Path = typer.Argument(
            ...,
            help="RIRS_NOISES folder (simulated_rirs/, ...) or any folder of wavs",
        ),
        out: Path = typer.Option(
            ..., "--out", help="the index dir to write (e.g. data/rir/rirs_noises)"
        ),
    ) -> None:
        """Index RIRs as a Kaldi-style dir: wav.scp, utt2spk (RIR → room) and the RT60
        (Schroeder, T20), DRR and RT60 bin measured on each (rir2rt60, rir2drr, rir2bin).
        A rerun measures only new or changed files."""
        from rich.table import Table

        from trnet.console import console as Console
        from trnet.corrupt.rir_index import build_rir_index, summary_rows

        measured, skipped = build_rir_index(source, out)
        table = Table(
            "RT60 bin (s)", "RIRs", "mean RT60 (s)", "mean DRR (dB)", title=f"RIRs in {out}"
        )
        for name, count, rt60, drr in summary_rows(measured):
            table.add_row(name, str(count), f"{rt60:.3f}", f"{drr:.2f}")
        Console().print(table)
        if skipped:
            Console().print(f"{len(skipped)} file(s) skipped (listed above)")
