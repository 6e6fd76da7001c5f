"""Fbank: equal to torchaudio's Kaldi fbank on the int16 scale, seeded dither, CMVN, resume."""

import kaldiio
import numpy as np
import pytest
import soundfile as sf
import torch
from cli_main import run_main
from torchaudio.compliance import kaldi
from typer.testing import CliRunner

from trnet.cli import app
from trnet.feats.extract import make_feats
from trnet.feats.fbank import FbankConfig, compute_fbank
from trnet.io import read_kv, write_kv

SR = 16000


def _wave(seed: int, seconds: float = 0.6) -> np.ndarray:
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * SR)) / SR
    x = 0.3 * np.sin(2 * np.pi * (200 + 100 * seed) * t) + 0.01 * rng.standard_normal(t.size)
    x[: SR // 10] = 0.0  # exact digital silence, where dither matters
    return x.astype(np.float32)


@pytest.fixture
def data_dir(tmp_path):
    wav = {}
    for i in range(5):
        path = tmp_path / "wav" / f"u{i}.wav"
        path.parent.mkdir(exist_ok=True)
        sf.write(path, _wave(i, 0.4 + 0.1 * i), SR, subtype="PCM_16")
        wav[f"spk-u{i}"] = str(path)
    data = tmp_path / "data"
    write_kv(data / "wav.scp", wav)
    write_kv(data / "utt2spk", {u: "spk" for u in wav})
    return data


def test_compute_fbank_is_kaldi_fbank_on_int16_scale():
    wave = _wave(1)
    ours = compute_fbank(wave, FbankConfig())
    ref = kaldi.fbank(
        torch.from_numpy(wave * 32768).unsqueeze(0),
        num_mel_bins=80,
        frame_length=25.0,
        frame_shift=10.0,
        window_type="hamming",
        dither=0.0,
        energy_floor=0.0,
        sample_frequency=16000.0,
    ).numpy()
    assert ours.dtype == np.float32 and ours.shape == (58, 80)
    np.testing.assert_array_equal(ours, ref)
    assert np.median(ours) > 0  # int16 scale: log-Mel values well above the floor


def test_dither_is_reproducible_under_the_seed():
    wave, conf = _wave(2), FbankConfig(dither=1.0)
    a, b, c = (compute_fbank(wave, conf, seed=s) for s in (7, 7, 8))
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)
    torch.manual_seed(7)
    ref = kaldi.fbank(
        torch.from_numpy(wave * 32768).unsqueeze(0),
        dither=1.0,
        energy_floor=0.0,
        window_type="hamming",
        num_mel_bins=80,
    )
    np.testing.assert_array_equal(a, ref.numpy())
    assert np.isfinite(a).all() and a[:5].min() > compute_fbank(wave, FbankConfig())[:5].min()


def test_make_feats_writes_cmvn_of_the_features_and_same_bytes_for_any_nj(data_dir, tmp_path):
    make_feats(data_dir, nj=1, conf=FbankConfig(dither=1.0), seed=3)
    feats = dict(kaldiio.load_scp_sequential(str(data_dir / "feats.scp")))
    assert list(feats) == sorted(read_kv(data_dir / "wav.scp"))
    assert read_kv(data_dir / "utt2num_frames") == {u: str(len(f)) for u, f in feats.items()}
    stacked = np.concatenate(list(feats.values())).astype(np.float64)
    cmvn = kaldiio.load_ark(str(data_dir / "cmvn.ark"))
    ((_, stats),) = list(cmvn)
    assert stats.shape == (2, 81)
    np.testing.assert_allclose(stats[0, :80], stacked.sum(0), rtol=1e-9)
    np.testing.assert_allclose(stats[1, :80], (stacked**2).sum(0), rtol=1e-9)
    assert stats[0, 80] == len(stacked) and stats[1, 80] == 0
    first = {n: (data_dir / n).read_bytes() for n in ("feats.ark", "feats.scp", "cmvn.ark")}
    for name in ("feats.ark", ".feats.done"):
        (data_dir / name).unlink()
    make_feats(data_dir, nj=2, conf=FbankConfig(dither=1.0), seed=3)
    assert {n: (data_dir / n).read_bytes() for n in first} == first


