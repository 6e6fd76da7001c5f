"""Room impulse responses: their RT60 and DRR measured by our own code, and reverberation.

RT60 is the T20 estimate (ISO 3382): the energy decay curve (EDC, Schroeder's backward
integration of ``h²`` from the direct path on) in dB, a least-squares line fitted to it
between -5 and -25 dB, extrapolated to -60 dB (RT60 = -60 / slope). Before integrating, the
response is cut where its 10 ms energy envelope falls to 10 dB above its noise floor (the
mean power of its last 10%), so a recorded RIR's noise tail does not flatten the curve; a
response whose loudest 10 ms are less than 35 dB above its floor has no T20
(:class:`TrnetError`).

DRR (direct-to-reverberant ratio, dB): the energy within ±2.5 ms of the direct path (the
largest ``|h|``) over the energy after that window, up to the same cut.

Reverberation convolves the utterance with the RIR and keeps the samples from the direct
path's delay on, so the output has the input's length and is aligned with the utterance
convolved with the direct path alone (labels, durations and segment times hold); it is
scaled to the input's RMS, so a later SNR or a table does not depend on the RIR's gain.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass

import numpy as np
import soundfile as sf
from scipy.signal import fftconvolve

from trnet.audio import to_mono_16k
from trnet.contract import SAMPLE_RATE
from trnet.corrupt.corrupted import Corrupted
from trnet.errors import TrnetError
from trnet.mix.mixing import fit_noise_to_length, mix_at_snr

FIT_DB = (-5.0, -25.0)
"""The EDC range the decay line is fitted over (T20)."""
DIRECT_MS = 2.5
"""Half width of the direct-path window around the peak."""
ENVELOPE_MS = 10.0
FLOOR_MARGIN_DB = 10.0
FLOOR_TAIL = 0.1
"""The share of the response (its end) whose mean power is taken as its noise floor."""


@dataclass(frozen=True)
class Rir:
    """An RIR at ``sr`` with its measures: RT60 (s), DRR (dB), the direct path's sample
    index ``peak`` and ``end``, where the measures stop (the noise-floor cut)."""

    samples: np.ndarray
    sr: int
    rt60: float
    drr: float
    peak: int
    end: int

    @classmethod
    def measure(cls, samples: np.ndarray, sr: int = SAMPLE_RATE) -> Rir:
        """Measure ``samples`` (1-D); :class:`TrnetError` for a silent, non-finite or
        too short response."""
        h = np.asarray(samples, dtype=np.float64)
        if h.ndim != 1 or h.size == 0 or not np.isfinite(h).all() or not np.any(h):
            raise TrnetError("not a usable impulse response (empty, silent or not finite)")
        peak = int(np.argmax(np.abs(h)))
        end, span = usable_end(h, sr)
        need = -FIT_DB[1] + FLOOR_MARGIN_DB
        if span < need:
            raise TrnetError(
                f"decays only {span:.1f} dB to its noise floor; T20 needs {need:.0f} dB"
            )
        return cls(
            samples=np.asarray(samples, dtype=np.float32),
            sr=sr,
            rt60=rt60_t20(h[peak:end], sr),
            drr=drr_db(h[:end], peak, sr),
            peak=peak,
            end=end,
        )


def usable_end(h: np.ndarray, sr: int) -> tuple[int, float]:
    """Where the measures stop and the decay range in dB. The end is the sample after the
    last 10 ms block whose mean power is :data:`FLOOR_MARGIN_DB` above the noise floor
    (the mean power of the last :data:`FLOOR_TAIL`; for a response ending in exact zeros,
    the last block with any energy); the range is the loudest block over the floor."""
    energy = np.square(np.asarray(h, dtype=np.float64))
    floor = float(energy[-max(1, int(energy.size * FLOOR_TAIL)) :].mean())
    block = max(1, round(sr * ENVELOPE_MS / 1000))
    n_blocks = math.ceil(energy.size / block)
    padded = np.zeros(n_blocks * block)
    padded[: energy.size] = energy
    envelope = padded.reshape(n_blocks, block).mean(axis=1)
    span = 10 * math.log10(envelope.max() / floor) if floor > 0 else math.inf
    above = np.flatnonzero(envelope > floor * 10 ** (FLOOR_MARGIN_DB / 10))
    end = min(energy.size, int(above[-1] + 1) * block) if above.size else energy.size
    return end, span


def edc_db(h: np.ndarray) -> np.ndarray:
    """Schroeder's energy decay curve of ``h`` in dB re its total energy (0 dB first)."""
    energy = np.square(np.asarray(h, dtype=np.float64))
    edc = np.cumsum(energy[::-1])[::-1]
    with np.errstate(divide="ignore"):
        return 10 * np.log10(edc / edc[0])


