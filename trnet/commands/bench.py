"""``trnet bench``: throughput measurements (not tests); results as rich tables."""

from __future__ import annotations

from pathlib import Path

import typer

bench_app = typer.Typer(help="Throughput benchmarks (× real time).", no_args_is_help=True)


@bench_app.command("mix-feats")
def mix_feats(
    data_dir: Path = typer.Argument(None, help="data dir to mix (default: a generated set)"),
    noise: Path = typer.Option(None, help="noise-set dir (default: a generated 44.1 kHz set)"),
    nj: int = typer.Option(1, help="processes for trnet mix / feats"),
    snr: float = typer.Option(10.0, help="SNR of the benchmarked condition"),
    n_utts: int = typer.Option(200, help="utterances (3 s each) of the generated set"),
    repeat: int = typer.Option(3, help="runs of each pipeline; the fastest is reported"),
) -> None:
    """Mixing + fbank throughput, and its ratio to a bare soundfile read + fbank loop."""
    from rich.console import Console
    from rich.table import Table

    from trnet.bench import bench_mix_feats

    result = bench_mix_feats(data_dir, noise, nj, snr, n_utts, max(1, repeat))
    rows = result["rows"]
    bare_audio, bare_wall = next(iter(rows.values()))
    source = "generated set" if result["generated"] else str(data_dir)
    table = Table(
        "pipeline",
        "audio h",
        "wall s",
        "× real time",
        "ratio to bare",
        title=f"trnet bench mix-feats ({result['utterances']} utts, {source}, "
        f"best of {result['repeat']})",
    )
    for name, (audio, wall) in rows.items():
        ratio = (audio / wall) / (bare_audio / bare_wall)
        table.add_row(
            name, f"{audio / 3600:.4f}", f"{wall:.2f}", f"{audio / wall:.1f}", f"{ratio:.2f}"
        )
    Console().print(table)


def register(app: typer.Typer) -> None:
    app.add_typer(bench_app, name="bench")
