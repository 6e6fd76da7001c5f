"""``model.functionals_input`` (issue 25): whose eGeMAPS functionals a blend hybrid's branch
gets, the noisy input's (the default, the earlier behaviour), the enhanced input's, both
blended by TRNet's s as its spectrograms are, or both side by side; through training, the
kernel prefit, the standardising statistics and decoding."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
import torch
import yaml

from trnet.errors import TrnetError
from trnet.models.ser import SerModel
from trnet.train.config import config_from_dict, config_to_dict, load_config
from trnet.train.data import functionals_array, functionals_conditions, functionals_sources


def test_sources_and_conditions_of_each_mode() -> None:
    assert functionals_sources("noisy") == ["noisy"]
    assert functionals_sources("enhanced") == ["enhanced"]  # Baseline-e: its own input's
    assert functionals_sources("blend") == ["noisy"]  # the default: as before issue 25
    assert functionals_sources("blend", "enhanced") == ["enhanced"]
    assert functionals_sources("blend", "blend") == ["noisy", "enhanced"]
    assert functionals_sources("blend", "both") == ["noisy", "enhanced"]
    assert functionals_conditions("esc50_0", "blend") == ["esc50_0"]
    assert functionals_conditions("esc50_0", "enhanced") == ["esc50_0_enh"]
    assert functionals_conditions("clean", "blend", "blend") == ["clean", "clean_enh"]
    one, two = np.zeros(88), np.ones(88)
    assert functionals_array([one]).shape == (88,)
    assert np.array_equal(functionals_array([one, two]), np.stack([one, two]))


def _hybrid(mode: str, **kw: object) -> SerModel:
    torch.manual_seed(0)
    model = SerModel(
        channels=[4],
        emb_dim=4,
        hidden=8,
        compensation=True,
        functionals=88,
        functionals_head="kernel",
        kernel_dim=64,
        functionals_input=mode,
        **kw,
    )
    model.set_functional_stats(torch.randn(88), torch.rand(88) + 0.5)
    return model.eval()


def _force_s(model: SerModel, s: float) -> None:
    with torch.no_grad():
        model.compensation.linear.weight.zero_()
        model.compensation.linear.bias.fill_(s)


def test_blend_mode_mixes_the_standardised_vectors_by_s() -> None:
    blend = _hybrid("blend")
    func = torch.randn(3, 2, 88) * 3 + 1
    f_n, f_e = ((func[:, k] - blend.func_mean) / blend.func_std for k in (0, 1))
    s = torch.tensor([1.0, 0.0, 0.25])
    got = blend.functionals_vector(func, s)
    assert torch.equal(got[0], f_n[0]) and torch.equal(got[1], f_e[1])
    assert torch.allclose(got[2], 0.25 * f_n[2] + 0.75 * f_e[2])
    with pytest.raises(ValueError, match="needs s"):
        blend.functionals_vector(func)
    with pytest.raises(ValueError, match=r"\(B, 2, functionals\)"):
        blend.functionals_vector(func[:, 0], s)
    # the model's forward feeds its own s: forced to 1 (0) the kernel branch gives what a
    # model fed the noisy (enhanced) input's functionals gives, and both differ
    xn, xe = torch.randn(3, 30, 80), torch.randn(3, 30, 80)
    single = {mode: _hybrid(mode) for mode in ("noisy", "enhanced")}
    for s_value, same, other in ((1.0, "noisy", "enhanced"), (0.0, "enhanced", "noisy")):
        _force_s(blend, s_value)
        k = 0 if same == "noisy" else 1
        for model in single.values():
            model.load_state_dict(blend.state_dict())
        out = blend(xn, xe, func=func)
        assert torch.equal(out["s"], torch.full((3,), s_value))
        want = single[same](xn, xe, func=func[:, k])
        assert torch.equal(out["logits_f"], want["logits_f"])
        assert torch.equal(out["logits"], want["logits"])
        wrong = single[other](xn, xe, func=func[:, 1 - k])["logits_f"]
        assert not torch.allclose(out["logits_f"], wrong)


def test_blend_branch_trains_s_and_the_default_branch_does_not() -> None:
    """The compensation starts at s = 0.5 (inside the clamp): the kernel branch's loss
    reaches w and b of s only when it is fed the blend."""
    xn, xe, func = torch.randn(2, 30, 80), torch.randn(2, 30, 80), torch.randn(2, 2, 88)
    for mode, arg, moves in (("blend", func, True), ("noisy", func[:, 0], False)):
        model = _hybrid(mode).train()
        model(xn, xe, func=arg)["logits_f"].sum().backward()
        grad = model.compensation.linear.bias.grad
        assert (grad is not None and bool(grad.abs().sum() > 0)) == moves, mode


def test_both_mode_concatenates_the_two_vectors() -> None:
    both = _hybrid("both")
    assert both.func_kernel.weight.shape == (176, 64)
    func = torch.randn(3, 2, 88)
    vec = both.functionals_vector(func)
    assert vec.shape == (3, 176)
    assert torch.equal(vec[:, 88:], (func[:, 1] - both.func_mean) / both.func_std)
    mlp = SerModel(channels=[4], emb_dim=4, hidden=8, compensation=True, functionals=88)
    assert mlp.classifier[0].in_features == 4 + 88
    mlp = SerModel(
        channels=[4],
        emb_dim=4,
        hidden=8,
        compensation=True,
        functionals=88,
        functionals_input="both",
    )
    assert mlp.classifier[0].in_features == 4 + 176
    with pytest.raises(ValueError, match="needs the compensation"):
        SerModel(channels=[4], emb_dim=4, functionals=88, functionals_input="blend")


def _raw(mode: str | None = None, input_kind: str = "blend", functionals: bool = True) -> dict:
    model = {
        "channels": [4],
        "emb_dim": 4,
        "hidden": 8,
        "compensation": input_kind == "blend",
        "bridge": input_kind == "blend",
        "functionals": functionals,
        "functionals_norm": "train",
        "functionals_head": "kernel",
        "kernel_dim": 256,
    }
    if mode is not None:
        model["functionals_input"] = mode
    return {
        "system": "trnet_blendfun",
        "model": model,
        "data": {"input": input_kind, "snrs": [10], "max_len": 16, "eval_full": True},
        "loss": {"alpha": 0.5 if input_kind == "blend" else 0.0, "branch_ce": 1.0},
        "optim": {"lr": 1e-3},
        "train": {
            "batch_size": 8,
            "max_epochs": 2,
            "early_stop": 5,
            "kernel_prefit": 30,
            "select": "last",
        },
    }


def test_key_at_default_stays_out_of_the_resolved_config_and_bad_values_fail(
    tmp_path: Path,
) -> None:
    default = config_to_dict(config_from_dict(_raw()))
    assert "functionals_input" not in default["model"]
    assert config_to_dict(config_from_dict(_raw("noisy"))) == default
    assert config_to_dict(config_from_dict(_raw("blend")))["model"]["functionals_input"] == "blend"
    cases = {
        "mix": (_raw("mix"), "model.functionals_input must be one of noisy, enhanced, blend, both"),
        "noisy_input": (_raw("blend", "noisy"), "needs model.functionals: true and data.input"),
        "no_hybrid": (_raw("both", functionals=False), "needs model.functionals: true"),
    }
    for name, (raw, message) in cases.items():
        path = tmp_path / f"{name}.yaml"
        path.write_text(yaml.safe_dump(raw))
        with pytest.raises(TrnetError, match=message) as err:
            load_config(path)
        assert str(err.value).startswith(f"{path}: ") and "\n" not in str(err.value)


@pytest.fixture(scope="module")
def blendfun(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A toy TRNet hybrid with ``functionals_input: blend``, trained on toy voices whose
    enhanced twins are audio of their own (so their functionals differ)."""
    pytest.importorskip("opensmile")
    from voice_toy import make_audio_layout, with_feats

    from trnet.train.fold_run import train_fold

    root = tmp_path_factory.mktemp("blendfun")
    folds, dump = make_audio_layout(root, enhanced=True)
    with_feats(dump)
    out = root / "exp" / "trnet_blendfun" / "fold1"
    train_fold(config_from_dict(_raw("blend")), 1, folds, dump, out, device="cpu")
    return {"root": root, "folds": folds, "dump": dump, "exp": out}


