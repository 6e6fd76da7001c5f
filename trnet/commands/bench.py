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
    cpu_config: Path = typer.Option(
        Path("egs/emodb/conf/cpu/trnet_blendfun.yaml"),
        help="system config of the cpu size (the real-speech hybrid)",
    ),
    cpu_se: Path = typer.Option(
        Path("egs/emodb/conf/se_nsnet2.yaml"), help="SE config of the cpu size"
    ),
    members: int = typer.Option(
        3,
        help="ensemble members of the cpu size (the EmoDB recipe's --ensemble)",
        callback=bounded(1),
    ),
    sizes: str = typer.Option("slim cpu", help="which of slim, paper, cpu to run ('': none)"),
    package: list[str] = typer.Option(
        [],
        "--package",
        help="a real package to measure too (repeatable, or a space-separated list)",
    ),
    n_files: int = typer.Option(4, help="generated long audio files", callback=bounded(1)),
    seconds: float = typer.Option(
        30.0,
        help="length of each long file (windows of 4 s, hop 2 s)",
        callback=bounded(0, above=True),
    ),
    short_files: int = typer.Option(
        16,
        help="generated EmoDB-like files of 2-3 s (one window each; 0: none)",
        callback=bounded(0),
    ),
    batch: int = typer.Option(
        16, help="windows per batch of the batched rows", callback=bounded(1)
    ),
    repeat: int = typer.Option(
        2, help="runs per row; the fastest is reported", callback=bounded(1)
    ),
    threads: int = typer.Option(
        1,
        help="torch (and NSNet2) threads of the measured process (0: default)",
        callback=bounded(0),
    ),
) -> None:
    """Real-time factor, peak memory and time per stage of trnet infer on CPU."""
    from rich.console import Console

    from trnet.bench import bench_infer
    from trnet.errors import TrnetError

    dirs = {"slim": slim_conf, "paper": paper_conf, "cpu": None}
    chosen = sizes.split()
    packages = [Path(p) for arg in package for p in arg.split()]
    if any(s not in dirs for s in chosen) or not (chosen or packages):
        raise TrnetError(
            f"--sizes: choose from slim, paper, cpu, or give --package (got {sizes!r})"
        )

    def progress(row: dict, audio_s: float) -> None:
        """Each row as it comes (paper-size rows with SE take minutes on a small CPU)."""
        what = f"{row['size']} {row['system']} (SE {row['se']}) {row['audio']} batch {row['batch']}"
        if "error" in row:
            Console(stderr=True).print(f"{what}: {row['error']}", highlight=False)
        else:
            Console(stderr=True).print(
                f"{what}: wall {row['wall']:.2f} s, RTF {row['wall'] / audio_s:.3f}, CPU RTF "
                f"{row['cpu'] / audio_s:.3f}, peak RSS {row['peak_mb']:.0f} MB",
                highlight=False,
            )

    cpu = (cpu_config, cpu_se, members) if "cpu" in chosen else None
    result = bench_infer(
        {s: dirs[s] for s in chosen if s != "cpu"},
        n_files,
        seconds,
        batch,
        repeat,
        threads,
        on_row=progress,
        cpu=cpu,
        packages=packages,
        short_files=short_files,
    )
    from trnet.determinism import cpu_model

    machine = cpu_model()  # vendor / model: timings differ between CPUs
    console = Console()
    console.print(_infer_table(result, machine, repeat, threads))
    console.print(_infer_phase_table(result))
    if result["functionals_floor"]:
        console.print(_functionals_bound_table(result))
    console.print(
        f"torch threads: {', '.join(map(str, sorted(_threads(result))))}; RTF = wall s / audio "
        "s; × real time = 1 / RTF; CPU RTF = process CPU s (all threads) / audio s; RSS after "
        "loading and peak RSS while inferring, of the whole process (torch included); "
        "size package: a real package (its weights), the others untrained",
        highlight=False,
    )


def _threads(result: dict) -> set[int]:
    return {row["threads"] for row in result["rows"] if "threads" in row}


def _audio_name(result: dict, audio: str) -> str:
    from trnet.bench import LONG

    if audio == LONG:
        return f"{result['files'][audio]} × {result['seconds']:g} s"
    return f"{result['files'][audio]} × 2-3 s"


