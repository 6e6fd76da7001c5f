"""Model packages, EmotionRecognizer and ``trnet infer`` on real audio.

The module fixture builds a small recipe by hand from the real stages' functions: wav
utterances of a generated speech-like signal plus noise, fbank (``make_feats``), a frozen
CRN SE run by ``enhance_condition``, a TRNet model written as a finished fold and decoded
by ``trnet decode``; then ``export`` packages it (with ONNX). The networks are untrained
(random weights, the classifier scaled so posteriors differ across utterances): what is
tested is that inference reproduces decoding, not accuracy.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import tracemalloc
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch
from typer.testing import CliRunner

from trnet.audio import read_audio
from trnet.cli import app
from trnet.data.datadir import DataDir
from trnet.errors import TrnetError
from trnet.infer.package_export import export
from trnet.infer.package_format import FORMAT_VERSION, MANIFEST, read_package, verify
from trnet.infer.recognizer import EmotionRecognizer
from trnet.io import file_sha256, read_kv, write_kv

ROOT = Path(__file__).resolve().parents[1]
SR = 16000
COND = "esc50_5"
EMOS = ["ang", "hap", "neu", "sad"]


def speechlike(rng: np.random.Generator, seconds: float, sr: int = SR) -> np.ndarray:
    """Harmonics of a gliding f0 with syllable-rate amplitude modulation."""
    t = np.arange(int(seconds * sr)) / sr
    f0 = rng.uniform(110, 240) * (1 + 0.15 * np.sin(2 * np.pi * rng.uniform(0.5, 3) * t))
    phase = 2 * np.pi * np.cumsum(f0) / sr
    x = sum(np.sin(k * phase) / k for k in range(1, 12))
    env = 0.5 + 0.5 * np.sin(2 * np.pi * rng.uniform(2, 5) * t) ** 2
    return (0.25 * env * x / np.abs(x).max()).astype(np.float32)


def _sharpen(model_state: dict) -> dict:
    """Spread the random net's posteriors and s so that equality tests can fail."""
    gen = torch.Generator().manual_seed(1)
    state = dict(model_state)
    for key in state:
        if key.startswith("classifier.4.weight"):
            state[key] = state[key] * 40
        if key == "compensation.linear.weight":
            state[key] = torch.randn(state[key].shape, generator=gen) * 0.5
    return state


