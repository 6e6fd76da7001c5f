"""``trnet score-se``: SI-SDR / PESQ / STOI of the SE front-end (stage 3; library:
:mod:`trnet.se.score`)."""

from __future__ import annotations

from pathlib import Path

import typer

from trnet.commands._shared import ConditionsCommand, bounded


def _score_se(
    dump_root: Path = typer.Argument(
        ..., help="dump/<set> holding <condition> and <condition>_enh"
    ),
    conditions: list[str] = typer.Option(
        None, help="conditions to score (several in a row); default: all enhanced"
    ),
    out: Path = typer.Option(
        None,
        help="writes OUT.tsv and OUT.json (default: exp/se/scores; with --model: MODEL/scores; "
        "with several --model: one table of all)",
    ),
    max_utts: int = typer.Option(
        50, help="utterances scored per condition (seeded sample; 0: all)", callback=bounded(0)
    ),
    nj: int = typer.Option(2, help="parallel scoring processes", callback=bounded(1)),
    seed: int = typer.Option(0, help="subsample seed"),
    model: list[Path] = typer.Option(
        None,
        help="SE model dir to run on the sample and score, with its real-time factor "
        "(repeat --model to compare front ends side by side; no _enh dirs needed); default: "
        "score the <condition>_enh dirs",
    ),
    device: str = typer.Option("auto", help="auto | cpu | cuda (with --model)"),
    split: str = typer.Option(
        None,
        help="K/N: array job K of N; scores the part of each condition's sample it is dealt "
        "(every N-th utterance from the K-th) into SPLIT_ROOT/<K>/scores.json",
    ),
    split_root: Path = typer.Option(None, help="where --split K/N writes its scores"),
    from_splits: Path = typer.Option(
        None,
        help="score nothing: OUT.tsv/OUT.json from FROM_SPLITS/<k>/scores.json, the scores "
        "of the --split jobs (the one job's rows)",
    ),
) -> None:
    """SI-SDR / PESQ / STOI of noisy input and enhanced output against the clean twin."""
    from trnet.console import console as Console
    from trnet.data.splits import parse_split
    from trnet.errors import TrnetError
    from trnet.se.enhance import enhanced_conditions
    from trnet.se.score import score_conditions, write_scores
    from trnet.se.score_splits import merge_scores, score_part

    if split is not None and from_splits is not None:
        raise TrnetError("--split and --from-splits: one or the other (a job, or the merge)")
    if split is not None and split_root is None:
        raise TrnetError("--split: needs --split-root (where the split jobs write their scores)")
    if model:
        if split is not None or from_splits is not None:
            raise TrnetError("--split/--from-splits: not with --model (one job scores models)")
        from trnet.se.score_table import score_models

        score_models(dump_root, conditions, model, out, max_utts, nj, seed, device)
        return
    out = out or Path("exp/se/scores")
    if not conditions:
        conditions = enhanced_conditions(dump_root)
    info = {"dump_root": str(dump_root), "max_utts": max_utts, "seed": seed}
    if split is not None:
        path, status = score_part(dump_root, conditions, info, parse_split(split), split_root, nj)
        Console().print(f"{path}: {status}")
        return
    if from_splits is not None:
        rows = merge_scores(dump_root, conditions, info, from_splits)
    else:
        rows = score_conditions(dump_root, conditions, max_utts, nj, seed)
    write_scores(rows, out, info)
    _print_scores(rows, dump_root)


def _print_scores(rows: list[dict], dump_root: Path) -> None:
    from rich.console import Console
    from rich.table import Table

    from trnet.se.score import generated_label, provenance

    prov = provenance(dump_root, [r["condition"] for r in rows])
    title = "SE scores (input → output)" + generated_label(prov)
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
    console = Console()
    console.print(table)
    excluded = {m: sum(r[f"{m}_excluded"] for r in rows) for m in ("pesq", "stoi")}
    if any(excluded.values()):
        console.print(
            f"excluded from the means (audio too short to score, or no speech): "
            f"{excluded['pesq']} PESQ and {excluded['stoi']} STOI scores (per condition in "
            f"the pesq_excluded/stoi_excluded columns)",
            highlight=False,
        )


def register(app: typer.Typer) -> None:
    app.command("score-se", cls=ConditionsCommand)(_score_se)
