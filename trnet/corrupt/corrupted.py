"""What every corruption returns, and the measures more than one of them uses."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np


@dataclass(frozen=True)
class Corrupted:
    """A corrupted utterance: ``wave`` (float32, the input's length, aligned with it) and
    ``levels``, each measured on ``wave`` (name → value; see each function for its names
    and units). ``dropped`` lists the frames packet loss zeroed (empty for the others)."""

    wave: np.ndarray
    levels: dict[str, float]
    dropped: tuple[int, ...] = field(default=())


def sdr_db(reference: np.ndarray, degraded: np.ndarray) -> float:
    """Signal-to-distortion ratio in dB: reference power over the power of the difference
    (both aligned and of one length); ``inf`` when they are equal."""
    ref = np.asarray(reference, dtype=np.float64)
    err = np.asarray(degraded, dtype=np.float64) - ref
    p_err = float(np.square(err).sum())
    p_ref = float(np.square(ref).sum())
    if p_err == 0:
        return math.inf
    return 10 * math.log10(p_ref / p_err) if p_ref > 0 else -math.inf


def best_lag(signal: np.ndarray, reference: np.ndarray, max_lag: int) -> int:
    """The lag (in samples, ``-max_lag..max_lag``) at which ``signal`` best matches
    ``reference``: ``signal[n + lag] ≈ reference[n]``, from the peak of their
    cross-correlation (computed by FFT). 0 when either is silent."""
    sig = np.asarray(signal, dtype=np.float64)
    ref = np.asarray(reference, dtype=np.float64)
    size = 1 << (sig.size + ref.size - 1).bit_length()
    xcorr = np.fft.irfft(np.fft.rfft(sig, size) * np.conj(np.fft.rfft(ref, size)), size)
    lags = np.concatenate([np.arange(0, max_lag + 1), np.arange(-max_lag, 0)])
    values = xcorr[lags % size]
    if not np.any(values):
        return 0
    return int(lags[int(np.argmax(values))])


def fit_length(wave: np.ndarray, length: int) -> np.ndarray:
    """``wave`` cut or zero-padded at its end to ``length`` samples, as float32."""
    out = np.zeros(length, dtype=np.float32)
    n = min(length, wave.size)
    out[:n] = wave[:n]
    return out
