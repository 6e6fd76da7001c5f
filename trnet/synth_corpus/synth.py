"""Source-filter speech synthesis (numpy + scipy, vectorised over samples).

A glottal pulse train (with jitter and shimmer) is shaped by a spectral tilt filter (the
voice quality), mixed with aspiration noise, and passed through vowel formant filters
(cascaded Klatt resonators); the vowel changes per syllable by cross-fading the outputs of
a few vowel filters. Syllables start with consonant-like noise (fricatives, plosive
bursts); phrases are separated by pauses. All randomness comes from the ``rng`` given.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from scipy.signal import butter, lfilter, sosfilt

from trnet.contract import SAMPLE_RATE

VOWEL_FORMANTS = np.array(
    [  # F1..F5 in Hz for an adult male vocal tract: /a/ /i/ /u/ /e/ /o/
        [730, 1090, 2440, 3400, 4400],
        [270, 2290, 3010, 3500, 4500],
        [300, 870, 2240, 3300, 4300],
        [530, 1840, 2480, 3450, 4450],
        [570, 840, 2410, 3350, 4350],
    ],
    dtype=np.float64,
)
FORMANT_BANDWIDTHS = np.array([80.0, 100.0, 140.0, 200.0, 260.0])
CONSONANT_BANDS = ((4000.0, 7500.0), (2200.0, 5000.0), (900.0, 7000.0), (500.0, 6000.0))
"""Noise bands (Hz) of /s/-, /sh/-, /f/-like fricatives and of a plosive burst."""
PLOSIVE = 3
REFERENCE_RMS_DB = -26.0
"""RMS level (dBFS, over active speech) of an utterance with ``level_db`` = 0."""
NOISE_FLOOR_DB = -66.0
"""Level of the quiet background noise every recording has (no exact digital silence)."""


def rng_for(seed: int, *keys: str) -> np.random.Generator:
    """A generator that depends only on the global seed and the given names (e.g. utt id)."""
    digest = hashlib.sha256("\0".join(keys).encode("utf-8")).digest()
    return np.random.default_rng([int(seed), int.from_bytes(digest[:8], "little")])


@dataclass(frozen=True)
class Voice:
    """A speaker's voice: pitch, vocal tract size and voice quality."""

    f0: float  # baseline F0 (Hz)
    formant_scale: float  # 1.0 = adult male tract, ~1.17 = female
    tilt: float  # pole of the glottal low-pass (0.8 bright ... 0.98 dark)
    breath: float  # aspiration noise relative to the voiced source
    rate: float  # syllables per second
    jitter: float  # relative period perturbation
    shimmer: float  # relative pulse amplitude perturbation


@dataclass(frozen=True)
class Prosody:
    """How one utterance departs from the speaker's baseline (the emotion lives here)."""

    f0_scale: float = 1.0  # multiplies the voice's F0
    f0_range: float = 2.5  # semitones of the syllable accents
    slope: float = -2.0  # semitones from start to end (declination < 0, rising > 0)
    rate_scale: float = 1.0
    level_db: float = 0.0  # loudness relative to REFERENCE_RMS_DB
    tilt_shift: float = 0.0  # added to the voice's tilt (< 0: more high-frequency energy)
    breath_scale: float = 1.0
    burst_db: float = 0.0  # consonant noise level
    pause_scale: float = 1.0


@dataclass
class _Plan:
    """Per-segment description of an utterance: kind 0 pause, 1 consonant, 2 vowel."""

    kinds: list[int]
    lengths: list[int]
    vowels: list[int]  # vowel index (vowel segments) or consonant band (consonants)


