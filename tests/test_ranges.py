"""Numbers at the edge (issue 15): SNR range, non-finite audio, in prep and mix."""

from __future__ import annotations

import numpy as np
import pytest
import soundfile as sf
from mix_toy import make_data_dir, make_noise_set, run_mix

from trnet.errors import TrnetError
from trnet.io import read_kv, write_kv
from trnet.mix.conditions import parse_snrs
from trnet.prep.common import audio_duration


@pytest.mark.parametrize("snr", ["80", "-80", "60.5", "-21"])
def test_snr_outside_minus_20_to_60_needs_force(snr):
    with pytest.raises(TrnetError, match=rf"--snr: {snr} dB is outside \[-20, 60\]; pass --force"):
        parse_snrs([snr])
    assert parse_snrs([snr], force=True) == [float(snr)]
    assert parse_snrs(["60", "-20", "clean"]) == [60.0, -20.0, None]


def test_mix_at_80_db_is_refused_and_with_force_it_works(tmp_path):
    data, noise = make_data_dir(tmp_path), make_noise_set(tmp_path)
    refused = run_mix(data, tmp_path / "dump", "--noise", noise, "--snr", 80, "--nj", 1)
    assert refused.exit_code == 1 and "pass --force" in str(refused.exception)
    assert not (tmp_path / "dump" / "noise_80").exists()  # no empty condition dir left
    forced = run_mix(
        data, tmp_path / "dump", "--noise", noise, "--snr", 80, "--nj", 1, "--no-feats", "--force"
    )
    assert forced.exit_code == 0, repr(forced.exception)
    assert len(read_kv(tmp_path / "dump" / "noise_80" / "wav.scp")) == 4


def _nan_wav(data, utt="spkA-u1"):
    wav = read_kv(data / "wav.scp")[utt]
    x, sr = sf.read(wav, dtype="float32")
    x[100] = np.nan
    sf.write(wav, x, sr, subtype="FLOAT")
    return wav


@pytest.mark.parametrize("snr", ["10", "clean"])
def test_mix_names_a_wav_with_nan_samples(tmp_path, snr):
    data, noise = make_data_dir(tmp_path), make_noise_set(tmp_path)
    wav = _nan_wav(data)
    res = run_mix(data, tmp_path / "dump", "--noise", noise, "--snr", snr, "--nj", 1)
    assert res.exit_code == 1
    assert isinstance(res.exception, TrnetError)
    assert str(res.exception) == f"{wav}: audio has NaN or infinite samples"


def test_prep_skips_a_wav_with_nan_samples_naming_why(tmp_path):
    data = make_data_dir(tmp_path)
    wav = _nan_wav(data)
    assert audio_duration(type(tmp_path)(wav)) == (None, "NaN or infinite samples")
    ok = read_kv(data / "wav.scp")["spkA-u2"]
    assert audio_duration(type(tmp_path)(ok))[0] is not None


DECODE = ["decode", "x", "--dump", "d", "--test-dir", "t", "--conditions", "c", "--out", "o"]


@pytest.mark.parametrize(
    ("args", "option", "bound", "value"),
    [
        (["mix", "d", "o", "--snr", "10"], "--dither", ">= 0", "nan"),
        (["feats", "d"], "--dither", ">= 0", "-1.0"),
        (["enhance", "d"], "--dither", ">= 0", "inf"),
        (["enhance", "d"], "--batch-size", ">= 1", "0"),
        (DECODE, "--batch-size", ">= 1", "0"),
        (["infer", "pkg", "a.wav"], "--window", "> 0", "nan"),
        (["infer", "pkg", "a.wav"], "--hop", "> 0", "inf"),
        (["score", "x"], "--n-boot", ">= 1", "0"),
        (["score-se", "d"], "--max-utts", ">= 0", "-5"),
    ],
)
def test_numeric_options_are_finite_and_in_range(
    args, option, bound, value, monkeypatch, capsys, tmp_path
):
    """Click's ranges let NaN through; every numeric option is checked before any work."""
    from cli_main import run_main

    monkeypatch.chdir(tmp_path)
    outcome = run_main([*args, option, value], monkeypatch, capsys)
    assert outcome.code == 1
    assert outcome.error_line == f"{option}: must be a finite number {bound}, got {value}"
    assert list(tmp_path.iterdir()) == []


def test_mix_with_nan_dither_writes_nothing(tmp_path):
    """It wrote 100% NaN features that validate passed."""
    data, noise = make_data_dir(tmp_path), make_noise_set(tmp_path)
    res = run_mix(data, tmp_path / "dump", "--noise", noise, "--snr", 10, "--dither", "nan")
    assert res.exit_code == 1
    assert str(res.exception) == "--dither: must be a finite number >= 0, got nan"
    assert not (tmp_path / "dump").exists()


def test_feature_writer_refuses_non_finite_values(tmp_path):
    from trnet.feats.extract import write_features

    rows = np.ones((20, 80), np.float32)
    bad = rows.copy()
    bad[3, 7] = np.inf
    with pytest.raises(TrnetError) as err:
        write_features(tmp_path, [("spk-a", rows), ("spk-b", bad)], {"fbank": {}, "seed": 0})
    assert str(err.value) == (
        f"{tmp_path / 'feats.ark'}: spk-b: NaN or infinite feature values, not written "
        "(the audio or the fbank options?)"
    )
    assert sorted(p.name for p in tmp_path.iterdir()) == []


def test_validate_names_an_entry_with_nan_features(tmp_path):
    """Features written by another tool (kaldiio here) are read and checked entry by entry."""
    import kaldiio
    from typer.testing import CliRunner

    from trnet.cli import app

    write_kv(tmp_path / "utt2spk", {"spk-a": "spk", "spk-b": "spk"})
    write_kv(tmp_path / "spk2utt", {"spk": "spk-a spk-b"})
    feats = {"spk-a": np.zeros((10, 80), np.float32), "spk-b": np.full((10, 80), np.nan, "f4")}
    ark, scp = tmp_path / "feats.ark", tmp_path / "feats.scp"
    kaldiio.save_ark(str(ark), feats, scp=str(scp))
    res = CliRunner().invoke(app, ["data", "validate", str(tmp_path), "--no-wav"])
    assert res.exit_code == 1, res.output
    offset = read_kv(scp)["spk-b"].rpartition(":")[2]
    assert f"{scp}:2: spk-b: NaN or infinite values at {ark} offset {offset}" in res.output
