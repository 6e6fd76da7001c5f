"""``trnet decode``: hyp, posteriors, s and embeddings of a trained fold per test condition."""

from __future__ import annotations

from pathlib import Path

import typer

from trnet.commands._shared import bounded


def register(app: typer.Typer) -> None:
    @app.command()
    def decode(
        exp_fold: Path = typer.Argument(..., help="trained fold, e.g. exp/trnet/fold1"),
        dump: Path = typer.Option(..., "--dump", help="feature dump, e.g. dump/iemocap"),
        test_dir: Path = typer.Option(..., "--test-dir", help="data/folds/<protocol>/fold<K>/test"),
        conditions: list[str] = typer.Option(
            ..., "--conditions", help="clean esc50_20 ... musan_0 (repeat or space-separate)"
        ),
        out: Path = typer.Option(..., "--out", help="decode root, e.g. exp/trnet/decode"),
        batch_size: int = typer.Option(64, "--batch-size", callback=bounded(1)),
        device: str = typer.Option("auto", "--device", help="auto | cpu | cuda[:N]"),
        overwrite: bool = typer.Option(
            False, "--overwrite", help="redo decodes made by another model (a retrained fold)"
        ),
    ) -> None:
        """Write <out>/<condition>/fold<K>/ for each condition (complete dirs are skipped)."""
        from trnet.systems.registry import decode_fold

        names = [c for arg in conditions for c in arg.split()]
        for path in decode_fold(
            exp_fold, dump, test_dir, names, out, batch_size, device, overwrite
        ):
            print(path)
