"""TRNet's ablation knobs of s (issue 25): the cosine features' input (``s_features``), the
clamp (``s_clamp``) and a per-frame s (``s_window``); each changes what the model computes,
and each default is the paper's."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
import torch.nn.functional as F
from ser_toy import make_toy, toy_config

from trnet.errors import TrnetError
from trnet.models.factory import build_ser_model
from trnet.models.ser import Compensation, SerModel, local_cosine
from trnet.train.config import config_from_dict, config_to_dict, dump_config


def halves(b: int = 2, t: int = 40) -> tuple[torch.Tensor, torch.Tensor]:
    """Noisy and enhanced inputs whose first halves point the same way (the enhanced twice
    as large) and whose second halves (the same frames again) are opposite: the per-bin
    cosine is 1, then -1, and (2 - 1) / sqrt(2 * 5) over the whole utterance."""
    g = torch.Generator().manual_seed(0)
    half = torch.randn(b, t // 2, 80, generator=g)
    return torch.cat([half, half], 1), torch.cat([2 * half, -half], 1)


def unit_weights(comp: Compensation, bias: float = 0.0) -> Compensation:
    """s = clamp(mean over bins of the cosine + bias)."""
    torch.nn.init.constant_(comp.linear.weight, 1.0 / 80)
    torch.nn.init.constant_(comp.linear.bias, bias)
    return comp


def test_per_frame_s_follows_the_frames_and_blends_frame_by_frame() -> None:
    xn, xe = halves()
    comp = unit_weights(Compensation(s_window=5))
    blended, s = comp(xn, xe)
    assert s.shape == (2, 40)
    assert torch.allclose(s[:, :18], torch.ones(2, 18))  # windows inside the agreeing half
    assert torch.equal(s[:, 22:], torch.zeros(2, 18))  # inside the opposite half (clamped)
    assert torch.allclose(blended[:, :18], xn[:, :18]) and torch.equal(blended[:, 22:], xe[:, 22:])
    # the utterance-level s of the same input: one value, from the cosine over all frames
    whole, s_utt = unit_weights(Compensation())(xn, xe)
    assert s_utt.shape == (2,) and torch.allclose(s_utt, torch.full((2,), 0.1**0.5))
    assert torch.allclose(whole, s_utt[:, None, None] * xn + (1 - s_utt[:, None, None]) * xe)
    assert not torch.allclose(whole[:, :18], blended[:, :18])


def test_local_cosine_over_a_window_covering_everything_is_the_utterance_cosine() -> None:
    g = torch.Generator().manual_seed(1)
    a, b = torch.randn(3, 17, 80, generator=g), torch.randn(3, 17, 80, generator=g)
    local = local_cosine(a, b, 2 * 17 + 1)
    whole = F.cosine_similarity(a, b, dim=1)
    assert torch.allclose(local, whole[:, None, :].expand_as(local), atol=1e-5)


def test_sigmoid_clamp_keeps_a_gradient_where_hardtanh_has_none() -> None:
    xn, xe = halves()
    for clamp in ("hardtanh", "sigmoid"):  # both start at an even blend
        assert torch.allclose(Compensation(s_clamp=clamp)(xn, xe)[1], torch.full((2,), 0.5))
    grads = {}
    for clamp in ("hardtanh", "sigmoid"):
        comp = unit_weights(Compensation(s_clamp=clamp), bias=-3.0)  # raw s far below 0
        _, s = comp(xn, xe)
        ((s - 1.0) ** 2).mean().backward()
        grads[clamp] = (s, comp.linear.bias.grad.item())
    assert torch.equal(grads["hardtanh"][0], torch.zeros(2)) and grads["hardtanh"][1] == 0.0
    assert bool((grads["sigmoid"][0] > 0).all()) and grads["sigmoid"][1] < 0.0


def model(**knobs: object) -> SerModel:
    torch.manual_seed(0)
    net = SerModel(channels=[4], emb_dim=4, hidden=8, compensation=True, bridge=True, **knobs)
    unit_weights(net.compensation)
    net.set_cmvn(torch.full((80,), 5.0), torch.ones(80))
    return net.eval()


def test_raw_cosine_features_see_the_level_that_cmvn_removes() -> None:
    """Inputs 5 + a and 5 - a: after CMVN (mean 5) they are opposite (cosine -1, s 0); on
    the raw log-Mel the common level dominates (cosine near 1)."""
    a = 0.5 * torch.randn(2, 30, 80, generator=torch.Generator().manual_seed(2))
    xn, xe = 5.0 + a, 5.0 - a
    with torch.no_grad():
        s_cmvn = model()(xn, xe)["s"]
        s_raw = model(s_features="raw")(xn, xe)["s"]
    assert torch.equal(s_cmvn, torch.zeros(2))
    assert bool((s_raw > 0.9).all())


@pytest.mark.parametrize("knobs", [{"s_features": "raw"}, {"s_window": 7}, {}])
def test_padded_frames_change_no_s(knobs: dict) -> None:
    """A batch padded with junk frames gives each example the s (and s(t) on its real
    frames) it has alone."""
    net = model(**knobs)
    xn, xe = halves(1, 30)
    junk = 9.0 * torch.ones(1, 10, 80)
    other = torch.randn(1, 40, 80, generator=torch.Generator().manual_seed(3))
    pn = torch.cat([torch.cat([xn, junk], 1), other])
    pe = torch.cat([torch.cat([xe, -junk], 1), other.flip(1)])
    with torch.no_grad():
        alone = net(xn, xe)
        batch = net(pn, pe, lengths=torch.tensor([30, 40]))
    assert torch.allclose(batch["s"][0], alone["s"][0], atol=1e-6)
    if "s_t" in alone:
        assert batch["s_t"].shape == (2, 40)
        assert torch.allclose(batch["s_t"][0, :30], alone["s_t"][0], atol=1e-6)
        assert torch.allclose(alone["s"], alone["s_t"].mean(1))


def raw_trnet(**model: object) -> dict:
    cfg = config_to_dict(toy_config("trnet_wo_high"))
    cfg["model"].update(model)
    return cfg


def test_config_knobs_at_default_are_left_out_and_build_the_model() -> None:
    cfg = config_from_dict(raw_trnet(), "c.yaml")
    assert "s_window" not in dump_config(cfg) and "s_clamp" not in dump_config(cfg)
    knobs = {"s_features": "raw", "s_clamp": "sigmoid", "s_window": 9}
    cfg = config_from_dict(raw_trnet(**knobs), "c.yaml")
    assert all(f"{k}: {v}" in dump_config(cfg) for k, v in knobs.items())
    net = build_ser_model(cfg.model)
    comp = net.compensation
    assert (net.s_features, comp.s_clamp, comp.s_window) == ("raw", "sigmoid", 9)
    out = net.eval()(*halves(2, 32))
    assert out["s_t"].shape == (2, 32) and out["s"].shape == (2,)


@pytest.mark.parametrize(
    ("model", "message"),
    [
        ({"s_features": "log"}, "model.s_features must be one of cmvn, raw, got 'log'"),
        ({"s_clamp": "tanh"}, "model.s_clamp must be one of hardtanh, sigmoid, got 'tanh'"),
        ({"s_window": 4}, "model.s_window must be 0 (one s per utterance) or an odd number"),
        ({"s_window": -3}, "model.s_window must be 0 (one s per utterance) or an odd number"),
        ({"s_window": "7"}, "model.s_window"),
        (
            {"s_gradient": "inward", "s_clamp": "sigmoid"},
            "model.s_gradient: inward needs model.s_clamp: hardtanh",
        ),
    ],
)
def test_bad_knob_values_are_one_line_naming_the_file(model: dict, message: str) -> None:
    with pytest.raises(TrnetError, match=r"^c\.yaml") as err:
        config_from_dict(raw_trnet(**model), "c.yaml")
    assert message in str(err.value) and "\n" not in str(err.value)


def test_knobs_need_an_s() -> None:
    raw = config_to_dict(toy_config("baseline_noisy"))
    raw["model"]["s_window"] = 5
    with pytest.raises(TrnetError, match=r"c\.yaml: model\.s_window needs model\.compensation"):
        config_from_dict(raw, "c.yaml")


def test_trainer_and_decode_run_with_every_s_knob(tmp_path: Path) -> None:
    """Whole-utterance dev and test sets (padded batches) with a per-frame, raw-feature,
    sigmoid s: the decode writes one s per utterance, strictly inside (0, 1)."""
    from trnet.train.decode import decode
    from trnet.train.fold_run import train_fold

    folds, dump = make_toy(tmp_path, per_speaker=4)
    raw = raw_trnet(s_features="raw", s_clamp="sigmoid", s_window=5)
    raw["data"]["eval_full"] = True
    cfg = config_from_dict(raw, "c.yaml")
    out = tmp_path / "exp" / "fold1"
    train_fold(cfg, 1, folds, dump, out, device="cpu")
    dirs = decode(out, dump, folds / "fold1" / "test", ["esc50_0"], out / "dec")
    values = [float(line.split()[1]) for line in (dirs[0] / "utt2s").read_text().splitlines()]
    assert len(values) == 4 and all(0.0 < v < 1.0 for v in values)
