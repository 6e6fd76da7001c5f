"""``trnet score-se`` as N array jobs, then merged: the one job's ``OUT.tsv``/``OUT.json``.

Job K (``--split K/N --split-root SPLITS``) scores, for each condition, the utterances of
the one job's seeded sample that it is dealt (every N-th from the K-th) and writes their
scores, per utterance, to ``SPLITS/<K>/scores.json``. The merge (``--from-splits SPLITS``)
puts the scores back in the sample's order and averages them as one job does
(:func:`trnet.se.score.condition_row`): JSON keeps every float exactly (NaN included), so the
rows are the one job's, bit for bit.
"""

from __future__ import annotations

import json
from pathlib import Path

from trnet.contract import read_json_object
from trnet.data.splits import share, split_dirs
from trnet.errors import TrnetError
from trnet.io import atomic_write
from trnet.parallel import ordered_map
from trnet.se.score import METRICS, _pair_scores, condition_row, condition_sample

PART_FILE = "scores.json"
SCORE_KEYS = tuple(f"{m}_{side}" for m in METRICS for side in ("in", "out"))


def _header(info: dict, conditions: list[str], split: tuple[int, int]) -> dict:
    """What a part records besides its scores, and what the merge compares against."""
    return {"info": info, "conditions": list(conditions), "split": list(split)}


def score_part(
    dump_root: Path,
    conditions: list[str],
    info: dict,
    split: tuple[int, int],
    split_root: Path,
    nj: int = 1,
) -> tuple[Path, str]:
    """Job K's scores into ``split_root/<K>/scores.json``; kept when it holds them already."""
    path = Path(split_root) / str(split[0]) / PART_FILE
    header = _header(info, conditions, split)
    if path.is_file():
        previous = read_json_object(path)
        if {key: previous.get(key) for key in header} == header:
            return path, "kept"
    max_utts, seed = info["max_utts"], info["seed"]
    scores: dict[str, dict[str, dict[str, float]]] = {}
    for cond in conditions:
        mine = share(condition_sample(dump_root, cond, max_utts, seed), *split)
        values = ordered_map(_pair_scores, [item for _, item in mine], nj, desc=f"score {cond}")
        scores[cond] = {utt: s for (utt, _), s in zip(mine, values, strict=True)}
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_write(path) as f:
        json.dump({**header, "scores": scores}, f, indent=1)
    return path, "written"


def _part_scores(path: Path, header: dict) -> dict:
    """A part's scores per condition, after checking it is the job the merge expects."""
    if not path.is_file():
        raise TrnetError(f"{path}: not complete (no file: its split job failed or did not run)")
    part = read_json_object(path)
    for key, value in header.items():
        if part.get(key) != value:
            raise TrnetError(
                f"{path}: scored with {key} {part.get(key)!r}, this merge asks for {value!r} "
                f"(rerun its split job)"
            )
    scores = part.get("scores")
    if not isinstance(scores, dict):
        raise TrnetError(f"{path}: no 'scores' object")
    return scores


def _utt_scores(path: Path, scores: dict, cond: str, utt: str) -> dict[str, float]:
    entry = scores.get(cond, {}).get(utt) if isinstance(scores.get(cond), dict) else None
    if not isinstance(entry, dict) or not all(
        isinstance(entry.get(k), (int, float)) and not isinstance(entry.get(k), bool)
        for k in SCORE_KEYS
    ):
        raise TrnetError(f"{path}: no scores {', '.join(SCORE_KEYS)} of {cond} {utt!r}")
    return {k: float(entry[k]) for k in SCORE_KEYS}


def merge_scores(dump_root: Path, conditions: list[str], info: dict, splits: Path) -> list[dict]:
    """One row per condition from the parts in ``splits``, as :func:`score_conditions`."""
    paths = split_dirs(splits, PART_FILE, "trnet score-se --split K/N")
    n = len(paths)
    parts = [
        _part_scores(path, _header(info, conditions, (k, n)))
        for k, path in enumerate(paths, start=1)
    ]
    rows = []
    for cond in conditions:
        sample = condition_sample(dump_root, cond, info["max_utts"], info["seed"])
        scores = [
            _utt_scores(paths[i % n], parts[i % n], cond, utt) for i, (utt, _) in enumerate(sample)
        ]
        rows.append(condition_row(cond, scores))
    return rows