def _infer_table(result: dict, machine: str, repeat: int, threads: int) -> object:
    """One row per package, audio set and batch size."""
    from rich.table import Table

    one_core = "one torch thread" if threads == 1 else f"torch threads {threads or 'default'}"
    table = Table(
        "model",
        "system",
        "SE",
        "members",
        "audio",
        "batch",
        "wall s",
        "RTF",
        "× real time",
        "CPU s",
        "CPU RTF",
        "RSS loaded MB",
        "peak RSS MB",
        title=f"trnet bench infer on CPU, {one_core} ({machine}, best of {repeat})",
    )
    for row in result["rows"]:
        audio_s = result["audio_s"][row["audio"]]
        head = [
            row["size"],
            row["system"],
            row["se"],
            str(row["members"]),
            _audio_name(result, row["audio"]),
            str(row["batch"]),
        ]
        if "error" in row:
            table.add_row(*head, row["error"], *[""] * 6)
            continue
        rtf = row["wall"] / audio_s
        table.add_row(
            *head,
            f"{row['wall']:.2f}",
            f"{rtf:.3f}",
            f"{1 / rtf:.1f}",
            f"{row['cpu']:.2f}",
            f"{row['cpu'] / audio_s:.3f}",
            f"{row['loaded_mb']:.0f}",
            f"{row['peak_mb']:.0f}",
        )
    return table


def _infer_phase_table(result: dict) -> object:
    """Wall seconds and share of each phase, batch 1, per package and audio set."""
    from rich.table import Table

    from trnet.bench import phase_shares
    from trnet.infer.recognizer import INFER_PHASES

    phases = [*INFER_PHASES, "other"]
    table = Table(
        "model",
        "system",
        "audio",
        *[f"{p} s (share)" for p in phases],
        "total s",
        title="where the time goes (batch 1): read = reading + resampling, SE = the SE on "
        "blocks, fbank (+ VAD trim), functionals = openSMILE eGeMAPS, members = the "
        "networks, other = the rest",
    )
    for row in result["rows"]:
        if row["batch"] != 1 or "error" in row:
            continue
        shares = phase_shares(row)
        table.add_row(
            row["size"],
            row["system"],
            _audio_name(result, row["audio"]),
            *[f"{shares[p][0]:.2f} ({100 * shares[p][1]:.0f}%)" for p in phases],
            f"{row['wall']:.2f}",
        )
    return table


def _functionals_bound_table(result: dict) -> object:
    """For each package taking functionals (batch 1): openSMILE's least work for its inputs
    (one call per whole file and input) against the measured functionals phase and speed."""
    from rich.table import Table

    table = Table(
        "model",
        "system",
        "audio",
        "inputs",
        "openSMILE floor s / audio s",
        "most × real time",
        "functionals s / audio s",
        "× real time",
        title="the openSMILE bound (batch 1): eGeMAPSv02 on each whole file, once per input "
        "the model takes (no windows, one thread): no layout of windows does less",
    )
    for row in result["rows"]:
        k = row.get("functionals_inputs", 0)
        if row["batch"] != 1 or "error" in row or not k:
            continue
        audio_s = result["audio_s"][row["audio"]]
        floor = k * result["functionals_floor"][row["audio"]]
        table.add_row(
            row["size"],
            row["system"],
            _audio_name(result, row["audio"]),
            str(k),
            f"{floor:.4f}",
            f"{1 / floor:.1f}",
            f"{row['phases'].get('functionals', 0.0) / audio_s:.4f}",
            f"{audio_s / row['wall']:.1f}",
        )
    return table


@bench_app.command("train")
def train(
    config: Path = typer.Option(..., "--config", help="system config (conf/<system>.yaml)"),
    fold: int = typer.Option(..., "--fold", help="fold number K (data-root/fold<K>)"),
    data_root: Path = typer.Option(..., "--data-root", help="data/folds/<protocol>"),
    dump: Path = typer.Option(..., "--dump", help="feature dump, e.g. dump/emodb"),
    epochs: int = typer.Option(
        0, "--epochs", help="train at most this many epochs (0: the config's)", callback=bounded(0)
    ),
    threads: int = typer.Option(
        0,
        help="torch threads (0: the config's train.threads, else torch's default)",
        callback=bounded(0),
    ),
    device: str = typer.Option("cpu", "--device", help="cpu | cuda[:N] | auto"),
) -> None:
    """Trainer's training examples/s against a bare loop, and its time per phase."""
    from rich.console import Console

    from trnet import determinism
    from trnet.bench import bench_train
    from trnet.errors import TrnetError
    from trnet.systems.registry import DEEP, system_of_config
    from trnet.train.config import load_config

    kind = system_of_config(config).kind
    if kind != DEEP:
        raise TrnetError(f"{config}: a {kind} system; trnet bench train times deep ones")
    cfg = load_config(config)
    result = bench_train(cfg, fold, data_root, dump, epochs or None, threads, device)
    console = Console()
    console.print(_throughput_table(result, config, fold))
    console.print(_phase_table(result))
    console.print(
        f"torch threads {result['threads']}, deterministic mode "
        f"{'on' if determinism.enabled() else 'off'} ({determinism.SWITCH}); "
        "share: of the trainer's wall time; CPU s: process "
        "CPU time (all threads); the training phase's rows add up to it, the others to the "
        "whole run; the bare loop runs after the trainer, on batches the trainer's pipeline "
        "makes again"
        + (
            f"; an ensemble of {result['members']}: its first member timed"
            if result["members"] > 1
            else ""
        ),
        highlight=False,
    )


