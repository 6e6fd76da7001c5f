"""Synthetic environmental noise and music: coloured noise, hums, clicks and impacts,
babble of synthetic talkers, sirens, bells, simple music.

Every generator has the signature ``(rng, n, sr) -> float64 array of n samples``; the
level is set afterwards by :func:`render`.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from scipy.signal import butter, fftconvolve, lfilter, sosfilt

from trnet.synth_corpus.emotion import draw_prosody, make_voice
from trnet.synth_corpus.synth import synth_utterance

Generator = Callable[[np.random.Generator, int, int], np.ndarray]


def coloured_noise(rng: np.random.Generator, n: int, exponent: float) -> np.ndarray:
    """Noise with power spectrum ~ 1/f**exponent (0 white, 1 pink, 2 brown)."""
    spec = np.fft.rfft(rng.standard_normal(n))
    f = np.maximum(np.arange(spec.size), 1.0)
    return np.fft.irfft(spec / f ** (exponent / 2.0), n)


def _band(x: np.ndarray, lo: float, hi: float, sr: int) -> np.ndarray:
    sos = butter(2, [lo, min(hi, 0.45 * sr)], btype="bandpass", fs=sr, output="sos")
    return sosfilt(sos, x)


def _lowpass(x: np.ndarray, cutoff: float, sr: int) -> np.ndarray:
    return sosfilt(butter(2, cutoff, fs=sr, output="sos"), x)


def _slow_envelope(rng: np.random.Generator, n: int, sr: int, rate: float) -> np.ndarray:
    """A positive random envelope varying at about ``rate`` Hz."""
    knots = rng.uniform(0.2, 1.0, size=int(n / sr * rate) + 2)
    return np.interp(np.arange(n), np.linspace(0, n, knots.size), knots)


def _harmonics(f0: np.ndarray, sr: int, amps: np.ndarray) -> np.ndarray:
    """Sum of harmonics k*f0(t) (k = 1..len(amps)) below Nyquist."""
    phase = 2.0 * np.pi * np.cumsum(f0) / sr
    out = np.zeros_like(f0)
    top = float(np.max(f0))
    for k, a in enumerate(amps, 1):
        if k * top >= 0.45 * sr:
            break
        out += a * np.sin(k * phase)
    return out


def _events(n: int, times: np.ndarray, kernel: np.ndarray, gains: np.ndarray) -> np.ndarray:
    """Place ``kernel`` at sample positions ``times`` scaled by ``gains``."""
    pulses = np.zeros(n)
    np.add.at(pulses, np.clip(times, 0, n - 1).astype(int), gains)
    return fftconvolve(pulses, kernel)[:n]


def _ring(freq: float, decay: float, sr: int, length: float = 0.3) -> np.ndarray:
    t = np.arange(int(length * sr)) / sr
    return np.sin(2 * np.pi * freq * t) * np.exp(-t / decay)


def white(rng: np.random.Generator, n: int, sr: int) -> np.ndarray:
    return coloured_noise(rng, n, 0.0)


def pink(rng: np.random.Generator, n: int, sr: int) -> np.ndarray:
    return coloured_noise(rng, n, 1.0)


def brown(rng: np.random.Generator, n: int, sr: int) -> np.ndarray:
    return lfilter([1.0, -1.0], [1.0, -0.995], coloured_noise(rng, n, 2.0))  # no DC drift


def hum(rng: np.random.Generator, n: int, sr: int) -> np.ndarray:
    """Mains or machine hum: a slowly drifting harmonic series plus a little noise."""
    f0 = rng.choice([50.0, 60.0, 100.0, 120.0]) * (1 + 0.002 * _slow_envelope(rng, n, sr, 0.5))
    amps = rng.uniform(0.1, 1.0, size=12) / np.arange(1, 13) ** 0.5
    return _harmonics(f0, sr, amps) + 0.05 * coloured_noise(rng, n, 1.0)


def engine(rng: np.random.Generator, n: int, sr: int) -> np.ndarray:
    f0 = rng.uniform(25.0, 55.0) * (1 + 0.1 * _slow_envelope(rng, n, sr, 0.3))
    tone = _harmonics(f0, sr, rng.uniform(0.2, 1.0, size=16) / np.arange(1, 17) ** 0.7)
    rumble = _lowpass(coloured_noise(rng, n, 1.0), 1500.0, sr)
    return tone * (1 + 0.4 * np.sin(2 * np.pi * np.cumsum(f0 / 2) / sr)) + 0.5 * rumble


def vacuum_cleaner(rng: np.random.Generator, n: int, sr: int) -> np.ndarray:
    whine = _harmonics(np.full(n, rng.uniform(500.0, 1200.0)), sr, np.array([1.0, 0.4, 0.2]))
    return _band(rng.standard_normal(n), 300.0, 6000.0, sr) + 0.3 * whine


def wind(rng: np.random.Generator, n: int, sr: int) -> np.ndarray:
    gust = _slow_envelope(rng, n, sr, 0.7) ** 2
    return _lowpass(coloured_noise(rng, n, 1.0), rng.uniform(400.0, 1200.0), sr) * gust


def sea_waves(rng: np.random.Generator, n: int, sr: int) -> np.ndarray:
    swell = 0.2 + np.sin(np.pi * np.arange(n) / sr * rng.uniform(0.1, 0.25)) ** 2
    return coloured_noise(rng, n, 1.0) * swell


def rain(rng: np.random.Generator, n: int, sr: int) -> np.ndarray:
    drops = rng.integers(0, n, size=int(n / sr * rng.uniform(100, 300)))
    kernel = _ring(rng.uniform(2000, 5000), 0.003, sr, 0.02)
    pat = _events(n, drops, kernel, rng.uniform(0.5, 3.0, size=drops.size))
    return coloured_noise(rng, n, 0.7) + pat


def clock_tick(rng: np.random.Generator, n: int, sr: int) -> np.ndarray:
    period = rng.uniform(0.45, 1.05) * sr
    times = np.arange(rng.uniform(0, period), n, period)
    gains = np.where(np.arange(times.size) % 2 == 0, 1.0, 0.6)
    return _events(n, times, _ring(rng.uniform(2500, 4500), 0.004, sr, 0.03), gains)


def door_wood_knock(rng: np.random.Generator, n: int, sr: int) -> np.ndarray:
    """Groups of 2-4 knocks; the rest of the clip is near silence (as in real ESC-50)."""
    starts = np.arange(rng.uniform(0.1, 0.6), n / sr - 0.5, rng.uniform(1.2, 2.0)) * sr
    times = np.concatenate([s + np.arange(rng.integers(2, 5)) * 0.18 * sr for s in starts])
    kernel = _ring(rng.uniform(180, 450), 0.02, sr, 0.2) + 0.3 * _ring(900, 0.005, sr, 0.2)
    return _events(n, times, kernel, rng.uniform(0.6, 1.0, size=times.size))


def impacts(rng: np.random.Generator, n: int, sr: int) -> np.ndarray:
    times = rng.integers(0, n, size=int(n / sr * rng.uniform(1, 4)))
    kernel = _ring(rng.uniform(100, 800), rng.uniform(0.02, 0.1), sr, 0.5)
    kernel += (
        0.5 * np.exp(-np.arange(kernel.size) / (0.005 * sr)) * rng.standard_normal(kernel.size)
    )
    return _events(n, times, kernel, rng.uniform(0.3, 1.0, size=times.size))


def church_bells(rng: np.random.Generator, n: int, sr: int) -> np.ndarray:
    base = rng.uniform(200, 500)
    ratios = np.array([0.5, 1.0, 1.19, 1.5, 2.0, 2.52, 3.0])  # hum, prime, minor third, ...
    t = np.arange(int(3.0 * sr)) / sr
    kernel = sum(np.sin(2 * np.pi * base * r * t) * np.exp(-t * (0.8 + r)) for r in ratios)
    times = np.arange(0, n, rng.uniform(0.8, 1.6) * sr)
    return _events(n, times, kernel, rng.uniform(0.7, 1.0, size=times.size))


def siren(rng: np.random.Generator, n: int, sr: int) -> np.ndarray:
    sweep = np.sin(2 * np.pi * np.arange(n) / sr * rng.uniform(0.2, 0.6))
    f0 = rng.uniform(600, 800) + rng.uniform(200, 500) * sweep
    return _harmonics(f0, sr, np.array([1.0, 0.5, 0.3, 0.2]))


def crying_baby(rng: np.random.Generator, n: int, sr: int) -> np.ndarray:
    """Wails: a high harmonic voice with vibrato, in bursts separated by breaths."""
    t = np.arange(n) / sr
    f0 = rng.uniform(380, 550) * (1 + 0.04 * np.sin(2 * np.pi * 6 * t)) * (1 + 0.15 * np.sin(t))
    burst = (np.sin(2 * np.pi * t / rng.uniform(1.0, 1.6)) > -0.3).astype(float)
    burst = _lowpass(burst, 20.0, sr)
    return _harmonics(f0, sr, 1.0 / np.arange(1, 12)) * burst


def chirping_birds(rng: np.random.Generator, n: int, sr: int) -> np.ndarray:
    length = int(0.08 * sr)
    t = np.arange(length) / sr
    kernel = np.sin(2 * np.pi * (rng.uniform(2500, 4000) * t + 2e4 * t**2)) * np.hanning(length)
    times = rng.integers(0, n, size=int(n / sr * rng.uniform(3, 8)))
    return _events(n, times, kernel, rng.uniform(0.3, 1.0, size=times.size))


def babble(rng: np.random.Generator, n: int, sr: int) -> np.ndarray:
    """Several synthetic talkers (not the emotional corpus's speakers) talking at once."""
    out = np.zeros(n)
    for k in range(int(rng.integers(4, 8))):
        gender = "F" if rng.uniform() < 0.5 else "M"
        voice = make_voice(int(rng.integers(2**31)), f"babble{k}", gender)
        prosody = draw_prosody(str(rng.choice(["neu", "hap", "ang"])), rng)
        out += synth_utterance(voice, prosody, n / sr, rng, sr)
    return out


def music(rng: np.random.Generator, n: int, sr: int) -> np.ndarray:
    """Notes with harmonics on a pentatonic scale, a bass line and a steady beat."""
    tempo = rng.uniform(80, 140)
    beat = int(60.0 / tempo * sr)
    scale = rng.uniform(180, 300) * 2.0 ** (np.array([0, 2, 4, 7, 9, 12, 14]) / 12)
    starts = np.arange(0, n, beat // 2)
    out = np.zeros(n)
    amps = rng.uniform(0.2, 1.0, size=6) / np.arange(1, 7)
    note_len = min(beat, n)
    t = np.arange(note_len) / sr
    env = np.exp(-t / rng.uniform(0.1, 0.4))
    for i, s in enumerate(starts):
        f = scale[rng.integers(scale.size)] if rng.uniform() < 0.8 else 0.0
        bass = scale[0] / 2 if i % 4 == 0 else 0.0
        seg = sum(a * np.sin(2 * np.pi * f * k * t) for k, a in enumerate(amps, 1))
        seg = seg + 0.8 * np.sin(2 * np.pi * bass * t)
        end = min(s + note_len, n)
        out[s:end] += (seg * env)[: end - s]
    kick = np.sin(2 * np.pi * 60 * t[: int(0.1 * sr)]) * np.exp(-t[: int(0.1 * sr)] / 0.03)
    return out + _events(n, np.arange(0, n, beat), kick, np.full(len(range(0, n, beat)), 0.8))


ESC50_KINDS: dict[str, Generator] = {
    "rain": rain,
    "wind": wind,
    "engine": engine,
    "clock_tick": clock_tick,
    "door_wood_knock": door_wood_knock,
    "vacuum_cleaner": vacuum_cleaner,
    "crying_baby": crying_baby,
    "church_bells": church_bells,
    "sea_waves": sea_waves,
    "siren": siren,
    "chirping_birds": chirping_birds,
}
MUSAN_KINDS: dict[str, Generator] = {
    "white": white,
    "pink": pink,
    "brown": brown,
    "hum": hum,
    "babble": babble,
    "clicks": clock_tick,
    "impacts": impacts,
    "engine": engine,
    "wind": wind,
    "siren": siren,
    "bells": church_bells,
    "vacuum": vacuum_cleaner,
}


def render(gen: Generator, rng: np.random.Generator, duration: float, sr: int) -> np.ndarray:
    """A clip from ``gen`` at a random level around -25 dBFS, peak at most 0.9."""
    n = int(round(duration * sr))
    x = gen(rng, n, sr)
    x = x / (np.sqrt(np.mean(x**2)) + 1e-12) * 10.0 ** (rng.uniform(-30.0, -20.0) / 20.0)
    peak = np.max(np.abs(x))
    return (x * min(1.0, 0.9 / peak) if peak > 0 else x).astype(np.float32)