def test_blend_hybrid_trains_on_both_inputs_functionals(blendfun: dict[str, Path]) -> None:
    from trnet import checkpoint
    from trnet.classic.egemaps import condition_functionals

    out, dump = blendfun["exp"], blendfun["dump"]
    best = checkpoint.load(out / "best.pt")
    assert best["config"]["model"]["functionals_input"] == "blend"
    assert "functionals_input: blend" in (out / "config.yaml").read_text()
    # one set of statistics for both vectors: every training example's noisy and enhanced
    utts = [f"s{s}-u{i}" for s in (1, 2, 3) for i in range(8)]
    conditions = ("clean", "esc50_train_10", "clean_enh", "esc50_train_10_enh")
    x = np.stack([condition_functionals(dump, c, utts)[u] for c in conditions for u in utts])
    model = best["model"]
    assert torch.allclose(model["func_mean"], torch.from_numpy(x.mean(0)), rtol=1e-4, atol=1e-5)
    noisy_only = torch.from_numpy(x[: 2 * len(utts)].mean(0))
    assert not torch.allclose(model["func_mean"], noisy_only, rtol=1e-4, atol=1e-5)
    assert model["func_kernel.weight"].shape == (88, 256)
    # prefitted on both ends of the blend: 2 conditions x 24 utterances, each at s = 1 and 0
    assert "kernel branch prefitted on 96 examples, 30 epochs" in (out / "train.log").read_text()
    signature = yaml.safe_load((out / ".signature.json").read_text())
    assert {"clean_enh", "esc50_dev_10_enh", "esc50_train_10_enh"} <= set(
        signature["inputs"]["dump"]
    )