def _throughput_table(result: dict, config: Path, fold: int) -> object:
    """Examples per second: the bare loop, the trainer's model steps, its training phase and
    its whole run, each with its ratio to the bare loop."""
    from rich.table import Table

    from trnet.bench import MODEL_STEP

    bare, phases = result["bare"], result["phases"]
    examples = bare["examples"]  # the trainer's, made again by its own pipeline
    model_wall = sum(phases.get(n, (0.0,))[0] for n in MODEL_STEP)
    rows = [
        ("bare loop (batches in memory)", bare["steps"], bare["wall"], bare["cpu"]),
        (
            "trainer: model steps (forward, backward, optimiser)",
            result["steps"],
            model_wall,
            sum(phases.get(n, (0.0, 0.0))[1] for n in MODEL_STEP),
        ),
        ("trainer: training phase", result["steps"], *phases.get("train", (0.0, 0.0))[:2]),
        ("trainer: whole run", result["steps"], result["wall"], result["cpu"]),
    ]
    table = Table(
        "loop",
        "steps",
        "examples",
        "wall s",
        "CPU s",
        "examples/s",
        "ratio to bare",
        title=f"trnet bench train: {result['system']} ({config}), fold {fold}, "
        f"{result['epochs']} epochs on {result['device']}",
    )
    bare_speed = examples / bare["wall"] if bare["wall"] > 0 else float("nan")
    for name, steps, wall, cpu in rows:
        speed = examples / wall if wall > 0 else float("nan")
        table.add_row(
            name,
            str(steps),
            str(examples),
            f"{wall:.2f}",
            f"{cpu:.2f}",
            f"{speed:.1f}",
            f"{speed / bare_speed:.2f}",
        )
    return table


def _phase_table(result: dict) -> object:
    """Wall and CPU seconds of each phase, with its share of the trainer's wall time."""
    from rich.table import Table

    from trnet.bench import TRAIN_LOOP_PHASES, TRAIN_RUN_PHASES

    phases, total = result["phases"], result["wall"]
    table = Table("phase", "calls", "wall s", "share", "CPU s", title="trainer time per phase")

    def row(name: str, wall: float, cpu: float, calls: int | str = "") -> None:
        share = f"{100 * wall / total:.1f}%" if total > 0 else "-"
        table.add_row(name, str(calls), f"{wall:.2f}", share, f"{cpu:.2f}")

    def get(key: str) -> tuple[float, float, int]:
        return phases.get(key, (0.0, 0.0, 0))

    for key, name in TRAIN_RUN_PHASES:
        if key == "setup":  # its functionals apart
            wall, cpu, calls = get(key)
            f_wall, f_cpu, _ = get("setup: functionals")
            row(name, wall - f_wall, cpu - f_cpu, calls)
            row("setup: functionals (eGeMAPS)", f_wall, f_cpu, get("setup: functionals")[2])
            continue
        if key == "train":
            wall, cpu, calls = get(key)
            row(f"{name} (epochs)", wall, cpu, calls)
            for sub, sub_name in TRAIN_LOOP_PHASES:
                row(f"  {sub_name}", *get(sub))
            in_loop = [get(sub) for sub, _ in TRAIN_LOOP_PHASES]
            rest_wall = wall - sum(w for w, _, _ in in_loop)
            rest_cpu = cpu - sum(c for _, c, _ in in_loop)
            row("  loop (progress bar, other)", rest_wall, rest_cpu)
            continue
        row(name, *get(key))
    top = [get(key) for key, _ in TRAIN_RUN_PHASES]
    row(
        "other (logs, LR schedule, …)",
        total - sum(w for w, _, _ in top),
        result["cpu"] - sum(c for _, c, _ in top),
    )
    table.add_section()
    row("total", total, result["cpu"])
    return table


def register(app: typer.Typer) -> None:
    app.add_typer(bench_app, name="bench")
