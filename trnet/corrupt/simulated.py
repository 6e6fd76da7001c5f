"""Simulated RIR sets for ``rev-<rt60>`` conditions (``trnet make-rirs``), where no RIR
corpus is given (the recipe without ``--rir_dir``).

For each reverberation condition of a list (the others are left out): ``<db>/<condition>/``
holds ``room<k>.wav`` (float32, 16 kHz), ``n`` rooms simulated by :mod:`trnet.corrupt.room`
whose RT60, *measured* as ``trnet rir-index`` measures it, lies within :data:`ACCEPT` of the
tolerance ``trnet corrupt`` draws with (:data:`trnet.corrupt.conditions.RT60_TOLERANCE`):
rooms are drawn from ``(seed, condition)`` with a target RT60 in :data:`TARGET` × the
condition's (the image method decays more slowly than Sabine's formula says) and kept when
they measure close enough. ``rirs.json`` (what was asked and each room) is written last;
while the set is written, ``rirs.json.partial`` holds the request, so an interrupted set is
recognised as ours and redone. Then ``<index>/<condition>/`` is that set indexed by
:func:`trnet.corrupt.rir_index.build_rir_index`: one index per condition, so adding a
condition later changes no index (nor the conditions made from it, which sign theirs).

A rerun with the same request leaves a complete set's files untouched (the index records
their size and mtime); another request for the same condition is refused unless
``overwrite``, and only a folder that the marker says this command made is ever emptied.
"""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile as sf

from trnet.contract import SAMPLE_RATE, parse_condition, single_corruption
from trnet.corrupt.conditions import RT60_TOLERANCE
from trnet.corrupt.rir_index import Measured, build_rir_index
from trnet.corrupt.room import draw_room, simulate_rir
from trnet.errors import TrnetError, overwrite_hint
from trnet.io import atomic_write

VERSION = 1
"""Bumped whenever the simulated set changes for the same request."""
MARKER = "rirs.json"
ACCEPT = 0.8
"""A kept room measures within this share of ``trnet corrupt``'s RT60 tolerance (the index
rounds RT60 to the ms, so a room is never at the tolerance's very edge)."""
TARGET = (0.7, 1.0)
"""The target RT60 of a drawn room, relative to the condition's: the image method's decay is
longer than Sabine's (measured/target 0.90-1.43 over seeds 0-9, docs/corruptions.md)."""
MAX_DRAWS = 30
"""Rooms drawn per room kept, at most, before a request is refused."""
DEFAULT_N = 8


@dataclass(frozen=True)
class SimulatedSet:
    """One condition's set: its folder, its index and whether this call simulated it."""

    condition: str
    rirs: Path
    index: Path
    made: bool
    measured: list[Measured]


def request(condition: str, rt60: float, n: int, seed: int) -> dict:
    """What a set is made from (its marker, without the rooms)."""
    return {
        "generator": "trnet make-rirs",
        "version": VERSION,
        "condition": condition,
        "rt60": rt60,
        "n": n,
        "seed": seed,
        "tolerance": ACCEPT * RT60_TOLERANCE,
        "sample_rate": SAMPLE_RATE,
    }


def _read_marker(path: Path) -> dict | None:
    if not path.is_file():
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        raise TrnetError(f"{path}: not a valid marker file (json expected)") from None
    return data if isinstance(data, dict) else None


def _is_complete(dest: Path, asked: dict) -> bool:
    marker = _read_marker(dest / MARKER)
    return marker is not None and {k: marker.get(k) for k in asked} == asked


