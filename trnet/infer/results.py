"""``trnet infer --output``: the results of many inputs as a ``.json``, ``.csv`` or ``.tsv``
file."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

from trnet.errors import TrnetError
from trnet.infer.recognizer import Prediction
from trnet.io import atomic_write


def _cell(v: Any) -> str:
    return "" if v is None else (f"{v:.6f}" if isinstance(v, float) else str(v))


def write_results(
    path: Path, classes: list[str], results: list[Prediction | TrnetError], names: list[str]
) -> None:
    """``.json`` (everything, windows nested), ``.csv``/``.tsv`` (one row per window and
    one ``all`` row per file; failed inputs as rows with only ``error``)."""
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
    with atomic_write(path) as f:
        writer = csv.writer(f, delimiter="\t" if suffix == ".tsv" else ",", lineterminator="\n")
        writer.writerow(header)
        for name, r in zip(names, results, strict=True):
            if not isinstance(r, Prediction):
                writer.writerow([name] + [""] * (len(header) - 2) + [str(r)])
                continue
            for k, w in enumerate(r.windows):
                probs = [_cell(w.probs[c]) for c in classes]
                writer.writerow(
                    [name, k, _cell(w.start), _cell(w.end), w.label, *probs]
                    + [_cell(w.s), _cell(w.snr_db), _cell(w.speech), ""]
                )
            probs = [_cell(r.probs[c]) for c in classes]
            writer.writerow(
                [name, "all", _cell(0.0), _cell(r.duration), r.label, *probs]
                + [_cell(r.s), _cell(r.snr_db), "", ""]
            )