def test_feats_command_resumes_and_redoes_on_new_settings(data_dir):
    runner = CliRunner()
    assert runner.invoke(app, ["feats", str(data_dir), "--nj", "1"]).exit_code == 0
    ark = data_dir / "feats.ark"
    before = ark.stat().st_mtime_ns
    assert runner.invoke(app, ["feats", str(data_dir), "--nj", "1"]).exit_code == 0
    assert ark.stat().st_mtime_ns == before
    result = runner.invoke(app, ["feats", str(data_dir), "--nj", "1", "--dither", "1"])
    assert result.exit_code == 0 and ark.stat().st_mtime_ns != before


def test_features_written_by_mix_equal_make_feats_on_its_output(tmp_path):
    from mix_toy import make_data_dir, make_noise_set

    data, noise = make_data_dir(tmp_path), make_noise_set(tmp_path)
    args = ["mix", str(data), str(tmp_path / "dump"), "--noise", str(noise), "--snr", "5"]
    result = CliRunner().invoke(app, [*args, "--nj", "1", "--dither", "0.5", "--seed", "4"])
    assert result.exit_code == 0, result.output
    cond = tmp_path / "dump" / "noise_5"
    from_mix = (cond / "feats.ark").read_bytes()
    (cond / ".feats.done").unlink()
    make_feats(cond, nj=1, conf=FbankConfig(dither=0.5), seed=4)
    assert (cond / "feats.ark").read_bytes() == from_mix


def _torchaudio_fbank(wave: np.ndarray, conf: FbankConfig, seed: int) -> np.ndarray:
    kwargs = conf.as_dict()
    kwargs["sample_frequency"] = float(kwargs["sample_frequency"])
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return kaldi.fbank(torch.from_numpy(wave * 32768).unsqueeze(0), **kwargs).numpy()


@pytest.mark.parametrize("n_samples", [400, 401, 559, 16000, 24123])
@pytest.mark.parametrize("snip_edges", [True, False])
@pytest.mark.parametrize("window_type", ["hamming", "povey", "hanning", "rectangular", "blackman"])
def test_cached_fbank_is_bit_identical_to_torchaudio(n_samples, snip_edges, window_type):
    rng = np.random.default_rng(n_samples)
    wave = (0.1 * rng.standard_normal(n_samples)).astype(np.float32)
    for extra in [
        {},
        {"dither": 1.0},
        {"preemphasis_coefficient": 0.0, "remove_dc_offset": False},
        {"high_freq": -400.0, "low_freq": 64.0, "num_mel_bins": 40},
        {"frame_length": 20.0, "frame_shift": 8.0},
    ]:
        conf = FbankConfig(snip_edges=snip_edges, window_type=window_type, **extra)
        ours = compute_fbank(wave, conf, seed=11)
        np.testing.assert_array_equal(ours, _torchaudio_fbank(wave, conf, seed=11), str(extra))


def test_audio_shorter_than_a_frame_is_named(data_dir, monkeypatch, capsys):
    with pytest.raises(ValueError, match="shorter than one frame"):
        compute_fbank(np.ones(399, np.float32), FbankConfig())
    short = data_dir.parent / "wav" / "short.wav"
    sf.write(short, np.full(300, 0.1, np.float32), SR, subtype="PCM_16")
    wav = read_kv(data_dir / "wav.scp")
    write_kv(data_dir / "wav.scp", {**wav, "spk-u9": str(short)})
    result = run_main(["feats", data_dir, "--nj", "1"], monkeypatch, capsys)
    assert result.code == 1
    assert f"{short}: audio shorter than one frame (300 < 400 samples)" in result.error_line
    assert not (data_dir / "feats.scp").exists()
