"""Room impulse responses simulated by the image source method (pyroomacoustics).

A room is drawn from a ``numpy.random.Generator``: a target RT60 (uniform in the range
asked for), a shoebox's length, width and height (uniform in :data:`ROOM_MIN` ..
:data:`ROOM_MAX` m), the one wall absorption coefficient and image-source order that
Sabine's formula gives for them (pyroomacoustics' ``inverse_sabine``; a room that cannot
reach the RT60 is drawn again), and a source and a microphone at least
:data:`WALL_MARGIN` m from every wall and :data:`MIN_DISTANCE` m apart. The target is a
means of spreading RT60s: what a simulated RIR is labelled with is its RT60 *measured* by
:mod:`trnet.corrupt.rir` (the image method's decay differs from Sabine's by some per cent).

pyroomacoustics is the optional ``rir`` extra: ``pip install 'trnet[rir]'``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from trnet.contract import SAMPLE_RATE
from trnet.corrupt.rir import Rir
from trnet.errors import TrnetError

ROOM_MIN = (3.0, 3.0, 2.5)
ROOM_MAX = (10.0, 8.0, 4.0)
WALL_MARGIN = 0.5
MIN_DISTANCE = 1.0
MAX_ORDER = 100
"""Cap on the image-source order: a small, very reverberant room would need 200+ (15 s of
simulation); the cap shortens only the far tail, beyond the -25 dB the RT60 fit uses."""
MAX_DRAWS = 100


@dataclass(frozen=True)
class Room:
    """What was drawn for one simulated RIR (metres, seconds)."""

    dims: tuple[float, float, float]
    rt60_target: float
    absorption: float
    max_order: int
    source: tuple[float, float, float]
    mic: tuple[float, float, float]


def _pyroomacoustics():
    try:
        import pyroomacoustics
    except ImportError:
        raise TrnetError(
            "simulating RIRs needs pyroomacoustics: pip install 'trnet[rir]'"
        ) from None
    return pyroomacoustics


def draw_room(rng: np.random.Generator, rt60: tuple[float, float] = (0.2, 1.2)) -> Room:
    """A room, its absorption and two positions, drawn from ``rng`` (see the module doc)."""
    pra = _pyroomacoustics()
    lo, hi = rt60
    if not 0 < lo <= hi:
        raise TrnetError(f"RT60 range must be 0 < low <= high, got {rt60}")
    for _ in range(MAX_DRAWS):
        target = float(rng.uniform(lo, hi))
        dims = tuple(float(v) for v in rng.uniform(ROOM_MIN, ROOM_MAX))
        try:
            absorption, order = pra.inverse_sabine(target, list(dims))
        except ValueError:  # the room is too large for so short an RT60
            continue
        inner = np.subtract(dims, WALL_MARGIN)
        points = [tuple(float(v) for v in rng.uniform(WALL_MARGIN, inner)) for _ in range(2)]
        if math.dist(*points) < MIN_DISTANCE:
            continue
        return Room(dims, target, float(absorption), min(int(order), MAX_ORDER), *points)
    raise TrnetError(f"no room reaches an RT60 in {rt60} s in {MAX_DRAWS} draws")


def simulate_rir(room: Room, sr: int = SAMPLE_RATE) -> Rir:
    """The RIR from ``room.source`` to ``room.mic`` (image source method, no air absorption),
    measured."""
    pra = _pyroomacoustics()
    shoebox = pra.ShoeBox(
        list(room.dims),
        fs=sr,
        materials=pra.Material(room.absorption),
        max_order=room.max_order,
        air_absorption=False,
    )
    shoebox.add_source(list(room.source))
    shoebox.add_microphone(list(room.mic))
    shoebox.compute_rir()
    return Rir.measure(np.asarray(shoebox.rir[0][0], dtype=np.float32), sr)
