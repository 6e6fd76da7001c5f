"""``trnet infer``: emotion of audio files, directories or a wav.scp with a model package."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from trnet.commands._shared import bounded
from trnet.contract import BLEND


def register(app: typer.Typer) -> None:
    @app.command()
    def infer(
        package: Path = typer.Argument(..., help="model package (trnet export)"),
        inputs: list[str] = typer.Argument(
            ..., help="audio files, directories (searched recursively) or a wav.scp"
        ),
        window: float = typer.Option(
            None, "--window", help="window length, s (default 4)", callback=bounded(0, above=True)
        ),
        hop: float = typer.Option(
            None, "--hop", help="window hop, s (default 2)", callback=bounded(0, above=True)
        ),
        output: Path = typer.Option(
            None, "--output", "-o", help="results.json | .csv | .tsv (per window and per file)"
        ),
        device: str = typer.Option("auto", "--device", help="auto | cpu | cuda[:N]"),
        backend: str = typer.Option("torch", "--backend", help="torch | onnx (onnxruntime)"),
        batch_size: int = typer.Option(
            16, "--batch-size", help="windows per batch", callback=bounded(1)
        ),
        show_windows: bool = typer.Option(
            False, "--windows", help="also print a row per window of multi-window files"
        ),
        plot: Path = typer.Option(
            None,
            "--plot",
            help="write DIR/<input>.png per input: probabilities, speech, SNR and s over time",
        ),
    ) -> None:
        """Emotion, probabilities, s and the SE's SNR estimate of each input.

        Exit status 1 when any input failed (each failure is one line under the table;
        the other inputs are still processed).
        """
        from rich.console import Console
        from rich.progress import Progress

        from trnet.infer.recognizer import EmotionRecognizer, Prediction
        from trnet.infer.results import write_results
        from trnet.infer.source import input_sources
        from trnet.infer.timeline import plot_paths, write_timelines

        names, sources = input_sources(inputs)
        pngs = plot_paths(plot, names) if plot is not None else []  # refused before any work
        rec = EmotionRecognizer.load(package, device, backend, batch_size)
        console = Console()
        if rec.outside_onnx:
            console.print(f"onnx backend: {rec.outside_onnx}", highlight=False)
        with Progress(console=console, transient=True) as progress:
            task = progress.add_task("inputs", total=len(sources))
            results = rec.run_longest_first(
                sources, window, hop, on_done=lambda _: progress.advance(task)
            )
        _print_table(console, rec, package, names, results, show_windows)
        if output is not None:
            write_results(output, rec.classes, results, names)
            console.print(f"results: {output}", highlight=False)
        if plot is not None:
            written = write_timelines(pngs, results, rec.classes, rec.system)
            console.print(f"plots: {len(written)} in {plot}", highlight=False)
        failed = [r for r in results if not isinstance(r, Prediction)]
        if failed:
            raise typer.Exit(code=1)


def _print_table(
    console: Any, rec: Any, package: Path, names: list[str], results: list, windows: bool
) -> None:
    from rich.table import Table

    from trnet.infer.recognizer import Prediction

    has_s = rec.input_kind == BLEND
    has_snr = rec.package.has_se
    gen = " (GENERATED corpus)" if rec.card.get("generated") else ""
    table = Table(title=f"{rec.system} fold {rec.card.get('fold')}: {package}{gen}")
    longest = max((len(n) for n in names), default=4)
    table.add_column("file", overflow="fold", min_width=min(longest, 40))
    table.add_column("emotion", no_wrap=True)
    numbers = [*rec.classes, *(["s"] if has_s else []), *(["SNR dB"] if has_snr else [])]
    for col in [*numbers, "dur s", "windows"]:
        table.add_column(col, justify="right", no_wrap=True)

    def row(name: str, label: str, probs: dict, s: Any, snr: Any, dur: str, nw: str) -> None:
        cells = [
            name,
            label,
            *("-" if probs[c] is None else f"{probs[c]:.3f}" for c in rec.classes),
        ]
        if has_s:
            cells.append("-" if s is None else f"{s:.3f}")
        if has_snr:
            cells.append("-" if snr is None else f"{snr:.1f}")
        table.add_row(*cells, dur, nw)

    errors = []
    for name, r in zip(names, results, strict=True):
        if not isinstance(r, Prediction):
            errors.append(str(r))
            continue
        label = f"{r.label} ({r.note})" if r.note else r.label
        row(name, label, r.probs, r.s, r.snr_db, f"{r.duration:.2f}", str(len(r.windows)))
        if windows and len(r.windows) > 1:
            for w in r.windows:
                span = f"  {w.start:.1f}-{w.end:.1f} s"
                row(span, w.label, w.probs, w.s, w.snr_db, f"{w.end - w.start:.2f}", "")
    console.print(table)
    if errors:
        console.print(f"[bold red]errors ({len(errors)}):[/]")
        for line in errors:
            console.print(f"  {line}", highlight=False, markup=False, soft_wrap=True)
