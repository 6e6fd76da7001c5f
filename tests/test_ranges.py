"""Numbers at the edge (issue 15): SNR range, non-finite audio, in prep and mix."""

from __future__ import annotations

import numpy as np
import pytest
import soundfile as sf
from test_mix import make_data_dir, make_noise_set, run_mix

from trnet.errors import TrnetError
from trnet.io import read_kv
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