def _plan(voice: Voice, prosody: Prosody, n: int, sr: int, rng: np.random.Generator) -> _Plan:
    plan = _Plan([0], [int(rng.uniform(0.04, 0.15) * sr)], [0])
    tail = int(rng.uniform(0.04, 0.12) * sr)
    pos, left_in_phrase = plan.lengths[0], int(rng.integers(3, 8))
    syllable = 1.0 / (voice.rate * prosody.rate_scale)
    while pos < n - tail:
        dur = syllable * rng.lognormal(0.0, 0.25) * sr
        band = int(rng.integers(-1, len(CONSONANT_BANDS)))
        if band >= 0:
            frac = 0.12 if band == PLOSIVE else rng.uniform(0.2, 0.4)
            segs = [(1, int(dur * frac), band), (2, int(dur * (1 - frac)), int(rng.integers(5)))]
        else:
            segs = [(2, int(dur), int(rng.integers(5)))]
        left_in_phrase -= 1
        if left_in_phrase == 0:
            segs.append((0, int(rng.uniform(0.08, 0.3) * prosody.pause_scale * sr), 0))
            left_in_phrase = int(rng.integers(3, 8))
        for kind, length, idx in segs:
            plan.kinds.append(kind)
            plan.lengths.append(max(length, 1))
            plan.vowels.append(idx)
            pos += max(length, 1)
    plan.kinds.append(0)
    plan.lengths.append(max(tail, n - pos) + 1)
    plan.vowels.append(0)
    return plan


