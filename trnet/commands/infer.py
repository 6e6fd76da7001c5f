"""``trnet infer``: emotion of audio files, directories or a wav.scp with a model package."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

import typer

from trnet.commands._shared import bounded
from trnet.errors import TrnetError

AUDIO_SUFFIXES = {".wav", ".flac", ".ogg", ".oga", ".opus", ".mp3", ".aif", ".aiff", ".au",
                  ".snd", ".caf", ".w64", ".rf64", ".sph", ".nist", ".voc", ".wv"}  # fmt: skip


def expand_inputs(inputs: list[str]) -> list[tuple[str, str] | TrnetError]:
    """``(name, wav.scp value)`` per input: a file, each audio file under a directory
    (sorted), or each entry of a ``*.scp`` (names are its keys); a bad input is an error."""
    from trnet.io import read_kv

    items: list[tuple[str, str] | TrnetError] = []
    for arg in inputs:
        path = Path(arg)
        if path.is_dir():
            found = sorted(
                p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in AUDIO_SUFFIXES
            )
            if not found:
                items.append(TrnetError(f"{arg}: no audio files in this directory"))
            items += [(str(p), str(p)) for p in found]
        elif path.suffix == ".scp" and path.is_file():
            try:
                items += list(read_kv(path).items())
            except TrnetError as err:
                items.append(err)
        elif not path.exists():
            items.append(TrnetError(f"{arg}: no such file or directory"))
        else:
            items.append((arg, arg))
    return items


def write_results(path: Path, classes: list[str], results: list, names: list[str]) -> None:
    """``.json`` (everything, windows nested), ``.csv``/``.tsv`` (one row per window and
    one ``all`` row per file; failed inputs as rows with only ``error``)."""
    from trnet.infer.recognizer import Prediction
    from trnet.io import atomic_write

    suffix = path.suffix.lower()
    if suffix == ".json":
        rows = [
            r.as_dict() if isinstance(r, Prediction) else {"name": n, "error": str(r)}
            for n, r in zip(names, results, strict=True)
        ]
        with atomic_write(path) as f:
            json.dump({"classes": classes, "results": rows}, f, indent=2)
            f.write("\n")
        return
    if suffix not in (".csv", ".tsv"):
        raise TrnetError(f"--output {path}: use a .json, .csv or .tsv file name")
    header = ["name", "window", "start", "end", "label", *classes, "s", "snr_db", "speech"]
    header.append("error")

    def fmt(v: Any) -> str:
        return "" if v is None else (f"{v:.6f}" if isinstance(v, float) else str(v))

    with atomic_write(path) as f:
        writer = csv.writer(f, delimiter="\t" if suffix == ".tsv" else ",", lineterminator="\n")
        writer.writerow(header)
        for name, r in zip(names, results, strict=True):
            if not isinstance(r, Prediction):
                writer.writerow([name] + [""] * (len(header) - 2) + [str(r)])
                continue
            for k, w in enumerate(r.windows):
                probs = [fmt(w.probs[c]) for c in classes]
                writer.writerow(
                    [name, k, fmt(w.start), fmt(w.end), w.label, *probs]
                    + [fmt(w.s), fmt(w.snr_db), fmt(w.speech), ""]
                )
            probs = [fmt(r.probs[c]) for c in classes]
            writer.writerow(
                [name, "all", fmt(0.0), fmt(r.duration), r.label, *probs]
                + [fmt(r.s), fmt(r.snr_db), "", ""]
            )


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
    ) -> None:
        """Emotion, probabilities, s and the SE's SNR estimate of each input.

        Exit status 1 when any input failed (each failure is one line under the table;
        the other inputs are still processed).
        """
        from rich.console import Console
        from rich.progress import Progress

        from trnet.infer.recognizer import EmotionRecognizer, Prediction
        from trnet.infer.source import spec_source

        rec = EmotionRecognizer.load(package, device, backend, batch_size)
        items = expand_inputs(inputs)
        names = [str(i).split(":")[0] if isinstance(i, TrnetError) else i[0] for i in items]
        sources: list[Any] = []
        for item in items:
            if isinstance(item, TrnetError):
                sources.append(item)
                continue
            try:
                sources.append(spec_source(*item))
            except TrnetError as err:
                sources.append(err)
        # longest first, so windows of similar length share batches; results in input order
        order = sorted(
            range(len(sources)),
            key=lambda i: -sources[i].samples if not isinstance(sources[i], TrnetError) else 0,
        )
        console = Console()
        with Progress(console=console, transient=True) as progress:
            task = progress.add_task("inputs", total=len(order))
            ran = rec.run(
                [sources[i] for i in order], window, hop, on_done=lambda _: progress.advance(task)
            )
        results: list[Any] = [None] * len(order)
        for i, res in zip(order, ran, strict=True):
            results[i] = res
        _print_table(console, rec, package, names, results, show_windows)
        if output is not None:
            write_results(output, rec.classes, results, names)
            console.print(f"results: {output}", highlight=False)
        failed = [r for r in results if not isinstance(r, Prediction)]
        if failed:
            raise typer.Exit(code=1)


def _print_table(
    console: Any, rec: Any, package: Path, names: list[str], results: list, windows: bool
) -> None:
    from rich.table import Table

    from trnet.infer.recognizer import Prediction

    has_s = rec.input_kind == "blend"
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
