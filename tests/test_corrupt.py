"""The corruptions of trnet.corrupt on signals and RIRs built here, checked by measures
computed here (not by the helpers under test)."""

from __future__ import annotations

import io
import math

import numpy as np
import pytest
import soundfile as sf
from scipy.signal import correlate, correlation_lags

from trnet.corrupt import codec as codec_mod
from trnet.corrupt.clip import clip, threshold_for_fraction
from trnet.corrupt.codec import codec_round_trip, telephone
from trnet.corrupt.loss import packet_loss
from trnet.corrupt.rir import Rir, reverberate, reverberate_with_noise
from trnet.errors import TrnetError

SR = 16000
HALF = 40  # ±2.5 ms at 16 kHz


def speech_like(seconds: float = 1.3, seed: int = 0) -> np.ndarray:
    """Noise shaped by a syllable-rate envelope, with pauses: no sample exactly 0."""
    rng = np.random.default_rng(seed)
    n = int(seconds * SR) + 37
    t = np.arange(n) / SR
    envelope = 0.05 + np.maximum(0, np.sin(2 * np.pi * 4 * t)) ** 2
    wave = rng.standard_normal(n) * envelope * 0.1
    return (np.sign(wave) * np.maximum(np.abs(wave), 1e-4)).astype(np.float32)


def decaying_rir(
    rt60: float, seed: int = 0, delay: int = 200, direct: float = 1.0, tail: float = 0.1
) -> np.ndarray:
    """A direct path at ``delay``, silence for 2.5 ms, then white noise whose energy falls
    60 dB in ``rt60`` seconds (amplitude 10^(-3 t / rt60)), 1.5 x rt60 long."""
    rng = np.random.default_rng(seed)
    n = int(1.5 * rt60 * SR)
    t = np.arange(n) / SR
    h = np.zeros(delay + HALF + 1 + n)
    h[delay] = direct
    h[delay + HALF + 1 :] = tail * rng.standard_normal(n) * 10 ** (-3 * t / rt60)
    return h


def lag_of(signal: np.ndarray, reference: np.ndarray, max_lag: int = 2000) -> int:
    """Where scipy's cross-correlation of the two peaks (positive: ``signal`` is late)."""
    full = correlate(signal.astype(np.float64), reference.astype(np.float64), "full")
    lags = correlation_lags(signal.size, reference.size, "full")
    keep = np.abs(lags) <= max_lag
    return int(lags[keep][np.argmax(full[keep])])


@pytest.mark.parametrize("rt60", [0.3, 0.6, 1.0])
@pytest.mark.parametrize("seed", [0, 1])
def test_rt60_of_a_synthetic_exponential_decay_within_5_percent(rt60: float, seed: int):
    rir = Rir.measure(decaying_rir(rt60, seed), SR)
    assert rir.rt60 == pytest.approx(rt60, rel=0.05)
    assert rir.peak == 200