def _trapezoid(length: int, ramp: int) -> np.ndarray:
    r = max(1, min(ramp, length // 2))
    win = np.ones(length)
    win[:r] = np.linspace(0.0, 1.0, r, endpoint=False)
    win[length - r :] = np.linspace(1.0, 0.0, r)
    return win


def _envelopes(plan: _Plan, n: int, sr: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Voicing envelope, consonant envelopes (bands × n) and vowel one-hot weights (5 × n)."""
    voiced = np.zeros(n)
    cons = np.zeros((len(CONSONANT_BANDS), n))
    vowel = np.zeros((len(VOWEL_FORMANTS), n))
    pos = 0
    for kind, length, idx in zip(plan.kinds, plan.lengths, plan.vowels, strict=True):
        end = min(pos + length, n)
        if end > pos and kind == 2:
            voiced[pos:end] = _trapezoid(length, int(0.02 * sr))[: end - pos]
            vowel[idx, pos:end] = 1.0
        elif end > pos and kind == 1:
            ramp = int(0.003 * sr) if idx == PLOSIVE else int(0.015 * sr)
            cons[idx, pos:end] = _trapezoid(length, ramp)[: end - pos]
        pos = end
    # coarticulation: vowel weights glide over ~25 ms (one-pole smoothing both ways)
    a = np.exp(-1.0 / (0.025 * sr))
    vowel = lfilter([1 - a], [1, -a], vowel, axis=1)
    vowel = lfilter([1 - a], [1, -a], vowel[:, ::-1], axis=1)[:, ::-1]
    vowel /= np.maximum(vowel.sum(axis=0, keepdims=True), 1e-9)
    return voiced, cons, vowel


def _f0_contour(
    voice: Voice, prosody: Prosody, plan: _Plan, n: int, sr: int, rng: np.random.Generator
) -> np.ndarray:
    """F0 per sample: declination/rise over the utterance plus per-syllable accents."""
    starts = np.cumsum([0, *plan.lengths[:-1]])
    centres = np.array(
        [s + ln / 2 for s, ln, k in zip(starts, plan.lengths, plan.kinds, strict=True) if k == 2]
    )
    if centres.size == 0:
        centres = np.array([n / 2])
    accents = prosody.f0_range * rng.uniform(-0.4, 1.0, size=centres.size)
    semitones = prosody.slope * centres / n + accents
    t = np.arange(n)
    contour = np.interp(t, centres, semitones)
    a = np.exp(-1.0 / (0.04 * sr))
    contour = lfilter([1 - a], [1, -a], contour, zi=[contour[0] * a])[0]
    f0 = voice.f0 * prosody.f0_scale * 2.0 ** (contour / 12.0)
    step = int(0.005 * sr)
    jitter = np.repeat(rng.normal(0.0, voice.jitter, size=n // step + 1), step)[:n]
    return np.clip(f0 * (1.0 + jitter), 50.0, 0.45 * sr)


def _glottal_source(
    f0: np.ndarray, voiced: np.ndarray, tilt: float, sr: int, voice: Voice, rng: np.random.Generator
) -> np.ndarray:
    """Pulse train with shimmer, low-passed twice (glottal flow) and differenced (radiation)."""
    n = f0.size
    phase = rng.uniform() + np.cumsum(f0) / sr
    idx = np.flatnonzero(np.diff(np.floor(phase))) + 1
    idx = idx[voiced[idx] > 0]
    pulses = np.zeros(n)
    pulses[idx] = voiced[idx] * np.maximum(1.0 + rng.normal(0.0, voice.shimmer, idx.size), 0.1)
    flow = lfilter([1 - tilt], [1, -tilt], lfilter([1 - tilt], [1, -tilt], pulses))
    return np.diff(flow, prepend=0.0)


def _formant_sos(formants: np.ndarray, bws: np.ndarray, sr: int) -> np.ndarray:
    """Cascade of Klatt's second-order resonators (unit gain at DC) as second-order sections."""
    keep = formants < 0.45 * sr
    c = -np.exp(-2.0 * np.pi * bws[keep] / sr)
    b = 2.0 * np.exp(-np.pi * bws[keep] / sr) * np.cos(2.0 * np.pi * formants[keep] / sr)
    zeros = np.zeros_like(b)
    return np.stack([1.0 - b - c, zeros, zeros, np.ones_like(b), -b, -c], axis=1)


def vocal_tract(
    source: np.ndarray, weights: np.ndarray, formant_scale: float, sr: int
) -> np.ndarray:
    """Cross-fade of the source through each vowel's cascade of formant resonators."""
    out = np.zeros_like(source)
    for vowel, w in zip(VOWEL_FORMANTS, weights, strict=True):
        sos = _formant_sos(vowel * formant_scale, FORMANT_BANDWIDTHS * formant_scale, sr)
        out += w * sosfilt(sos, source)
    return out


@lru_cache(maxsize=16)
def _band_sos(lo: float, hi: float, sr: int) -> np.ndarray:
    return butter(4, [lo, min(hi, 0.45 * sr)], btype="bandpass", fs=sr, output="sos")


def pink_noise(rng: np.random.Generator, n: int) -> np.ndarray:
    """Unit-RMS noise with a gentle low-frequency tilt (one-pole low-passed white noise)."""
    x = lfilter([1.0], [1.0, -0.9], rng.standard_normal(n))
    return x / (np.sqrt(np.mean(x**2)) + 1e-12)


def _rms(x: np.ndarray) -> float:
    return float(np.sqrt(np.mean(x**2)) + 1e-12)


def synth_utterance(
    voice: Voice, prosody: Prosody, duration: float, rng: np.random.Generator, sr: int = SAMPLE_RATE
) -> np.ndarray:
    """One utterance of ``duration`` seconds, float32 in [-1, 1] (peak at most 0.95)."""
    n = int(round(duration * sr))
    plan = _plan(voice, prosody, n, sr, rng)
    voiced, cons, weights = _envelopes(plan, n, sr)
    f0 = _f0_contour(voice, prosody, plan, n, sr, rng)
    tilt = float(np.clip(voice.tilt + prosody.tilt_shift, 0.7, 0.985))
    source = _glottal_source(f0, voiced, tilt, sr, voice, rng)
    active = voiced > 0
    source /= _rms(source[active]) if active.any() else 1.0
    aspiration = np.diff(rng.standard_normal(n), prepend=0.0) * voiced
    source += voice.breath * prosody.breath_scale * aspiration
    speech = vocal_tract(source, weights, voice.formant_scale, sr)
    speech /= _rms(speech[active]) if active.any() else 1.0
    burst = 0.35 * 10.0 ** (prosody.burst_db / 20.0)
    for (lo, hi), env in zip(CONSONANT_BANDS, cons, strict=True):
        if env.any():
            speech += burst * env * sosfilt(_band_sos(lo, hi, sr), rng.standard_normal(n))
    speaking = active | (cons.sum(axis=0) > 0)
    speech *= 10.0 ** ((REFERENCE_RMS_DB + prosody.level_db) / 20.0) / _rms(speech[speaking])
    speech += 10.0 ** (NOISE_FLOOR_DB / 20.0) * pink_noise(rng, n)
    peak = np.max(np.abs(speech))
    if peak > 0.95:
        speech *= 0.95 / peak
    return speech.astype(np.float32)
