"""baseline_egemaps (trnet.classic): eGeMAPS functionals from generated audio, RBF SVM with C
chosen on dev, decode dirs in the format of ``trnet decode``, cache and dispatch."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import yaml

from trnet.contract import CLASSES
from trnet.errors import TrnetError

pytest.importorskip("opensmile")

from voice_toy import make_audio_layout, with_feats  # noqa: E402 (after the skip)


def svm_config(path: Path) -> Path:
    raw = {
        "system": "baseline_egemaps",
        "model": {"kind": "egemaps_svm", "c_grid": [0.1, 10.0]},
        "data": {"snrs": [10], "train_noise": "esc50_train", "dev_noise": "esc50_dev"},
    }
    path.write_text(yaml.safe_dump(raw))
    return path


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    from trnet.classic.svm import KIND, load_svm_config
    from trnet.systems.registry import KINDS

    root = tmp_path_factory.mktemp("svm")
    folds, dump = make_audio_layout(root)
    cfg = load_svm_config(svm_config(root / "baseline_egemaps.yaml"))
    exp = KINDS[KIND].train(cfg, 1, folds, dump, root / "exp" / "baseline_egemaps" / "fold1")
    return {"root": root, "folds": folds, "dump": dump, "exp": exp}


def test_train_chooses_c_on_dev_and_caches_functionals(trained: dict[str, Path]) -> None:
    from trnet.classic.egemaps import N_FUNCTIONALS
    from trnet.kaldi_io import read_vectors

    log = (trained["exp"] / "train.log").read_text()
    assert "C 0.1: dev UAR" in log and "C 10: dev UAR" in log and "best C" in log
    assert (trained["exp"] / ".done").is_file()
    # every train utt in each training condition; dev utts only where dev is drawn from
    train_cache = read_vectors(trained["dump"] / "esc50_train_10" / "egemaps.ark")
    assert len(train_cache) == 24
    assert {v.shape for v in train_cache.values()} == {(N_FUNCTIONALS,)}
    dev_cache = read_vectors(trained["dump"] / "esc50_dev_10" / "egemaps.ark")
    assert sorted(dev_cache) == [f"s4-u{i}" for i in range(8)]
    assert not (trained["dump"] / "esc50_0" / "egemaps.ark").exists()


def test_decode_writes_the_decode_dir_format(trained: dict[str, Path]) -> None:
    from trnet.systems.registry import decode_fold as decode

    out = trained["root"] / "exp" / "baseline_egemaps" / "decode"
    test_dir = trained["folds"] / "fold1" / "test"
    # esc50_0 as trnet mix writes it with a generated noise set
    (trained["dump"] / "esc50_0" / "corpus.json").write_text(
        json.dumps({"corpus": "toy", "generated": True, "noise_generated": True})
    )
    dirs = decode(trained["exp"], trained["dump"], test_dir, ["clean", "esc50_0"], out)
    assert [d.relative_to(out).as_posix() for d in dirs] == ["clean/fold1", "esc50_0/fold1"]
    d = dirs[0]
    for name in ("hyp", "ref", "classes", "posteriors", "emb.scp", "emb.ark", "info.json", ".done"):
        assert (d / name).is_file(), name
    assert not (d / "utt2s").exists()
    post = {
        line.split()[0]: [float(v) for v in line.split()[1:]]
        for line in (d / "posteriors").read_text().splitlines()
    }
    hyp = dict(line.split() for line in (d / "hyp").read_text().splitlines())
    assert len(post) == 8
    for utt, row in post.items():
        assert len(row) == len(CLASSES) and abs(sum(row) - 1) < 1e-4
        assert hyp[utt] == CLASSES[int(np.argmax(row))]
    ref = dict(line.split() for line in (d / "ref").read_text().splitlines())
    # pitch and loudness separate the classes: the SVM gets most test utterances right
    assert sum(hyp[u] == ref[u] for u in ref) >= 6
    info = json.loads((d / "info.json").read_text())
    assert info["system"] == "baseline_egemaps" and info["condition"] == "clean"
    assert info["generated"] is True and info["noise_generated"] is False
    assert json.loads((dirs[1] / "info.json").read_text())["noise_generated"] is True
    # a second decode skips complete dirs (same bytes)
    before = (d / "posteriors").read_bytes()
    decode(trained["exp"], trained["dump"], test_dir, ["clean"], out)
    assert (d / "posteriors").read_bytes() == before


def test_cli_train_dispatches_on_model_kind(trained: dict[str, Path], tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from trnet.cli import app

    out = tmp_path / "fold1"
    res = CliRunner().invoke(
        app,
        [
            "train",
            "--config",
            str(trained["root"] / "baseline_egemaps.yaml"),
            "--fold",
            "1",
            "--data-root",
            str(trained["folds"]),
            "--dump",
            str(trained["dump"]),
            "--out",
            str(out),
            "--seed",
            "0",
        ],
    )
    assert res.exit_code == 0, res.output
    # same inputs and seed: the same model bytes as the fixture's run
    for name in ("model.npz", "model.json"):
        assert (out / name).read_bytes() == (trained["exp"] / name).read_bytes(), name


def _sklearn_reference(trained: dict[str, Path], x: np.ndarray) -> np.ndarray:
    """sklearn's own decision_function of the fold's model, refitted in memory (the fit is
    deterministic): what the pickled pipeline computed when decoding."""
    from trnet.classic.egemaps import example_functionals
    from trnet.classic.svm import _decision_values, _fit, load_svm_config
    from trnet.train.fold_data import load_fold

    cfg = load_svm_config(trained["exp"] / "config.yaml")
    data = load_fold(trained["folds"], 1)
    train = [(u, c) for c in cfg.train_conditions() for u in data.train]
    y = np.array([data.labels[u] for u, _ in train])
    best_c = json.loads((trained["exp"] / "model.json").read_text())["c"]
    return _decision_values(_fit(example_functionals(trained["dump"], train), y, best_c, cfg), x)


def test_model_is_stored_without_pickle_and_decodes_as_sklearn(trained: dict[str, Path]) -> None:
    """model.npz (plain arrays) + model.json; the numpy decision function and scaler equal
    the fitted sklearn pipeline's, and so do the decoded posteriors."""
    from trnet.classic.egemaps import example_functionals
    from trnet.classic.svm import _decision_values, _softmax
    from trnet.classic.svm_model import load_model
    from trnet.systems.registry import decode_fold as decode

    exp = trained["exp"]
    assert not (exp / "model.pkl").exists()
    with np.load(exp / "model.npz", allow_pickle=False) as npz:
        assert {"support_vectors", "dual_coef", "intercept", "mean", "scale"} <= set(npz.files)
    meta = json.loads((exp / "model.json").read_text())
    assert meta["fold"] == 1 and meta["c"] in (0.1, 10.0) and meta["temperature"] > 0
    model, _ = load_model(exp)
    utts = [f"s5-u{i}" for i in range(8)]
    x = example_functionals(trained["dump"], [(u, "esc50_0") for u in utts])
    reference = _sklearn_reference(trained, x)
    ours = _decision_values(model, x)
    np.testing.assert_allclose(ours, reference, rtol=0, atol=1e-9)
    np.testing.assert_allclose(
        _softmax(ours, meta["temperature"]),
        _softmax(reference, meta["temperature"]),
        rtol=0,
        atol=1e-9,
    )
    out = trained["root"] / "exp" / "baseline_egemaps" / "decode_ref"
    (d,) = decode(exp, trained["dump"], trained["folds"] / "fold1" / "test", ["esc50_0"], out)
    written = np.array(
        [
            [float(v) for v in line.split()[1:]]
            for line in (d / "posteriors").read_text().splitlines()
        ]
    )
    np.testing.assert_allclose(written, _softmax(reference, meta["temperature"]), atol=6e-7)


