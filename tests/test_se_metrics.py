"""SE metrics on cases with known answers."""

from __future__ import annotations

import numpy as np
import pytest

from trnet.se.metrics import SISDR_CAP_DB, pesq_wb, si_sdr, stoi

SR = 16000


def speechlike(seconds: float = 3.0) -> np.ndarray:
    """Amplitude-modulated harmonics, enough for PESQ's voice-activity detection."""
    t = np.arange(int(seconds * SR)) / SR
    f0 = 150 * (1 + 0.1 * np.sin(2 * np.pi * 2 * t))
    phase = 2 * np.pi * np.cumsum(f0) / SR
    wave = sum(np.sin(k * phase) / k for k in range(1, 20))
    return (0.2 * wave * np.clip(np.sin(2 * np.pi * 3 * t), 0, None)).astype(np.float32)


def test_si_sdr_of_a_scaled_copy_is_at_the_cap():
    x = speechlike()
    assert si_sdr(0.3 * x, x) == SISDR_CAP_DB


def test_si_sdr_of_independent_noise_is_very_low():
    noise = np.random.default_rng(0).standard_normal(3 * SR)
    assert si_sdr(noise, speechlike()) < -10


def test_si_sdr_at_a_known_snr():
    rng = np.random.default_rng(1)
    x = speechlike()
    noise = rng.standard_normal(len(x))
    noise -= noise.mean()
    noise *= np.sqrt(np.mean(x**2) / np.mean(noise**2)) / 10 ** (10 / 20)
    assert abs(si_sdr(x + noise, x) - 10.0) < 0.3


def test_pesq_and_stoi_of_identical_signals_are_near_their_maxima():
    x = speechlike()
    assert pesq_wb(x, x) > 4.5
    assert stoi(x, x) > 0.99


def test_pesq_and_stoi_drop_with_noise():
    x = speechlike()
    noisy = x + 0.1 * np.random.default_rng(2).standard_normal(len(x)).astype(np.float32)
    assert pesq_wb(x, noisy) < 2.5
    assert stoi(x, noisy) < stoi(x, x)


def test_too_short_audio_is_not_scored_but_a_wrong_rate_is_an_error():
    from trnet.errors import TrnetError

    rng = np.random.default_rng(3)
    short = rng.standard_normal(2000)  # 1/8 s: too short for STOI and PESQ
    assert np.isnan(stoi(short, short + 0.1 * rng.standard_normal(2000)))  # pystoi says 1e-5
    assert np.isnan(pesq_wb(short, short))
    assert np.isnan(pesq_wb(np.zeros(32000), np.zeros(32000)))  # no speech: not scored
    long = rng.standard_normal(32000)
    with pytest.raises(TrnetError, match="PESQ: sample rate 22050 Hz not supported"):
        pesq_wb(long, long, sr=22050)