@pytest.fixture(scope="module")
def recipe(tmp_path_factory) -> dict:
    from trnet import checkpoint
    from trnet.feats.extract import make_feats
    from trnet.models.factory import build_ser_model as build_model
    from trnet.se.config import resolve_config
    from trnet.se.enhance import enhance_condition
    from trnet.se.model import build_model as build_se
    from trnet.se.model import load_model, save_model
    from trnet.train.config import config_to_dict, load_config
    from trnet.train.decode import decode

    work = tmp_path_factory.mktemp("recipe")
    rng = np.random.default_rng(0)
    wav, utt2spk, utt2emo = {}, {}, {}
    for i in range(10):
        utt = f"Ses01F_u{i:02d}"
        clean = speechlike(rng, rng.uniform(0.8, 3.5))
        noisy = clean + 10 ** (-5 / 20) * 0.08 * rng.standard_normal(len(clean)).astype("f4")
        path = work / "wav" / f"{utt}.wav"
        path.parent.mkdir(exist_ok=True)
        sf.write(path, noisy, SR, subtype="PCM_16")
        wav[utt], utt2spk[utt], utt2emo[utt] = str(path), "Ses01F", EMOS[i % 4]
    dump = work / "dump"
    DataDir({"wav.scp": wav, "utt2spk": utt2spk, "utt2emo": utt2emo}).write(dump / COND)
    make_feats(dump / COND)
    se_conf = resolve_config({"model": "crn"})
    save_model(work / "exp" / "se" / "best.pt", build_se(se_conf), se_conf)
    se_model, _ = load_model(work / "exp" / "se")
    # one utterance per SE batch, as predict() runs it: batch padding changes float
    # rounding, which can flip an int16 sample of the enhanced audio (see test_recipe_e2e)
    enhance_condition(se_model, {"test": 1}, dump / COND, dump / f"{COND}_enh", batch_size=1)
    test_dir = work / "test"
    DataDir({"utt2spk": utt2spk, "utt2emo": utt2emo}).write(test_dir)
    (test_dir / "corpus.json").write_text(json.dumps({"corpus": "iemocap", "generated": True}))

    cfg = load_config(ROOT / "egs" / "iemocap" / "conf" / "slim" / "trnet.yaml")
    torch.manual_seed(0)
    model = build_model(cfg.model)
    model.set_cmvn(torch.full((80,), 5.0), torch.full((80,), 3.0))
    fold = work / "exp" / "trnet" / "fold1"
    best = {
        "config": config_to_dict(cfg),
        "system": "trnet",
        "fold": 1,
        "epoch": 3,
        "dev_uar": 0.5,
        "model": _sharpen(model.state_dict()),
    }
    checkpoint.save(fold / "best.pt", best)
    (fold / ".done").write_text("best_epoch 3\ndev_uar 0.500000\n")
    (dec,) = decode(fold, dump, test_dir, [COND], fold.parent / "decode")
    pkg = export(fold, work / "pkg", onnx=True)
    post = {u: np.array(v.split(), dtype=float) for u, v in read_kv(dec / "posteriors").items()}
    s = {u: float(v) for u, v in read_kv(dec / "utt2s").items()}
    return {"work": work, "pkg": pkg, "wav": wav, "post": post, "s": s, "fold": fold}


def test_predict_reproduces_trnet_decode(recipe):
    rec = EmotionRecognizer.load(recipe["pkg"])
    post = recipe["post"]
    spread = np.ptp(np.stack(list(post.values())), axis=0).max()
    assert spread > 1e-3  # 100x the tolerance: posteriors differ, the check can fail
    for utt, spec in recipe["wav"].items():
        res = rec.predict(read_audio(spec), SR)
        assert len(res.windows) == 1
        got = np.array([res.probs[c] for c in EMOS])
        np.testing.assert_allclose(got, post[utt], atol=1e-5, err_msg=utt)
        assert abs(res.s - recipe["s"][utt]) < 1e-5
        assert res.snr_db is not None and np.isfinite(res.snr_db)
    batch = rec.predict_batch(list(recipe["wav"].values()))  # windows batched together
    for res, utt in zip(batch, recipe["wav"], strict=True):
        np.testing.assert_allclose([res.probs[c] for c in EMOS], post[utt], atol=1e-4)


def test_onnx_backend_matches_torch(recipe):
    pytest.importorskip("onnxruntime")
    assert (recipe["pkg"] / "ser.onnx").is_file() and (recipe["pkg"] / "se.onnx").is_file()
    torch_rec = EmotionRecognizer.load(recipe["pkg"])
    onnx_rec = EmotionRecognizer.load(recipe["pkg"], backend="onnx")
    paths = list(recipe["wav"].values())
    for a, b in zip(torch_rec.predict_batch(paths), onnx_rec.predict_batch(paths), strict=True):
        assert max(abs(a.probs[c] - b.probs[c]) for c in EMOS) < 1e-4
        assert abs(a.s - b.s) < 1e-4


