"""Objective SE metrics: SI-SDR, wideband PESQ (``pesq``) and STOI (``pystoi``)."""

from __future__ import annotations

import numpy as np

from trnet.contract import SAMPLE_RATE
from trnet.errors import TrnetError

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
    """Wideband PESQ (MOS-LQO, about 1.04 to 4.64); NaN (not scored) where the audio is too
    short (under 1/4 s) or PESQ finds no speech. Any other failure (a sample rate PESQ does
    not take) is an error, not a NaN."""
    import warnings

    from pesq import BufferTooShortError, NoUtterancesError, pesq

    if sr not in (8000, 16000):
        raise TrnetError(f"PESQ: sample rate {sr} Hz not supported (8000 or 16000 only)")
    n = min(len(ref), len(deg))
    try:
        with warnings.catch_warnings():  # all-zero audio divides by zero before it raises
            warnings.simplefilter("ignore", RuntimeWarning)
            return float(
                pesq(sr, np.asarray(ref[:n], np.float64), np.asarray(deg[:n], np.float64), "wb")
            )
    except (BufferTooShortError, NoUtterancesError):
        return float("nan")


def stoi(ref: np.ndarray, deg: np.ndarray, sr: int = SAMPLE_RATE) -> float:
    """Short-time objective intelligibility in [0, 1]; NaN (not scored) when too short.

    pystoi returns 1e-5 with a warning for audio with too few frames (after removing
    silence): that 1e-5 is no score and must not enter a mean."""
    import warnings

    from pystoi import stoi as _stoi

    n = min(len(ref), len(deg))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        value = float(_stoi(np.asarray(ref[:n], np.float64), np.asarray(deg[:n], np.float64), sr))
    if any("Not enough STFT frames" in str(w.message) for w in caught):
        return float("nan")
    return value if np.isfinite(value) else float("nan")
