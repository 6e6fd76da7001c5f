"""The numeric core of mixing: seeds, fitting a noise clip to an utterance, exact SNR scaling,
peak protection and int16 quantisation.

SNR definition. ``level="rms"``: speech power = mean square over the whole utterance.
``level="active"``: speech power = mean square over the *active* 20 ms frames only, i.e.
frames whose energy is within ``ACTIVE_RANGE_DB`` of the loudest frames (the 95th percentile
of frame energies), so pauses do not lower the speech level. Noise power is always the mean
square over the whole utterance.

Peak protection scales speech and noise together by ``g`` (so the SNR is unchanged) when
``|speech + noise|`` would exceed ``PEAK``; the noisy audio is then ``g * (speech + noise)``
and its clean reference is ``g * clean``. Because the written audio is int16, the noise
scale is corrected (a few fixed-point steps) until the SNR measured on the *quantised*
mixture matches the target; what remains is reported as the realised SNR.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from trnet.audio import to_int16
from trnet.errors import TrnetError

PEAK = 0.99
ACTIVE_FRAME = 320
ACTIVE_RANGE_DB = 40.0
GAIN_DECIMALS = 6
SNR_TOLERANCE_DB = 0.001


def fit_noise_to_length(noise: np.ndarray, length: int, offset: int) -> np.ndarray:
    """``length`` samples of ``noise`` from ``offset`` on, wrapping around (tiling) as needed."""
    if noise.size == 0:
        raise ValueError("cannot fit an empty noise clip")
    out = np.empty(length, dtype=noise.dtype)
    pos, start = 0, offset % noise.size
    while pos < length:
        chunk = noise[start : start + length - pos]
        out[pos : pos + chunk.size] = chunk
        pos, start = pos + chunk.size, 0
    return out


def speech_power(speech: np.ndarray, level: str = "rms") -> float:
    """Mean square of ``speech`` (``rms``) or of its active frames only (``active``)."""
    x = np.asarray(speech, dtype=np.float64)
    if level == "rms":
        return float(np.square(x).sum()) / x.size if x.size else 0.0
    if level != "active":
        raise TrnetError(f"--level: unknown level {level!r} (use rms or active)")
    n_frames = max(1, x.size // ACTIVE_FRAME)
    frames = (
        x[: n_frames * ACTIVE_FRAME].reshape(n_frames, -1) if x.size >= ACTIVE_FRAME else x[None]
    )
    energy = np.mean(frames**2, axis=1)
    reference = np.percentile(energy, 95)
    active = energy >= reference * 10 ** (-ACTIVE_RANGE_DB / 10)
    return float(np.mean(energy[active])) if reference > 0 else 0.0


def noise_scale(p_speech: float, noise: np.ndarray, snr_db: float) -> float:
    """The factor that brings ``noise`` to ``p_speech / 10^(snr/10)`` mean-square power."""
    p_noise = float(np.square(noise).sum()) / max(noise.size, 1)
    if p_speech <= 0 or p_noise <= 0:
        raise ValueError("speech and noise must both have non-zero energy")
    return math.sqrt(p_speech / (p_noise * 10 ** (snr_db / 10)))


def scale_noise_to_snr(
    speech: np.ndarray, noise: np.ndarray, snr_db: float, level: str = "rms"
) -> np.ndarray:
    """``noise`` scaled so that speech power / noise power equals ``snr_db`` (float64)."""
    noise = np.asarray(noise, dtype=np.float64)
    return noise * noise_scale(speech_power(speech, level), noise, snr_db)


def peak_gain(mixture: np.ndarray) -> float:
    """The largest gain ≤ 1 (rounded down to ``GAIN_DECIMALS``) keeping ``|g·mixture| ≤ PEAK``."""
    peak = float(np.max(np.abs(mixture))) if mixture.size else 0.0
    if peak <= PEAK:
        return 1.0
    scale = 10**GAIN_DECIMALS
    return math.floor(PEAK / peak * scale) / scale


@dataclass
class Mixture:
    """An int16 noisy utterance with the gain applied to it and its realised SNR (dB)."""

    samples: np.ndarray
    gain: float
    snr: float


def mix_at_snr(speech: np.ndarray, noise: np.ndarray, snr_db: float, level: str = "rms") -> Mixture:
    """``g * (speech + scaled noise)`` as int16, realising ``snr_db`` on the quantised output.

    ``noise`` must already have the length of ``speech``.
    """
    clean = np.asarray(speech, dtype=np.float64)
    noise = np.asarray(noise, dtype=np.float64)
    p_speech = speech_power(clean, level)
    scale = noise_scale(p_speech, noise, snr_db)
    for _ in range(6):
        mixture = noise * scale
        mixture += clean
        gain = peak_gain(mixture)
        if gain != 1.0:
            mixture *= gain
        samples = to_int16(mixture)
        residual = samples / 32768.0
        residual -= clean if gain == 1.0 else gain * clean
        p_noise = float(np.square(residual).sum()) / residual.size
        realised = 10 * math.log10(gain**2 * p_speech / p_noise) if p_noise > 0 else math.inf
        if abs(realised - snr_db) < SNR_TOLERANCE_DB or not math.isfinite(realised):
            break  # (infinite: the noise is below int16's resolution; only under --force)
        scale *= 10 ** ((realised - snr_db) / 20)
    return Mixture(samples=samples, gain=gain, snr=realised)
