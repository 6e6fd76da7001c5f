"""SE scoring: SI-SDR, PESQ (wb) and STOI of the noisy input and of the enhanced output,
each against the clean twin (``utt2clean``, times ``utt2gain`` where the mixer applied one),
averaged per condition (noise × SNR) over a seeded subsample of utterances.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np

from trnet.audio import read_audio
from trnet.contract import (
    CLEAN,
    enhanced,
    generated_what,
    is_generated,
    is_noise_generated,
    parse_condition,
)
from trnet.data.datadir import DataDir
from trnet.errors import TrnetError
from trnet.io import atomic_write
from trnet.parallel import ordered_map
from trnet.se.metrics import pesq_wb, si_sdr, stoi

METRICS = ("sisdr", "pesq", "stoi")
EXCLUDED = ("pesq_excluded", "stoi_excluded")
"""Per condition: scores left out of the means (audio too short to score, or no speech)."""
COLUMNS = (
    ("condition", "noise", "snr", "n_utts")
    + tuple(f"{m}_{side}" for m in METRICS for side in ("in", "out", "gain"))
    + EXCLUDED
)


def _pair_scores(item: tuple[str, str, str, float]) -> dict[str, float]:
    noisy_spec, enh_spec, clean_spec, gain = item
    clean = gain * read_audio(clean_spec)
    return pair_scores(clean, read_audio(noisy_spec), read_audio(enh_spec))


def pair_scores(clean: np.ndarray, noisy: np.ndarray, enhanced: np.ndarray) -> dict[str, float]:
    """``{metric}_in`` (noisy) and ``{metric}_out`` (enhanced) against ``clean``."""
    scores = {}
    for side, wave in (("in", noisy), ("out", enhanced)):
        scores[f"sisdr_{side}"] = si_sdr(wave, clean)
        scores[f"pesq_{side}"] = pesq_wb(clean, wave)
        scores[f"stoi_{side}"] = stoi(clean, wave)
    return scores


def sample_utts(utts: list[str], max_utts: int, seed: int) -> list[str]:
    """A seeded subsample (sorted), the same for every run with this seed."""
    if max_utts <= 0 or len(utts) <= max_utts:
        return utts
    idx = np.random.default_rng(seed).choice(len(utts), size=max_utts, replace=False)
    return [utts[i] for i in sorted(idx)]


def condition_sample(
    dump_root: Path, condition: str, max_utts: int, seed: int
) -> list[tuple[str, tuple]]:
    """The seeded sample of ``condition``: ``(utt, (noisy, enhanced, clean, gain))`` pairs,
    in the order its scores are averaged in."""
    noisy = DataDir.load(dump_root / condition)
    enh_dir = dump_root / enhanced(condition)
    if not (enh_dir / ".done").is_file():
        raise TrnetError(f"{enh_dir}: not enhanced yet (run trnet enhance)")
    enh = DataDir.load(enh_dir)
    clean = noisy["utt2clean"]
    gains = noisy.tables.get("utt2gain", {})
    utts = sample_utts(noisy.utts, max_utts, seed)
    return [
        (u, (noisy["wav.scp"][u], enh["wav.scp"][u], clean[u], float(gains.get(u, 1.0))))
        for u in utts
    ]


def mean_finite(values: list[float]) -> float:
    finite = [v for v in values if math.isfinite(v)]
    return float(np.mean(finite)) if finite else float("nan")


def score_conditions(
    dump_root: Path, conditions: list[str], max_utts: int = 50, nj: int = 1, seed: int = 0
) -> list[dict]:
    """One row per condition: mean in/out scores and their gain (out − in)."""
    rows = []
    for cond in conditions:
        items = [item for _, item in condition_sample(dump_root, cond, max_utts, seed)]
        scores = list(ordered_map(_pair_scores, items, nj, desc=f"score {cond}"))
        rows.append(condition_row(cond, scores))
    return rows


def condition_row(condition: str, scores: list[dict[str, float]]) -> dict:
    """The mean in/out scores of one condition's utterances and their gain (out − in)."""
    parsed = parse_condition(condition)  # a corruption condition: its noise part
    noise, snr = parsed.noise, parsed.snr
    row: dict = {"condition": condition, "noise": noise, "snr": snr, "n_utts": len(scores)}
    for m in METRICS:
        row[f"{m}_in"] = mean_finite([s[f"{m}_in"] for s in scores])
        row[f"{m}_out"] = mean_finite([s[f"{m}_out"] for s in scores])
        row[f"{m}_gain"] = row[f"{m}_out"] - row[f"{m}_in"]
    for m in ("pesq", "stoi"):  # too short or no speech: left out of the means, counted
        row[f"{m}_excluded"] = sum(
            not math.isfinite(s[f"{m}_{side}"]) for s in scores for side in ("in", "out")
        )
    return row


def provenance(dump_root: Path, conditions: list[str]) -> dict[str, bool]:
    """``generated`` (the dump's speech: clean/corpus.json) and ``noise_generated`` (any of
    the conditions' noise) of scores on ``conditions``."""
    return {
        "generated": is_generated(dump_root / CLEAN),
        "noise_generated": any(is_noise_generated(dump_root / c) for c in conditions),
    }


def generated_label(prov: dict[str, bool]) -> str:
    """The title suffix that says what of :func:`provenance` is generated ("": nothing)."""
    what = generated_what(prov["generated"], prov["noise_generated"])
    return f" — {what}" if what else ""


def write_scores(rows: list[dict], out: Path, info: dict) -> None:
    """``<out>.tsv`` (one row per condition) and ``<out>.json`` (rows + info)."""
    out.parent.mkdir(parents=True, exist_ok=True)
    columns = COLUMNS + tuple(c for c in ("rtf",) if rows and c in rows[0])
    with atomic_write(out.with_suffix(".tsv")) as f:
        f.write("\t".join(columns) + "\n")
        for row in rows:
            f.write("\t".join(_fmt(row[c]) for c in columns) + "\n")
    with atomic_write(out.with_suffix(".json")) as f:
        json.dump({**info, "rows": rows}, f, indent=1)


def _fmt(value: object) -> str:
    return f"{value:.3f}" if isinstance(value, float) else str(value)
