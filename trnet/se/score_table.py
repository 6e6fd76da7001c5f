"""``trnet score-se --model A [--model B ...]``: front ends scored and compared side by side.

Each model dir (a trained ``exp/se`` or a pretrained package such as ``exp/se_nsnet2``)
enhances the same seeded sample of every condition (:mod:`trnet.se.score_model`); its
scores and real-time factor go to ``MODEL/scores.{tsv,json}``, or with ``out`` to
``out.{tsv,json}`` (one model's, or every model's in one table with a ``front_end`` column:
nothing is then written into the model dirs); one table on screen shows the input and every
front end's output per condition.
"""

from __future__ import annotations

import json
from pathlib import Path

from rich.console import Console
from rich.table import Table

from trnet.errors import TrnetError


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
    from trnet.se.score import generated_label, provenance, write_scores
    from trnet.se.score_model import score_model

    if nj < 1:
        raise TrnetError("--nj must be at least 1")
    conditions = find_conditions(dump_root, conditions)  # default: every condition dir
    combined = out is not None and len(models) > 1  # one table of all, written at the end
    prov = provenance(dump_root, conditions)
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
            "se_model": conf.model,
            "rtf": rtf,
            "rtf_clock": "wall time, cuda" if dev.type == "cuda" else "cpu time, 1 thread",
            **prov,
        }
        name = path.name if path.name not in results else str(path)
        target = out or (path / "scores" if path.is_dir() else path.with_name("scores"))
        if not combined:  # each model's scores to its own dir, or the one model's to out
            write_scores(rows, target, info)
        results[name] = {**info, "rows": rows, "written": f"{target}.tsv"}
    if combined:
        write_comparison(results, out)
    _print(results, generated_label(prov))
    return results


def write_comparison(results: dict[str, dict], out: Path) -> None:
    """``<out>.tsv`` (a ``front_end`` column, then the score columns of each model's rows)
    and ``<out>.json`` (name → info + rows): several front ends in one table, so that a
    comparison never writes into the model dirs it reads (one may be another recipe's)."""
    from trnet.io import atomic_write
    from trnet.se.score import COLUMNS, _fmt

    out.parent.mkdir(parents=True, exist_ok=True)
    columns = ("front_end", *COLUMNS, "rtf")
    with atomic_write(out.with_suffix(".tsv")) as f:
        f.write("\t".join(columns) + "\n")
        for name, result in results.items():
            for row in result["rows"]:
                values = {**row, "front_end": name, "rtf": result["rtf"]}
                f.write("\t".join(_fmt(values[c]) for c in columns) + "\n")
    with atomic_write(out.with_suffix(".json")) as f:
        json.dump(results, f, indent=1)


def _print(results: dict[str, dict], label: str) -> None:
    from trnet.se.score_model import side_by_side

    header, lines = side_by_side({n: r["rows"] for n, r in results.items()})
    title = "SE scores: noisy input ('in') and each front end's output"
    title += label
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
