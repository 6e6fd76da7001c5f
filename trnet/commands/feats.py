"""``trnet feats``: Kaldi-compatible 80-bin log-Mel fbank of a data dir (+ global CMVN)."""

from __future__ import annotations

from pathlib import Path

import typer

from trnet.commands._shared import bounded


def register(app: typer.Typer) -> None:
    @app.command()
    def feats(
        data_dir: Path = typer.Argument(..., help="Kaldi data dir with wav.scp"),
        nj: int = typer.Option(2, help="parallel processes"),
        dither: float = typer.Option(
            0.0, help="dither (reproducible under --seed)", callback=bounded(0)
        ),
        seed: int = typer.Option(0, help="per-utterance dither seeds derive from it"),
    ) -> None:
        """Write feats.scp/feats.ark, utt2num_frames and cmvn.ark; skip when already complete."""
        from rich.console import Console

        from trnet.errors import TrnetError
        from trnet.feats.extract import make_feats
        from trnet.feats.fbank import FbankConfig

        if nj < 1:
            raise TrnetError(f"--nj: must be at least 1, got {nj}")
        if not (data_dir / "wav.scp").is_file():
            raise TrnetError(f"{data_dir}: no wav.scp")
        make_feats(data_dir, nj, FbankConfig(dither=dither), seed)
        Console().print(f"fbank: {data_dir}/feats.scp, cmvn.ark")