def _variant(blendfun: dict[str, Path], name: str, mode: str, s: float) -> Path:
    """The trained fold's model with s forced to ``s`` and its branch fed by ``mode``."""
    from trnet import checkpoint

    src = blendfun["exp"]
    fold = blendfun["root"] / "variants" / name / "fold1"
    fold.mkdir(parents=True)
    shutil.copy(src / ".done", fold / ".done")
    best = checkpoint.load(src / "best.pt")
    best["model"]["compensation.linear.weight"].zero_()
    best["model"]["compensation.linear.bias"].fill_(s)
    if mode == "noisy":
        del best["config"]["model"]["functionals_input"]
    else:
        best["config"]["model"]["functionals_input"] = mode
    checkpoint.save(fold / "best.pt", best)
    return fold


def test_decode_feeds_the_blend_of_the_functionals(blendfun: dict[str, Path]) -> None:
    """Decoded with s forced to 1 (0), the blend system's posteriors are those of the same
    weights fed the noisy (enhanced) input's functionals, and differ from the other's."""
    from trnet.train.decode import decode

    test_dir = blendfun["folds"] / "fold1" / "test"

    def posteriors(mode: str, s: float) -> str:
        fold = _variant(blendfun, f"{mode}_{s}", mode, s)
        dirs = decode(fold, blendfun["dump"], test_dir, ["esc50_0"], fold / "decode")
        assert {float(v) for v in (dirs[0] / "utt2s").read_text().split()[1::2]} == {s}
        return (dirs[0] / "posteriors").read_text()

    for s, same, other in ((1.0, "noisy", "enhanced"), (0.0, "enhanced", "noisy")):
        blended = posteriors("blend", s)
        assert blended == posteriors(same, s)
        assert blended != posteriors(other, s)


def test_clean_bypass_feeds_the_clean_audio_functionals_to_both_rows(
    blendfun: dict[str, Path], tmp_path: Path
) -> None:
    """With ``data.clean_through_se: false`` (issue 25's ablation) a clean training example's
    enhanced input is the clean features, so its branch's enhanced row is the clean audio's
    functionals too, in the epochs and in the kernel prefit; noisy examples are as before,
    and every example keeps its own functionals with the default."""
    from trnet.classic.egemaps import condition_functionals
    from trnet.ddp import setup_dist
    from trnet.train.loop import Trainer

    dump = blendfun["dump"]
    utt = "s1-u0"
    own = {c: condition_functionals(dump, c, [utt])[utt] for c in ("clean", "clean_enh")}
    rows = {}
    for through in (True, False):
        raw = _raw("blend")
        raw["data"]["clean_through_se"] = through
        cfg = config_from_dict(raw)
        run = Trainer(cfg, 1, blendfun["folds"], dump, tmp_path / str(through), setup_dist("cpu"))
        item = run.epoch_set([(utt, "clean"), (utt, "esc50_train_10")])
        rows[through] = (item[0]["func"].numpy(), item[1]["func"].numpy())
        func, _ = run.training_functionals(run.func)
        clean_rows = func[: func.shape[0] // 2]  # every_train_example: clean examples first
        assert np.array_equal(clean_rows[:, 0], clean_rows[:, 1]) == (not through)
    (on, noisy_on), (off, noisy_off) = rows[True], rows[False]
    assert np.allclose(on[0], own["clean"]) and np.allclose(on[1], own["clean_enh"])
    assert np.allclose(off[0], own["clean"]) and np.allclose(off[1], own["clean"])
    assert not np.allclose(on[1], off[1])
    assert np.array_equal(noisy_on, noisy_off)