def test_package_card_manifest_and_loading_without_exp(recipe, tmp_path):
    pkg = shutil.copytree(recipe["pkg"], tmp_path / "pkg")
    manifest = json.loads((pkg / MANIFEST).read_text())
    assert manifest["format_version"] == FORMAT_VERSION
    on_disk = {p.relative_to(pkg).as_posix() for p in pkg.rglob("*") if p.is_file()}
    assert set(manifest["files"]) == on_disk - {MANIFEST}
    assert {"ser.pt", "se/best.pt", "frontend.json", "config.yaml", "card.md"} <= on_disk
    card = json.loads((pkg / "card.json").read_text())
    assert card["generated"] is True and card["corpus"] == "iemocap"
    assert card["system"] == "trnet" and card["fold"] == 1
    assert set(card["test"]) == {COND} and 0 <= card["test"][COND]["uar"] <= 1
    assert "GENERATED" in (pkg / "card.md").read_text()
    # nothing of the recipe is needed any more
    moved = recipe["work"].with_name(recipe["work"].name + "_moved")
    recipe["work"].rename(moved)
    try:
        spec = moved / "wav" / Path(next(iter(recipe["wav"].values()))).name
        res = EmotionRecognizer.load(pkg).predict_file(spec)
        assert res.label in EMOS
    finally:
        moved.rename(recipe["work"])


def test_export_is_reproducible_and_picks_the_best_fold(recipe, tmp_path):
    again = export(recipe["fold"].parent, tmp_path / "again")  # the system dir: best fold
    first = json.loads((recipe["pkg"] / MANIFEST).read_text())["files"]
    second = json.loads((again / MANIFEST).read_text())["files"]
    same = {k for k in second if k not in ("card.json", "card.md") and first[k] == second[k]}
    assert same == set(second) - {"card.json", "card.md"}  # card differs only by the onnx line
    with pytest.raises(TrnetError, match="exists"):
        export(recipe["fold"], tmp_path / "again")


def _one_line(err: BaseException) -> str:
    text = str(err)
    assert "\n" not in text
    return text


@pytest.mark.parametrize(
    "damage, message",
    [
        (lambda p: (p / "ser.pt").write_bytes((p / "ser.pt").read_bytes() + b"\0"), "checksum"),
        (lambda p: (p / "se" / "best.pt").unlink(), "missing"),
        (lambda p: (p / MANIFEST).unlink(), "not a trnet model package"),
        (
            lambda p: (p / MANIFEST).write_text(
                json.dumps({**json.loads((p / MANIFEST).read_text()), "format_version": 99})
            ),
            "newer",
        ),
    ],
)
def test_damaged_or_newer_package_is_one_line_error(recipe, tmp_path, damage, message):
    pkg = shutil.copytree(recipe["pkg"], tmp_path / "pkg")
    damage(pkg)
    with pytest.raises(TrnetError) as err:
        read_package(pkg)
    assert message in _one_line(err.value) and str(pkg) in str(err.value)


def test_any_rate_and_channels_and_blocks_equal_the_whole_file(recipe, tmp_path):
    rec = EmotionRecognizer.load(recipe["pkg"])
    rng = np.random.default_rng(3)
    stereo = np.stack([speechlike(rng, 9.0, 44100), speechlike(rng, 9.0, 44100)], axis=1)
    path = tmp_path / "stereo44k.wav"
    sf.write(path, stereo, 44100, subtype="PCM_16")
    from_file = rec.predict_file(path)
    in_memory = rec.predict(sf.read(path, dtype="float32")[0], 44100)
    assert from_file.duration == pytest.approx(9.0, abs=1e-3)
    assert [(w.start, w.end) for w in from_file.windows] == [(0, 4), (2, 6), (4, 8), (5, 9)]
    for a, b in zip(from_file.windows, in_memory.windows, strict=True):
        assert max(abs(a.probs[c] - b.probs[c]) for c in EMOS) < 1e-5
    # the overall result is the activity-weighted mean of the windows
    w = np.array([x.speech for x in from_file.windows])
    mean = sum(
        wi * np.array([x.probs[c] for c in EMOS])
        for wi, x in zip(w, from_file.windows, strict=True)
    )
    np.testing.assert_allclose([from_file.probs[c] for c in EMOS], mean / w.sum(), atol=1e-9)