def _clear(dest: Path, asked: dict, overwrite: bool) -> None:
    """Empty ``dest`` for the set ``asked`` when it may be: absent, empty, an interrupted set
    of the same request, or (with ``overwrite``) another set of ours; else refuse."""
    if not dest.exists():
        return
    if not dest.is_dir():
        raise TrnetError(f"{dest}: exists and is not a directory")
    done, partial = _read_marker(dest / MARKER), _read_marker(dest / f"{MARKER}.partial")
    ours = done or partial
    if ours is None:
        if any(dest.iterdir()):
            raise TrnetError(
                f"{dest}: exists and was not made by trnet make-rirs; it will not be "
                "deleted, move it away first"
            )
        return
    mine = {k: ours.get(k) for k in asked}
    if done is not None and mine != asked and not overwrite:
        raise TrnetError(
            f"{dest}: holds simulated RIRs of seed {ours.get('seed')}, n {ours.get('n')}, "
            f"version {ours.get('version')}, not seed {asked['seed']}, n {asked['n']}, "
            f"version {asked['version']}; {overwrite_hint()}"
        )
    shutil.rmtree(dest)


def simulate_set(dest: Path, condition: str, n: int, seed: int, overwrite: bool) -> bool:
    """Simulate ``condition``'s ``n`` rooms into ``dest`` (see the module doc); False when a
    complete set of the same request is there (then nothing is touched)."""
    rt60 = float(parse_condition(condition).corruptions[0].level)
    asked = request(condition, rt60, n, seed)
    if _is_complete(dest, asked):
        return False
    _clear(dest, asked, overwrite)
    dest.mkdir(parents=True)
    with atomic_write(dest / f"{MARKER}.partial") as f:
        json.dump(asked, f, indent=1, sort_keys=True)
    rng = np.random.default_rng([seed, zlib.crc32(condition.encode("utf-8"))])
    target = (TARGET[0] * rt60, TARGET[1] * rt60)
    rooms: list[dict] = []
    for _ in range(MAX_DRAWS * n):
        room = draw_room(rng, target)
        rir = simulate_rir(room)
        if abs(round(rir.rt60, 3) - rt60) > ACCEPT * RT60_TOLERANCE * rt60:
            continue
        path = dest / f"room{len(rooms)}.wav"
        tmp = dest / f".room{len(rooms)}.tmp.wav"
        sf.write(tmp, rir.samples, SAMPLE_RATE, subtype="FLOAT")
        os.replace(tmp, path)
        rooms.append({**dataclasses.asdict(room), "rt60": rir.rt60, "drr": rir.drr})
        if len(rooms) == n:
            break
    else:
        raise TrnetError(
            f"{condition}: {len(rooms)} of {n} simulated rooms measure an RT60 within "
            f"{ACCEPT * RT60_TOLERANCE:.0%} of {rt60:g} s after {MAX_DRAWS * n} rooms "
            "(simulated rooms reach about 0.15-1.5 s; give an RIR corpus instead)"
        )
    with atomic_write(dest / MARKER) as f:
        json.dump({**asked, "rooms": rooms}, f, indent=1, sort_keys=True)
    (dest / f"{MARKER}.partial").unlink()
    return True


def make_condition_rirs(
    db: str | os.PathLike,
    index_root: str | os.PathLike,
    conditions: list[str],
    n: int = DEFAULT_N,
    seed: int = 0,
    overwrite: bool = False,
) -> list[SimulatedSet]:
    """For each ``rev-*`` condition of ``conditions`` (all checked first; the others left
    out): its simulated set ``<db>/<condition>/`` and its index ``<index_root>/<condition>/``
    (``trnet corrupt --rirs <index_root>/<condition>``)."""
    if n < 1:
        raise TrnetError(f"--n: at least 1 room per condition, got {n}")
    names = [single_corruption(c, "--condition") for c in conditions]
    reverb = [c for c in dict.fromkeys(names) if parse_condition(c).corruptions[0].kind == "rev"]
    done = []
    for condition in reverb:
        rirs, index = Path(db) / condition, Path(index_root) / condition
        made = simulate_set(rirs, condition, n, seed, overwrite)
        measured, _ = build_rir_index(rirs, index)
        done.append(SimulatedSet(condition, rirs, index, made, measured))
    return done
