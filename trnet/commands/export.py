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
        """Write the weights (every member of an ensemble; the SVM's arrays), a hybrid's or
        the SVM's functionals settings, the SE, fbank settings + CMVN, config, model card and
        manifest."""
        from rich.console import Console

        from trnet.infer.package_export import export as run_export
        from trnet.infer.package_format import read_package

        pkg = read_package(run_export(exp, out, se=se, onnx=onnx, force=force))
        card = pkg.card
        corpus = card["corpus"] + (" (GENERATED)" if card.get("generated") else "")
        Console().print(
            f"{pkg.root}: {card['system']} fold {card['fold']}, corpus {corpus}, "
            f"{len(pkg.files)} files, {pkg.size / 1e6:.1f} MB",
            highlight=False,
        )