class _Payload:
    """Writes a file when unpickled (what a crafted model.pkl does)."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):  # noqa: ANN204
        return (Path.write_text, (self.marker, "pwned"))


def _copy_fold(src: Path, dest: Path, names: tuple[str, ...]) -> Path:
    dest.mkdir(parents=True)
    for name in names:
        (dest / name).write_bytes((src / name).read_bytes())
    return dest


def test_old_pickled_fold_is_refused_never_unpickled(
    trained: dict[str, Path], tmp_path: Path
) -> None:
    import pickle

    from trnet.systems.registry import decode_fold as decode

    fold = _copy_fold(
        trained["exp"], tmp_path / "fold1", ("config.yaml", ".signature.json", ".done")
    )
    marker = tmp_path / "pwned"
    (fold / "model.pkl").write_bytes(pickle.dumps({"model": _Payload(marker), "fold": 1}))
    test_dir = trained["folds"] / "fold1" / "test"
    with pytest.raises(TrnetError, match=r"model\.pkl: a pickled model .* retrain the fold"):
        decode(fold, trained["dump"], test_dir, ["clean"], tmp_path / "decode")
    assert not marker.exists()
    assert not (tmp_path / "decode").exists()


def test_crafted_model_files_are_one_line_errors(trained: dict[str, Path], tmp_path: Path) -> None:
    """An object array (a pickle inside the npz), inconsistent shapes, a fold that is a path:
    each refused naming the file, nothing written outside the decode dir."""
    from trnet.systems.registry import decode_fold as decode

    test_dir = trained["folds"] / "fold1" / "test"
    names = ("config.yaml", ".signature.json", ".done", "model.npz", "model.json")
    with np.load(trained["exp"] / "model.npz", allow_pickle=False) as npz:
        arrays = {k: npz[k] for k in npz.files}
    cases = {
        "object": ({**arrays, "classes": np.array([_Payload(tmp_path / "pwned")] * 4)}, None),
        "shape": ({**arrays, "intercept": arrays["intercept"][:2]}, None),
        "nan": ({**arrays, "mean": arrays["mean"] * np.nan}, None),
        "fold": (arrays, "/../../../../escaped"),
    }
    for case, (npz_arrays, fold_value) in cases.items():
        fold = _copy_fold(trained["exp"], tmp_path / case / "fold1", names)
        np.savez(fold / "model.npz", **npz_arrays)
        if fold_value is not None:
            meta = json.loads((fold / "model.json").read_text())
            (fold / "model.json").write_text(json.dumps({**meta, "fold": fold_value}))
        where = "model\\.json" if case == "fold" else "model\\.npz"
        with pytest.raises(TrnetError, match=rf"{case}/fold1/{where}: ") as err:
            decode(fold, trained["dump"], test_dir, ["clean"], tmp_path / case / "decode")
        assert "\n" not in str(err.value), case
        assert not (tmp_path / case / "decode").exists()
    assert not (tmp_path / "pwned").exists()
    assert not (tmp_path / "escaped").exists()


def test_bad_svm_config_is_one_line_error(tmp_path: Path) -> None:
    from trnet.classic.svm import load_svm_config

    path = tmp_path / "bad.yaml"
    path.write_text(
        yaml.safe_dump(
            {"system": "x", "model": {"kind": "egemaps_svm", "c": 1}, "data": {"snrs": []}}
        )
    )
    with pytest.raises(TrnetError, match="bad.yaml.*unknown key"):
        load_svm_config(path)
    path.write_text(
        yaml.safe_dump(
            {"system": "x", "model": {"kind": "egemaps_svm", "c_grid": [0]}, "data": {"snrs": []}}
        )
    )
    with pytest.raises(TrnetError, match="c_grid"):
        load_svm_config(path)


def test_hybrid_deep_system_fuses_the_functionals(trained: dict[str, Path]) -> None:
    """model.functionals: the eGeMAPS vector of the input (the cache the SVM filled) is
    standardised with clean training statistics and concatenated to z."""
    import torch

    from trnet import checkpoint
    from trnet.classic.egemaps import condition_functionals
    from trnet.systems.registry import decode_fold as decode
    from trnet.train.config import config_from_dict
    from trnet.train.fold_run import train_fold

    dump = with_feats(trained["dump"])
    raw = {
        "system": "baseline_noisy",
        "model": {"channels": [4], "emb_dim": 4, "hidden": 8, "functionals": True},
        "data": {"input": "noisy", "snrs": [10], "max_len": 16, "eval_full": True},
        "optim": {"lr": 1e-3},
        "train": {"batch_size": 8, "max_epochs": 2, "early_stop": 5},
    }
    out = trained["root"] / "exp" / "hybrid" / "fold1"
    train_fold(config_from_dict(raw), 1, trained["folds"], dump, out, device="cpu")
    model = checkpoint.load(out / "best.pt")["model"]
    train_utts = [f"s{s}-u{i}" for s in (1, 2, 3) for i in range(8)]
    clean = np.stack(list(condition_functionals(dump, "clean", train_utts).values()))
    assert torch.allclose(model["func_mean"], torch.from_numpy(clean.mean(0)), rtol=1e-4)
    assert model["classifier.0.weight"].shape == (8, 4 + 88)
    dirs = decode(out, dump, trained["folds"] / "fold1" / "test", ["esc50_0"], out / "decode")
    assert len((dirs[0] / "posteriors").read_text().splitlines()) == 8
    # the test condition's functionals were computed for the test utterances and cached
    assert (dump / "esc50_0" / "egemaps.scp").is_file()


def test_kernel_hybrid_prefits_standardises_on_all_conditions_and_keeps_the_last_epoch(
    trained: dict[str, Path],
) -> None:
    """conf/cpu's hybrid: functionals standardised on every training example (clean and
    noisy), an RBF kernel machine on them prefitted alone, the last epoch kept."""
    import torch

    from trnet import checkpoint
    from trnet.classic.egemaps import condition_functionals
    from trnet.systems.registry import decode_fold as decode
    from trnet.train.config import config_from_dict
    from trnet.train.fold_run import train_fold

    dump = with_feats(trained["dump"])
    raw = {
        "system": "baseline_noisy",
        "model": {
            "channels": [4],
            "emb_dim": 4,
            "hidden": 8,
            "functionals": True,
            "functionals_norm": "train",
            "functionals_head": "kernel",
            "kernel_dim": 256,
        },
        "data": {"input": "noisy", "snrs": [10], "max_len": 16, "eval_full": True},
        "loss": {"branch_ce": 1.0},
        "optim": {"lr": 1e-3},
        "train": {
            "batch_size": 8,
            "max_epochs": 3,
            "early_stop": 1,
            "kernel_prefit": 30,
            "select": "last",
        },
    }
    out = trained["root"] / "exp" / "kernel" / "fold1"
    train_fold(config_from_dict(raw), 1, trained["folds"], dump, out, device="cpu")
    best = checkpoint.load(out / "best.pt")
    assert best["epoch"] == 3  # early_stop 1 would have stopped a "best" run sooner
    model = best["model"]
    utts = [f"s{s}-u{i}" for s in (1, 2, 3) for i in range(8)]
    both = [condition_functionals(dump, c, utts) for c in ("clean", "esc50_train_10")]
    x = np.stack([table[u] for table in both for u in utts])
    assert torch.allclose(model["func_mean"], torch.from_numpy(x.mean(0)), rtol=1e-4, atol=1e-5)
    assert model["func_kernel.weight"].shape == (88, 256)
    assert model["classifier.0.weight"].shape == (8, 4)  # the CNN's head: z only
    log = (out / "train.log").read_text()
    # the class of each toy voice is in its pitch and loudness: the kernel machine learns it
    assert "kernel branch prefitted on 48 examples, 30 epochs: train UAR 1.0000" in log
    dirs = decode(out, dump, trained["folds"] / "fold1" / "test", ["clean"], out / "decode")
    hyp = dict(line.split() for line in (dirs[0] / "hyp").read_text().splitlines())
    ref = dict(line.split() for line in (dirs[0] / "ref").read_text().splitlines())
    assert sum(hyp[u] == ref[u] for u in ref) >= 6  # of 8 unseen-speaker voices
    from trnet.infer.package_export import export

    pkg = export(out, trained["root"] / "pkg")  # test_export_kinds: it predicts as decode
    assert json.loads((pkg / "functionals.json").read_text())["inputs"] == ["noisy"]