def rt60_t20(h: np.ndarray, sr: int) -> float:
    """RT60 in seconds from the EDC of ``h`` (starting at the direct path): the least-squares
    line over the EDC between -5 and -25 dB, extrapolated to -60 dB."""
    curve = edc_db(h)
    hi, lo = FIT_DB
    fit = np.flatnonzero((curve <= hi) & (curve >= lo))
    if fit.size < 2:
        raise TrnetError("decays too fast to measure (fewer than 2 samples between -5 and -25 dB)")
    slope, _ = np.polyfit(fit / sr, curve[fit], 1)
    if slope >= 0:
        raise TrnetError("does not decay")
    return float(-60.0 / slope)


def drr_db(h: np.ndarray, peak: int, sr: int) -> float:
    """Energy within ±:data:`DIRECT_MS` of ``peak`` over the energy after that window, in dB."""
    energy = np.square(np.asarray(h, dtype=np.float64))
    half = round(sr * DIRECT_MS / 1000)
    direct = float(energy[max(0, peak - half) : peak + half + 1].sum())
    late = float(energy[peak + half + 1 :].sum())
    return 10 * math.log10(direct / late) if late > 0 else math.inf


def read_rir(path: str | os.PathLike, sr: int = SAMPLE_RATE) -> Rir:
    """An RIR file's first channel at ``sr``, measured. (Channels of a multi-channel RIR
    are different microphones: averaging them would smear the direct path.)"""
    try:
        data, file_sr = sf.read(str(path), dtype="float32", always_2d=True)
    except Exception as err:  # soundfile raises many types for bad files
        raise TrnetError(f"{path}: cannot read audio ({err})") from None
    try:
        return Rir.measure(to_mono_16k(data[:, 0], int(file_sr), sr), sr)
    except TrnetError as err:
        raise TrnetError(f"{path}: {err}") from None


def _reverberant(speech: np.ndarray, rir: Rir) -> np.ndarray:
    """``speech`` convolved with the RIR, from the direct path's delay on, at the input's
    length and RMS (float64)."""
    x = np.asarray(speech, dtype=np.float64)
    y = fftconvolve(x, np.asarray(rir.samples, dtype=np.float64))[rir.peak : rir.peak + x.size]
    p_in, p_out = float(np.square(x).sum()), float(np.square(y).sum())
    return y * math.sqrt(p_in / p_out) if p_out > 0 else y


def reverberate(speech: np.ndarray, rir: Rir) -> Corrupted:
    """``speech`` in the room of ``rir``. Levels: ``rt60`` (s) and ``drr`` (dB) of the RIR."""
    wave = _reverberant(speech, rir).astype(np.float32)
    return Corrupted(wave, {"rt60": rir.rt60, "drr": rir.drr})


def reverberate_with_noise(
    speech: np.ndarray,
    rir: Rir,
    noise: np.ndarray,
    snr_db: float,
    rng: np.random.Generator,
    level: str = "rms",
) -> Corrupted:
    """Reverberant speech plus noise, as a microphone in a noisy room records it: the noise
    (already room noise, e.g. RIRS_NOISES' isotropic noises; not convolved again) is added
    after the reverberation, from an offset drawn from ``rng`` (wrapping around), at
    ``snr_db`` re the *reverberant* speech's power (``level`` as in ``trnet mix``).

    The sum goes through :func:`trnet.mix.mixing.mix_at_snr` (peak protection, int16), so
    ``wave`` is what an int16 file holds. Levels: ``rt60``, ``drr``, ``snr`` (the SNR
    realised on the quantised output) and ``gain`` (the peak protection's factor, applied to
    speech and noise alike)."""
    noise = np.asarray(noise, dtype=np.float64)
    if noise.size == 0:
        raise TrnetError("the noise clip is empty")
    reverberant = _reverberant(speech, rir)
    fitted = fit_noise_to_length(noise, reverberant.size, int(rng.integers(noise.size)))
    try:
        mixture = mix_at_snr(reverberant, fitted, snr_db, level)
    except ValueError as err:  # silent speech or noise
        raise TrnetError(f"cannot set an SNR: {err}") from None
    wave = (mixture.samples / 32768.0).astype(np.float32)
    levels = {"rt60": rir.rt60, "drr": rir.drr, "snr": mixture.snr, "gain": mixture.gain}
    return Corrupted(wave, levels)
