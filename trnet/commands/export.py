"""``trnet export``: a trained fold as a self-contained model package."""

from __future__ import annotations

from pathlib import Path

import typer


def register(app: typer.Typer) -> None:
    @app.command()
    def export(
        exp: Path = typer.Argument(
            ...,
            help="trained fold exp/<system>/fold<K>, or exp/<system> (its best fold by dev UAR)",
        ),
        out: Path = typer.Option(..., "-o", "--out", help="package dir to write, e.g. pkg/"),
        se: Path = typer.Option(
            None, "--se", help="SE model dir (default: exp/se beside the system dir)"
        ),
        onnx: bool = typer.Option(
            False, "--onnx", help="also write ser.onnx (and se.onnx where the SE net exports)"
        ),
        force: bool = typer.Option(False, "--force", help="replace an existing package"),
    ) -> None:
        """Write weights, SE, fbank settings + CMVN, config, model card and manifest."""
        import json

        from rich.console import Console

        from trnet.infer.package import MANIFEST
        from trnet.infer.package import export as run_export

        dest = run_export(exp, out, se=se, onnx=onnx, force=force)
        card = json.loads((dest / "card.json").read_text())
        files = json.loads((dest / MANIFEST).read_text())["files"]
        size = sum((dest / name).stat().st_size for name in files)
        corpus = card["corpus"] + (" (GENERATED)" if card.get("generated") else "")
        Console().print(
            f"{dest}: {card['system']} fold {card['fold']}, corpus {corpus}, "
            f"{len(files)} files, {size / 1e6:.1f} MB",
            highlight=False,
        )
