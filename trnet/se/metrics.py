"""Objective SE metrics: SI-SDR, wideband PESQ (``pesq``) and STOI (``pystoi``)."""

from __future__ import annotations

import numpy as np

from trnet.audio import SAMPLE_RATE

SISDR_CAP_DB = 100.0
"""SI-SDR of an exact (scaled) copy is infinite; it is reported as this bound."""


def si_sdr(est: np.ndarray, ref: np.ndarray) -> float:
    """Scale-invariant SDR in dB (both signals zero-meaned), bounded at ``SISDR_CAP_DB``."""
    est = np.asarray(est, dtype=np.float64) - np.mean(est)
    ref = np.asarray(ref, dtype=np.float64) - np.mean(ref)
    n = min(len(est), len(ref))
    est, ref = est[:n], ref[:n]
    ref_energy = float(np.dot(ref, ref))
    if ref_energy <= 0.0:
        return float("nan")
    target = (np.dot(est, ref) / ref_energy) * ref
    err = float(np.sum((est - target) ** 2))
    tgt = float(np.sum(target**2))
    if err <= tgt * 10 ** (-SISDR_CAP_DB / 10):
        return SISDR_CAP_DB
    return 10.0 * np.log10(max(tgt, 1e-20) / err)


def pesq_wb(ref: np.ndarray, deg: np.ndarray, sr: int = SAMPLE_RATE) -> float:
    """Wideband PESQ (MOS-LQO, about 1.04 to 4.64); NaN where PESQ finds no speech."""
    from pesq import pesq

    n = min(len(ref), len(deg))
    try:
        return float(
            pesq(sr, np.asarray(ref[:n], np.float64), np.asarray(deg[:n], np.float64), "wb")
        )
    except Exception:  # pesq raises for utterances without detectable speech
        return float("nan")


def stoi(ref: np.ndarray, deg: np.ndarray, sr: int = SAMPLE_RATE) -> float:
    """Short-time objective intelligibility in [0, 1] (NaN when too short to score)."""
    from pystoi import stoi as _stoi

    n = min(len(ref), len(deg))
    value = float(_stoi(np.asarray(ref[:n], np.float64), np.asarray(deg[:n], np.float64), sr))
    return value if np.isfinite(value) else float("nan")
