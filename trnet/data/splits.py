"""Array jobs: the dirs ``SPLITS/<k>/<name>`` (k = 1..N) that N jobs write and a merge
reads, and ``--split K/N`` (job K of N takes every N-th item of the one job's work list,
from the K-th on: each item is then done exactly as the one job does it).

``trnet mix`` splits its source with ``utils/split_data.sh --per-utt`` (a mixed utterance
depends on its id alone); ``trnet enhance`` deals out the one job's batches (an enhanced
utterance depends on the batch it is padded into) and ``trnet score-se`` its seeded sample.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import TypeVar

from trnet.errors import TrnetError

T = TypeVar("T")


def parse_split(text: str, option: str = "--split") -> tuple[int, int]:
    """``"3/4"`` → ``(3, 4)``: job 3 of 4 (1 ≤ K ≤ N)."""
    match = re.fullmatch(r"(\d+)/(\d+)", text.strip())
    if not match or not 1 <= int(match[1]) <= int(match[2]):
        raise TrnetError(f"{option} {text!r}: expected K/N with 1 <= K <= N (job K of N)")
    return int(match[1]), int(match[2])


def share(items: list[T], k: int, n: int) -> list[T]:
    """Job ``k`` of ``n``'s items: every ``n``-th, from the ``k``-th on (round robin: the
    long items of a length-sorted list are spread over the jobs)."""
    return items[k - 1 :: n]


def split_dirs(splits: Path, name: str, command: str) -> list[Path]:
    """``SPLITS/<k>/<name>`` for k = 1..N (every numbered dir of ``splits``, none missing);
    ``command`` names what writes them, for the messages."""
    if not Path(splits).is_dir():
        raise TrnetError(f"{splits}: no such dir of split outputs (SPLITS/<k>/{name})")
    numbers = sorted(int(p.name) for p in Path(splits).iterdir() if p.name.isdigit())
    if not numbers:
        raise TrnetError(f"{splits}: no split output dirs 1..N (run {command} on each split)")
    if numbers != list(range(1, len(numbers) + 1)):
        raise TrnetError(f"{splits}: split output dirs {numbers} are not 1..{len(numbers)}")
    return [Path(splits) / str(k) / name for k in numbers]