def test_ten_minute_file_is_read_in_blocks(recipe, tmp_path):
    """600 s at 22.05 kHz: 53 MB as float32 if read whole; numpy allocations (tracemalloc)
    stay far below that while it is processed."""
    path = tmp_path / "long.wav"
    rng = np.random.default_rng(4)
    with sf.SoundFile(path, "w", 22050, 1, "PCM_16") as f:
        for _ in range(60):
            f.write(speechlike(rng, 10.0, 22050))
    rec = EmotionRecognizer.load(recipe["pkg"], batch_size=8)
    tracemalloc.start()
    try:
        res = rec.predict_file(path, window=4, hop=4)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert res.duration == pytest.approx(600.0, abs=1e-3)
    assert len(res.windows) == 150 and res.windows[-1].end == pytest.approx(600.0)
    assert peak < 20e6, peak


def _bad_inputs(d: Path) -> dict[str, Path]:
    d.mkdir()
    rng = np.random.default_rng(5)
    paths = {
        "corrupt": d / "corrupt.wav",
        "text": d / "notes.wav",
        "empty": d / "empty.wav",
        "no_samples": d / "no_samples.wav",
        "too_short": d / "short.flac",
    }
    good = sf.SoundFile(d / "good.wav", "w", 16000, 1, "PCM_16")
    good.write(speechlike(rng, 1.5))
    good.close()
    paths["corrupt"].write_bytes(b"RIFF\x24\x00\x00\x00WAVEfmt " + rng.bytes(200))
    paths["text"].write_text("this is not audio\n")
    paths["empty"].write_bytes(b"")
    sf.write(paths["no_samples"], np.zeros(0, np.float32), 16000)
    sf.write(paths["too_short"], np.zeros(200, np.float32), 16000)
    return paths


def test_bad_inputs_are_one_line_errors_and_the_others_run(recipe, tmp_path):
    bad = _bad_inputs(tmp_path / "in")
    out = tmp_path / "results.json"
    result = CliRunner().invoke(
        app, ["infer", str(recipe["pkg"]), str(tmp_path / "in"), "--output", str(out)]
    )
    assert result.exit_code == 1, result.output
    assert f"errors ({len(bad)})" in result.output
    rows = {Path(r["name"]).name: r for r in json.loads(out.read_text())["results"]}
    assert rows["good.wav"]["label"] in EMOS and "error" not in rows["good.wav"]
    expected = {
        "corrupt": "not a readable audio file",
        "text": "not a readable audio file",
        "empty": "empty",
        "no_samples": "empty",
        "too_short": "shorter than one analysis frame",
    }
    for key, path in bad.items():
        err = rows[path.name]["error"]
        assert "\n" not in err and str(path) in err and expected[key] in err, err
    ok = CliRunner().invoke(app, ["infer", str(recipe["pkg"]), str(tmp_path / "in" / "good.wav")])
    assert ok.exit_code == 0, ok.output


def test_wav_scp_input_and_csv_output(recipe, tmp_path):
    scp = tmp_path / "wav.scp"
    write_kv(scp, dict(list(recipe["wav"].items())[:3]))
    out = tmp_path / "out.tsv"
    result = CliRunner().invoke(app, ["infer", str(recipe["pkg"]), str(scp), "-o", str(out)])
    assert result.exit_code == 0, result.output
    lines = [line.split("\t") for line in out.read_text().splitlines()]
    assert lines[0][:9] == ["name", "window", "start", "end", "label", *EMOS]
    overall = [row for row in lines[1:] if row[1] == "all"]
    assert [row[0] for row in overall] == list(recipe["wav"])[:3]
    for row in overall:
        utt = row[0]
        np.testing.assert_allclose(
            [float(v) for v in row[5:9]], recipe["post"][utt], atol=2e-6 + 1e-5
        )


