"""Packet loss: 20 ms frames dropped at random and zero-filled (no concealment)."""

from __future__ import annotations

import math

import numpy as np

from trnet.contract import SAMPLE_RATE
from trnet.corrupt.corrupted import Corrupted
from trnet.errors import TrnetError

FRAME_MS = 20.0


def packet_loss(
    speech: np.ndarray, rate: float, rng: np.random.Generator, sr: int = SAMPLE_RATE
) -> Corrupted:
    """Each 20 ms frame of ``speech`` (the last one may be shorter) dropped with probability
    ``rate``, independently (one ``rng.random`` draw per frame), and zero-filled. Level:
    ``lost``, the realised fraction of frames dropped; ``dropped`` lists them (0-based)."""
    if not 0 <= rate < 1:
        raise TrnetError(f"packet loss rate must be in [0, 1), got {rate}")
    wave = np.array(speech, dtype=np.float32)
    frame = round(sr * FRAME_MS / 1000)
    n_frames = math.ceil(wave.size / frame)
    dropped = tuple(int(i) for i in np.flatnonzero(rng.random(n_frames) < rate))
    for i in dropped:
        wave[i * frame : (i + 1) * frame] = 0
    return Corrupted(wave, {"lost": len(dropped) / n_frames if n_frames else 0.0}, dropped)
