"""Scoring an SE front end itself: SI-SDR / PESQ / STOI and its real-time factor.

``trnet score-se --model DIR`` needs no ``<condition>_enh`` dirs: the seeded sample of each
condition (the same utterances :func:`trnet.se.score.score_conditions` would score) is
enhanced here, one utterance at a time, rounded to int16 as ``trnet enhance`` writes it,
and scored against its clean twin. So several front ends (a trained ``exp/se`` and a
pretrained ``exp/se_nsnet2``) are scored on the same utterances side by side, while only
one of them writes the enhanced features that training reads.

The real-time factor (RTF) is enhancement time over audio duration. On CPU it is the
process's CPU time with one thread per worker (so it does not depend on ``nj`` or on other
load on the machine); on a GPU, wall time after synchronising the device.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import torch

from trnet.audio import read_audio
from trnet.contract import SAMPLE_RATE
from trnet.data.datadir import DataDir
from trnet.errors import TrnetError
from trnet.parallel import ordered_map
from trnet.se.score import condition_row, mean_finite, pair_scores, sample_utts

_JOB: dict = {}


def _init(model: torch.nn.Module, device: torch.device) -> None:
    _JOB.update(model=model, device=device)


def _timed_enhance(wave: np.ndarray) -> tuple[np.ndarray, float]:
    from trnet.se.enhance import enhance_batch

    model, device = _JOB["model"], _JOB["device"]
    if device.type == "cuda":
        torch.cuda.synchronize(device)
        start = time.perf_counter()
        out = enhance_batch(model, [wave], device)[0]
        torch.cuda.synchronize(device)
        return out, time.perf_counter() - start
    start = time.process_time()
    out = enhance_batch(model, [wave], device)[0]
    return out, time.process_time() - start


def _score_item(item: tuple[str, str, float]) -> dict[str, float]:
    """``(noisy spec, clean spec, gain)`` → in/out scores, enhancement and audio seconds."""
    from trnet.audio import to_int16

    noisy_spec, clean_spec, gain = item
    noisy = read_audio(noisy_spec)
    out, seconds = _timed_enhance(noisy)
    out = to_int16(out).astype(np.float32) / 32768.0  # what trnet enhance writes
    scores = pair_scores(gain * read_audio(clean_spec), noisy, out)
    return {**scores, "enhance_s": seconds, "audio_s": len(noisy) / SAMPLE_RATE}


def model_items(dump_root: Path, condition: str, max_utts: int, seed: int) -> list[tuple]:
    """``(noisy spec, clean spec, gain)`` of the seeded sample of one condition dir."""
    if not (dump_root / condition / "wav.scp").is_file():
        raise TrnetError(f"{dump_root / condition}: condition dir not found (no wav.scp)")
    noisy = DataDir.load(dump_root / condition)
    if "utt2clean" not in noisy.tables:
        raise TrnetError(f"{dump_root / condition}/utt2clean: missing (made by trnet mix)")
    clean, gains = noisy["utt2clean"], noisy.tables.get("utt2gain", {})
    return [
        (noisy["wav.scp"][u], clean[u], float(gains.get(u, 1.0)))
        for u in sample_utts(noisy.utts, max_utts, seed)
    ]


def score_model(
    model: torch.nn.Module,
    dump_root: Path,
    conditions: list[str],
    max_utts: int = 50,
    nj: int = 1,
    seed: int = 0,
    device: torch.device | None = None,
) -> tuple[list[dict], float]:
    """One row per condition (scores as :func:`score_conditions`, plus ``rtf``) and the
    RTF over every scored utterance."""
    device = device or torch.device("cpu")
    jobs = nj if device.type == "cpu" else 1
    rows, total_s, total_audio = [], 0.0, 0.0
    for cond in conditions:
        items = model_items(dump_root, cond, max_utts, seed)
        scores = list(
            ordered_map(_score_item, items, jobs, _init, (model, device), f"enhance+score {cond}")
        )
        row = condition_row(cond, scores)
        enhance_s = sum(s["enhance_s"] for s in scores)
        audio_s = sum(s["audio_s"] for s in scores)
        row["rtf"] = enhance_s / audio_s if audio_s else float("nan")
        rows.append(row)
        total_s, total_audio = total_s + enhance_s, total_audio + audio_s
    return rows, (total_s / total_audio if total_audio else float("nan"))


def side_by_side(results: dict[str, list[dict]]) -> tuple[list[str], list[list[str]]]:
    """A header and rows comparing front ends per condition: the input score once, then
    each front end's output, for SI-SDR, PESQ and STOI (``results``: name → rows)."""
    names = list(results)
    first = results[names[0]]
    header = ["noise", "SNR", "n"]
    for label in ("SI-SDR", "PESQ", "STOI"):
        header += [f"{label} in"] + [f"{label} {n}" for n in names]
    rows = []
    for i, base in enumerate(first):
        line = [base["noise"], base["snr"], str(base["n_utts"])]
        for metric, fmt in (("sisdr", "{:.2f}"), ("pesq", "{:.2f}"), ("stoi", "{:.3f}")):
            line.append(fmt.format(base[f"{metric}_in"]))
            line += [fmt.format(results[n][i][f"{metric}_out"]) for n in names]
        rows.append(line)
    means = ["mean", "", ""]
    for metric, fmt in (("sisdr", "{:.2f}"), ("pesq", "{:.2f}"), ("stoi", "{:.3f}")):
        means.append(fmt.format(mean_finite([r[f"{metric}_in"] for r in first])))
        means += [fmt.format(mean_finite([r[f"{metric}_out"] for r in results[n]])) for n in names]
    rows.append(means)
    return header, rows
