"""``trnet score-se --model A [--model B ...]``: front ends scored and compared side by side.

Each model dir (a trained ``exp/se`` or a pretrained package such as ``exp/se_nsnet2``)
enhances the same seeded sample of every condition (:mod:`trnet.se.score_model`); its
scores and real-time factor go to ``MODEL/scores.{tsv,json}`` (or ``out`` with a single
model), and one table shows the input and every front end's output per condition.
"""

from __future__ import annotations

import json
from pathlib import Path

from rich.console import Console
from rich.table import Table

from trnet.errors import TrnetError


def is_generated(dump_root: Path) -> bool:
    """Whether the dump was mixed from the GENERATED corpus (its tables must say so)."""
    corpus = dump_root / "clean" / "corpus.json"
    return corpus.is_file() and bool(json.loads(corpus.read_text()).get("generated"))


def score_models(
    dump_root: Path,
    conditions: list[str] | None,
    models: list[Path],
    out: Path | None = None,
    max_utts: int = 50,
    nj: int = 1,
    seed: int = 0,
    device: str = "auto",
) -> dict[str, dict]:
    """Score each model, write its scores, print the comparison; returns name → scores."""
    from trnet.devices import resolve_device
    from trnet.se.enhance import find_conditions
    from trnet.se.model import load_model, model_file
    from trnet.se.onnx_model import cpu_only
    from trnet.se.score import write_scores
    from trnet.se.score_model import score_model

    if out is not None and len(models) > 1:
        raise TrnetError("--out names one file; with several --model each writes MODEL/scores")
    if nj < 1:
        raise TrnetError("--nj must be at least 1")
    conditions = find_conditions(dump_root, conditions)  # default: every condition dir
    generated = is_generated(dump_root)
    results: dict[str, dict] = {}
    for path in models:
        net, conf = load_model(path)
        dev = cpu_only(net) or resolve_device(device)
        net.to(dev)
        rows, rtf = score_model(net, dump_root, conditions, max_utts, nj, seed, dev)
        info = {
            "dump_root": str(dump_root),
            "max_utts": max_utts,
            "seed": seed,
            "model": str(model_file(path)),
            "se_model": conf["model"],
            "rtf": rtf,
            "rtf_clock": "wall time, cuda" if dev.type == "cuda" else "cpu time, 1 thread",
            "generated": generated,
        }
        target = out or (path / "scores" if path.is_dir() else path.with_name("scores"))
        write_scores(rows, target, info)
        results[path.name if path.name not in results else str(path)] = {
            **info,
            "rows": rows,
            "written": f"{target}.tsv",
        }
    _print(results, generated)
    return results


def _print(results: dict[str, dict], generated: bool) -> None:
    from trnet.se.score_model import side_by_side

    header, lines = side_by_side({n: r["rows"] for n, r in results.items()})
    title = "SE scores: noisy input ('in') and each front end's output"
    title += " — GENERATED corpus" if generated else ""
    table = Table(title=title)
    for col in header:
        table.add_column(col, justify="left" if col == "noise" else "right")
    for line in lines:
        table.add_row(*line)
    console = Console()
    if not console.is_terminal:  # a log: wide enough for every column
        console = Console(width=max(console.width, 160))
    console.print(table)
    for name, r in results.items():
        console.print(
            f"{name} ({r['se_model']}): real-time factor {r['rtf']:.4f} ({r['rtf_clock']}) "
            f"→ {r['written']}"
        )