def test_cli_package_error_is_one_line_without_traceback(recipe, tmp_path):
    pkg = shutil.copytree(recipe["pkg"], tmp_path / "pkg")
    (pkg / "frontend.json").write_text("{}")
    done = subprocess.run(
        [sys.executable, "-m", "trnet", "infer", str(pkg), str(tmp_path)],
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    assert done.returncode == 1
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "checksum mismatch" in lines[0] and "Traceback" not in done.stderr


def test_a_manifest_naming_files_outside_the_package_is_refused(recipe, tmp_path):
    """The manifest is untrusted: an entry outside the package (absolute, ``..``) is one
    line naming the manifest, and the outside file is never read."""
    outside = tmp_path / "secret"
    outside.write_text("not the package's")
    for name in (str(outside), "../secret", "se/../../secret"):
        pkg = tmp_path / "pkg"
        shutil.rmtree(pkg, ignore_errors=True)
        shutil.copytree(recipe["pkg"], pkg)
        manifest = json.loads((pkg / "manifest.json").read_text())
        manifest["files"][name] = file_sha256(outside)
        (pkg / "manifest.json").write_text(json.dumps(manifest))
        with pytest.raises(TrnetError, match="is not a file inside the package"):
            verify(pkg)


def test_missing_onnxruntime_names_the_extra(recipe, monkeypatch):
    monkeypatch.setitem(sys.modules, "onnxruntime", None)
    with pytest.raises(TrnetError, match=re.escape("pip install 'trnet[onnx]'")):
        EmotionRecognizer.load(recipe["pkg"], backend="onnx")


def test_readme_example_runs(recipe, tmp_path, monkeypatch):
    text = (ROOT / "README.md").read_text()
    section = text.split("## Use a trained model", 1)[1]
    code = re.search(r"```python\n(.*?)```", section, re.S).group(1)
    assert len(code.strip().splitlines()) == 5
    shutil.copytree(recipe["pkg"], tmp_path / "pkg")
    shutil.copyfile(next(iter(recipe["wav"].values())), tmp_path / "speech.wav")
    monkeypatch.chdir(tmp_path)
    scope: dict = {}
    exec(compile(code, "README.md", "exec"), scope)  # noqa: S102 (the README's own example)
    assert scope["result"].label in EMOS


def test_nan_input_is_an_error_and_silence_is_no_speech(recipe, tmp_path):
    """An all-NaN file is named as such (not answered 'ang', the argmax of NaN); two seconds
    of digital silence get no emotion (not a confident class) and the note 'no speech'."""
    d = tmp_path / "in"
    d.mkdir()
    sf.write(d / "nan.wav", np.full(SR, np.nan, np.float32), SR, subtype="FLOAT")
    sf.write(d / "silence.wav", np.zeros(2 * SR, np.float32), SR, subtype="PCM_16")
    shutil.copyfile(next(iter(recipe["wav"].values())), d / "speech.wav")
    out = tmp_path / "results.json"
    args = ["infer", str(recipe["pkg"]), str(d), "-o", str(out)]
    result = CliRunner().invoke(app, args, env={"COLUMNS": "250"})
    assert result.exit_code == 1, result.output
    rows = {Path(r["name"]).name: r for r in json.loads(out.read_text())["results"]}
    assert rows["nan.wav"] == {
        "name": str(d / "nan.wav"),
        "error": f"{d / 'nan.wav'}: audio has NaN or infinite samples",
    }
    silence = rows["silence.wav"]
    assert silence["label"] == "none" and silence["note"] == "no speech"
    assert set(silence["probs"].values()) == {None} and silence["s"] is None
    assert rows["speech.wav"]["label"] in EMOS and rows["speech.wav"]["note"] is None
    assert "none (no speech)" in result.output
    rec = EmotionRecognizer.load(recipe["pkg"])
    assert rec.predict(np.zeros(2 * SR, np.int16), SR).label == "none"
    with pytest.raises(TrnetError, match="waveform: audio has NaN or infinite samples"):
        rec.predict(np.full(SR, np.inf, np.float32), SR)