def test_rt60_with_a_noise_floor_within_5_percent():
    """A recorded RIR ends in noise: 60 dB below the direct path, plus 0.5 s of it alone."""
    h = np.concatenate([decaying_rir(0.5, seed=3), np.zeros(SR // 2)])
    h += 1e-3 * np.random.default_rng(9).standard_normal(h.size)
    assert Rir.measure(h, SR).rt60 == pytest.approx(0.5, rel=0.05)


def test_drr_is_the_direct_window_over_the_rest():
    h = decaying_rir(0.4, seed=2, direct=0.5)
    late = np.square(h[200 + HALF + 1 :]).sum()
    assert Rir.measure(h, SR).drr == pytest.approx(10 * math.log10(0.25 / late), abs=0.01)


def test_a_response_too_short_for_t20_is_one_line():
    h = decaying_rir(1.0)[: 200 + 1000]  # 60 ms of a 1 s decay: 3.6 dB
    with pytest.raises(TrnetError, match="T20 needs 35 dB") as err:
        Rir.measure(h, SR)
    assert "\n" not in str(err.value)


def test_reverberated_speech_keeps_length_and_aligns_with_the_direct_path():
    x = speech_like()
    h = decaying_rir(0.6, seed=4, delay=300)
    h[300 + 400] = 0.6  # a strong early reflection 25 ms later
    out = reverberate(x, Rir.measure(h, SR))
    assert out.wave.dtype == np.float32 and out.wave.size == x.size
    direct_only = np.convolve(x, h[300 - HALF : 300 + HALF + 1])[HALF : HALF + x.size]
    assert lag_of(out.wave, direct_only) == 0
    assert lag_of(out.wave, x) == 0
    assert np.sqrt(np.mean(out.wave.astype(np.float64) ** 2)) == pytest.approx(
        np.sqrt(np.mean(x.astype(np.float64) ** 2)), rel=1e-4
    )
    assert out.levels == {"rt60": Rir.measure(h, SR).rt60, "drr": Rir.measure(h, SR).drr}


def test_reverberation_plus_noise_realises_the_snr_on_the_reverberant_speech():
    x = speech_like(seed=1)
    rir = Rir.measure(decaying_rir(0.5, seed=5), SR)
    noise = np.random.default_rng(7).standard_normal(5000).astype(np.float32)
    out = reverberate_with_noise(x, rir, noise, 5.0, np.random.default_rng(11))
    assert out.wave.size == x.size
    speech = out.levels["gain"] * reverberate(x, rir).wave.astype(np.float64)
    residual = out.wave - speech
    snr = 10 * math.log10(np.mean(speech**2) / np.mean(residual**2))
    assert snr == pytest.approx(5.0, abs=0.01)
    assert out.levels["snr"] == pytest.approx(snr, abs=0.01)
    again = reverberate_with_noise(x, rir, noise, 5.0, np.random.default_rng(11))
    assert again.wave.tobytes() == out.wave.tobytes()
    other = reverberate_with_noise(x, rir, noise, 5.0, np.random.default_rng(12))
    assert other.wave.tobytes() != out.wave.tobytes()


CODEC_CASES = [("mp3", 0.0), ("mp3", 0.9), ("opus", 0.5), ("opus", 0.9)]


@pytest.mark.parametrize(("codec", "level"), CODEC_CASES)
def test_codec_output_aligns_at_lag_0_keeps_length_and_reports_its_bitrate(codec, level):
    x = speech_like(seconds=2.0, seed=2)
    out = codec_round_trip(x, codec, level)
    assert out.wave.dtype == np.float32 and out.wave.size == x.size
    assert lag_of(out.wave, x) == 0
    fmt, subtype, mode = codec_mod.CODECS[codec]
    buf = io.BytesIO()
    sf.write(buf, x, SR, format=fmt, subtype=subtype, compression_level=level, bitrate_mode=mode)
    assert out.levels["kbps"] == pytest.approx(buf.tell() * 8 / (x.size / SR) / 1000)
    assert out.levels["sdr"] > 0
    assert codec_round_trip(x, codec, level).wave.tobytes() == out.wave.tobytes()


def test_a_late_decoder_output_is_shifted_back():
    """MP3 at 8 kbps comes back from libsndfile late: the measured delay is removed."""
    x = speech_like(seconds=2.0, seed=3)
    buf = io.BytesIO()
    sf.write(buf, x, SR, format="MP3", compression_level=0.99, bitrate_mode="CONSTANT")
    buf.seek(0)
    raw, _ = sf.read(buf, dtype="float32")
    late = lag_of(raw, x)
    assert late > 0
    out = codec_round_trip(x, "mp3", 0.99)
    assert out.levels["delay"] == late and lag_of(out.wave, x) == 0 and out.wave.size == x.size


@pytest.mark.parametrize("mu_law", [False, True])
def test_telephone_band_aligns_keeps_length_and_removes_the_upper_band(mu_law: bool):
    x = speech_like(seconds=1.0, seed=4)
    out = telephone(x, mu_law=mu_law)
    assert out.wave.dtype == np.float32 and out.wave.size == x.size
    assert lag_of(out.wave, x) == 0
    spectrum = np.abs(np.fft.rfft(out.wave)) ** 2
    freqs = np.fft.rfftfreq(x.size, 1 / SR)
    assert spectrum[freqs > 4200].sum() < 1e-2 * spectrum[freqs < 3800].sum()


def test_a_codec_this_libsndfile_lacks_is_one_line(monkeypatch):
    monkeypatch.setattr(sf, "available_formats", lambda: {"WAV": "WAV"})
    with pytest.raises(TrnetError, match="MP3 MPEG_LAYER_III: not supported") as err:
        codec_round_trip(speech_like(0.2), "mp3", 0.5)
    assert "\n" not in str(err.value)
    with pytest.raises(TrnetError, match="unknown codec 'aac'"):
        codec_round_trip(speech_like(0.2), "aac", 0.5)


def test_clip_fraction_is_the_count_of_samples_at_the_threshold():
    x = speech_like(seed=5)
    out = clip(x, 0.3)
    limit = np.float32(0.3) * np.max(np.abs(x))
    assert np.max(np.abs(out.wave)) == limit
    expected = np.count_nonzero(np.abs(x) >= limit) / x.size
    assert out.levels["clipped"] == expected > 0
    unclipped = np.abs(x) < limit
    assert np.array_equal(out.wave[unclipped], x[unclipped])


def test_a_threshold_for_a_fraction_clips_that_fraction():
    x = speech_like(seed=6)
    out = clip(x, threshold_for_fraction(x, 0.05))
    assert out.levels["clipped"] == pytest.approx(0.05, abs=1 / x.size)


def test_packet_loss_zeroes_exactly_the_frames_it_lists():
    x = speech_like(seconds=1.01, seed=7)  # 51 frames, the last one short
    out = packet_loss(x, 0.3, np.random.default_rng(3))
    frames = [out.wave[i : i + 320] for i in range(0, x.size, 320)]
    assert len(frames) == 51 and out.wave.size == x.size
    zeroed = [i for i, f in enumerate(frames) if not np.any(f)]
    assert list(out.dropped) == zeroed and 5 < len(zeroed) < 30
    kept = [i for i in range(51) if i not in zeroed]
    assert all(np.array_equal(frames[i], x[i * 320 : (i + 1) * 320]) for i in kept)
    assert out.levels["lost"] == len(zeroed) / 51
    again = packet_loss(x, 0.3, np.random.default_rng(3))
    assert again.dropped == out.dropped and again.wave.tobytes() == out.wave.tobytes()
    assert packet_loss(x, 0.3, np.random.default_rng(4)).dropped != out.dropped


def test_simulated_rooms_are_seeded_and_measured_as_an_independent_t20_measures_them():
    pra = pytest.importorskip("pyroomacoustics")
    from trnet.corrupt.room import draw_room, simulate_rir

    room = draw_room(np.random.default_rng(2), rt60=(0.3, 0.6))
    assert room == draw_room(np.random.default_rng(2), rt60=(0.3, 0.6))
    assert 0.3 <= room.rt60_target <= 0.6
    rir = simulate_rir(room)
    assert rir.samples.tobytes() == simulate_rir(room).samples.tobytes()
    reference = pra.experimental.measure_rt60(rir.samples, fs=SR, decay_db=20)
    assert rir.rt60 == pytest.approx(reference, rel=0.02)
    assert math.dist(room.source, room.mic) >= 1.0
