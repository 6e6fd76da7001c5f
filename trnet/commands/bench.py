"""``trnet bench``: throughput measurements (not tests); results as rich tables."""

from __future__ import annotations

from pathlib import Path

import typer

from trnet.commands._shared import bounded

bench_app = typer.Typer(help="Throughput benchmarks (× real time).", no_args_is_help=True)


@bench_app.command("mix-feats")
def mix_feats(
    data_dir: Path = typer.Argument(None, help="data dir to mix (default: a generated set)"),
    noise: Path = typer.Option(None, help="noise-set dir (default: a generated 44.1 kHz set)"),
    nj: int = typer.Option(1, help="processes for trnet mix / feats", callback=bounded(1)),
    snr: float = typer.Option(10.0, help="SNR of the benchmarked condition", callback=bounded()),
    n_utts: int = typer.Option(
        200, help="utterances (3 s each) of the generated set", callback=bounded(1)
    ),
    repeat: int = typer.Option(
        3, help="runs of each pipeline; the fastest is reported", callback=bounded(1)
    ),
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


@bench_app.command("infer")
def infer(
    slim_conf: Path = typer.Option(
        Path("egs/iemocap/conf/slim"), help="config dir of the slim model (and its SE)"
    ),
    paper_conf: Path = typer.Option(
        Path("egs/iemocap/conf"), help="config dir of the paper-size model (and its SE)"
    ),
    sizes: str = typer.Option("slim paper", help="which of the two to run"),
    n_files: int = typer.Option(4, help="generated audio files", callback=bounded(1)),
    seconds: float = typer.Option(
        6.0, help="length of each file (windows of 4 s, hop 2 s)", callback=bounded(0, above=True)
    ),
    batch: int = typer.Option(
        16, help="windows per batch of the batched rows", callback=bounded(1)
    ),
    repeat: int = typer.Option(
        2, help="runs per row; the fastest is reported", callback=bounded(1)
    ),
    threads: int = typer.Option(
        0, help="torch threads of the measured process (0: default)", callback=bounded(0)
    ),
) -> None:
    """Real-time factor and peak memory of trnet infer on CPU (untrained weights)."""
    import platform

    from rich.console import Console
    from rich.table import Table

    from trnet.bench import bench_infer
    from trnet.errors import TrnetError

    dirs = {"slim": slim_conf, "paper": paper_conf}
    chosen = sizes.split()
    if not chosen or any(s not in dirs for s in chosen):
        raise TrnetError(f"--sizes: choose from slim, paper (got {sizes!r})")

    def progress(row: dict, audio_s: float) -> None:
        """Each row as it comes (paper-size rows with SE take minutes on a small CPU)."""
        what = f"{row['size']} {row['system']} (SE {row['se']}) batch {row['batch']}"
        if "error" in row:
            Console(stderr=True).print(f"{what}: {row['error']}", highlight=False)
        else:
            Console(stderr=True).print(
                f"{what}: wall {row['wall']:.2f} s, RTF {row['wall'] / audio_s:.3f}, CPU RTF "
                f"{row['cpu'] / audio_s:.3f}, peak RSS {row['peak_mb']:.0f} MB",
                highlight=False,
            )

    result = bench_infer(
        {s: dirs[s] for s in chosen}, n_files, seconds, batch, repeat, threads, on_row=progress
    )
    table = Table(
        "model",
        "system",
        "SE",
        "batch",
        "wall s",
        "RTF",
        "× real time",
        "CPU s",
        "CPU RTF",
        "RSS loaded MB",
        "peak RSS MB",
        title=f"trnet bench infer: {result['files']} files × {result['seconds']:g} s on CPU "
        f"({platform.processor() or platform.machine()}, best of {repeat})",
    )
    threads = set()
    for row in result["rows"]:
        head = [row["size"], row["system"], row["se"], str(row["batch"])]
        if "error" in row:
            table.add_row(*head, row["error"], "", "", "", "", "", "")
            continue
        threads.add(row["threads"])
        rtf = row["wall"] / result["audio_s"]
        table.add_row(
            *head,
            f"{row['wall']:.2f}",
            f"{rtf:.3f}",
            f"{1 / rtf:.1f}",
            f"{row['cpu']:.2f}",
            f"{row['cpu'] / result['audio_s']:.3f}",
            f"{row['loaded_mb']:.0f}",
            f"{row['peak_mb']:.0f}",
        )
    Console().print(table)
    Console().print(
        f"torch threads: {', '.join(map(str, sorted(threads)))}; RTF = wall s / audio s; "
        "CPU RTF = process CPU s (all threads) / audio s; RSS after loading and peak RSS "
        "while inferring, of the whole process (torch included)"
    )


def register(app: typer.Typer) -> None:
    app.add_typer(bench_app, name="bench")
