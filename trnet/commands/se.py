"""``trnet train-se``, ``trnet enhance``, ``trnet score-se``: the SE front-end (stage 3)."""

from __future__ import annotations

from pathlib import Path

import typer
from typer.core import TyperCommand

from trnet.commands.mix import expand_multi_value


class ConditionsCommand(TyperCommand):
    """Lets ``--conditions clean esc50_0 musan_0`` take several values in a row."""

    def parse_args(self, ctx, args):  # noqa: ANN001, ANN201 (click's signature)
        return super().parse_args(ctx, expand_multi_value(list(args), "--conditions"))


def _train_se(
    config: Path = typer.Option(
        ...,
        help="SE config (conf/slim/se.yaml: CRN, conf/se.yaml: CMGAN, conf/se_nsnet2.yaml: "
        "pretrained NSNet2, written as a package without training)",
    ),
    speech: str = typer.Option(
        "musan_speech",
        help="clean speech: a noise-set name/dir (default musan_speech: read speech, no SER "
        "speaker) or a SER data dir such as data/folds/speaker/fold1/train",
    ),
    noise: str = typer.Option("esc50_train", help="training noise set (name or dir)"),
    dev_noise: str = typer.Option("esc50_dev", help="noise set of the fixed dev pairs"),
    noise_root: Path = typer.Option(Path("data/noise"), help="where noise-set names resolve"),
    out: Path = typer.Option(Path("exp/se"), help="output dir (best.pt, checkpoints/, train.log)"),
    resume: bool = typer.Option(False, help="continue from the last checkpoint in OUT"),
    device: str = typer.Option("auto", help="auto | cpu | cuda"),
) -> None:
    """Train the SE model on (noisy, clean) pairs made on the fly; skip if OUT/.done exists."""
    from rich.console import Console

    from trnet.se.config import load_config
    from trnet.se.train import train_se

    done = (out / ".done").is_file()
    best = train_se(load_config(config), speech, noise, out, dev_noise, noise_root, resume, device)
    Console().print(f"SE model: {best}" + (" (already trained)" if done else ""))


def _enhance(
    dump_root: Path = typer.Argument(..., help="dump/<set> holding the condition dirs"),
    model: Path = typer.Option(Path("exp/se"), help="SE model (dir with best.pt, or a .pt)"),
    conditions: list[str] = typer.Option(
        None, help="condition dirs to enhance (several in a row); default: all without _enh"
    ),
    nj: int = typer.Option(2, help="worker processes (SE on CPU, fbank; one thread each)"),
    batch_size: int = typer.Option(8, help="utterances per SE batch (length-sorted)"),
    dither: float = typer.Option(0.0, help="fbank dither (reproducible under --seed)"),
    seed: int = typer.Option(0, help="fbank dither seed"),
    device: str = typer.Option("auto", help="auto | cpu | cuda"),
) -> None:
    """Write DUMP_ROOT/<condition>_enh/ (enhanced audio + fbank) for each condition."""
    from rich.console import Console

    from trnet.errors import TrnetError
    from trnet.se.enhance import ENH_SUFFIX, enhance_condition, find_conditions, model_digest
    from trnet.se.model import load_model, model_file
    from trnet.se.onnx_model import cpu_only
    from trnet.se.train import pick_device

    if nj < 1 or batch_size < 1:
        raise TrnetError("--nj and --batch-size must be at least 1")
    net, _ = load_model(model)
    dev = cpu_only(net) or pick_device(device)
    net.to(dev)
    path = model_file(model)
    settings = {
        "model": str(path),
        "model_sha256": model_digest(path),
        "dither": dither,
        "seed": seed,
    }
    for cond in find_conditions(dump_root, conditions):
        dst = dump_root / f"{cond}{ENH_SUFFIX}"
        status = enhance_condition(
            net, settings, dump_root / cond, dst, batch_size, nj, dither, seed, dev
        )
        Console().print(f"{dst}: {status}")


def _score_se(
    dump_root: Path = typer.Argument(
        ..., help="dump/<set> holding <condition> and <condition>_enh"
    ),
    conditions: list[str] = typer.Option(
        None, help="conditions to score (several in a row); default: all enhanced"
    ),
    out: Path = typer.Option(
        None,
        help="writes OUT.tsv and OUT.json (default: exp/se/scores; with --model: MODEL/scores)",
    ),
    max_utts: int = typer.Option(
        50, help="utterances scored per condition (seeded sample; 0: all)"
    ),
    nj: int = typer.Option(2, help="parallel scoring processes"),
    seed: int = typer.Option(0, help="subsample seed"),
    model: list[Path] = typer.Option(
        None,
        help="SE model dir to run on the sample and score, with its real-time factor "
        "(repeat --model to compare front ends side by side; no _enh dirs needed); default: "
        "score the <condition>_enh dirs",
    ),
    device: str = typer.Option("auto", help="auto | cpu | cuda (with --model)"),
) -> None:
    """SI-SDR / PESQ / STOI of noisy input and enhanced output against the clean twin."""
    from trnet.se.enhance import ENH_SUFFIX
    from trnet.se.score import score_conditions, write_scores

    if model:
        from trnet.se.compare import score_models

        score_models(dump_root, conditions, model, out, max_utts, nj, seed, device)
        return
    out = out or Path("exp/se/scores")
    if not conditions:
        conditions = [
            p.name[: -len(ENH_SUFFIX)]
            for p in sorted(dump_root.glob(f"*{ENH_SUFFIX}"))
            if (p / ".done").is_file()
        ]
    rows = score_conditions(dump_root, conditions, max_utts, nj, seed)
    write_scores(rows, out, {"dump_root": str(dump_root), "max_utts": max_utts, "seed": seed})
    _print_scores(rows, dump_root)


def _print_scores(rows: list[dict], dump_root: Path) -> None:
    import json

    from rich.console import Console
    from rich.table import Table

    generated = False
    corpus = dump_root / "clean" / "corpus.json"
    if corpus.is_file():
        generated = bool(json.loads(corpus.read_text()).get("generated"))
    title = "SE scores (input → output)" + (" — GENERATED corpus" if generated else "")
    table = Table(title=title)
    for col in (
        "noise",
        "SNR",
        "n",
        "SI-SDR in",
        "out",
        "gain",
        "PESQ in",
        "out",
        "STOI in",
        "out",
    ):
        table.add_column(col, justify="left" if col == "noise" else "right")
    for r in rows:
        table.add_row(
            r["noise"], r["snr"], str(r["n_utts"]),
            *(f"{r[k]:.2f}" for k in ("sisdr_in", "sisdr_out", "sisdr_gain")),
            *(f"{r[k]:.2f}" for k in ("pesq_in", "pesq_out")),
            *(f"{r[k]:.3f}" for k in ("stoi_in", "stoi_out")),
        )  # fmt: skip
    Console().print(table)


def register(app: typer.Typer) -> None:
    app.command("train-se")(_train_se)
    app.command("enhance", cls=ConditionsCommand)(_enhance)
    app.command("score-se", cls=ConditionsCommand)(_score_se)
