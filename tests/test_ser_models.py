"""The SER model (every system's forward), compensation, bridge, losses and configs."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
import torch
from ser_toy import SYSTEMS, toy_config

from trnet.errors import TrnetError
from trnet.models.factory import build_ser_model as build_model
from trnet.models.ser import Bridge, Compensation, SerModel
from trnet.train import losses
from trnet.train.config import LossConfig, config_from_dict, load_config

CONF = Path(__file__).resolve().parents[1] / "egs" / "iemocap" / "conf"


def batch(b: int = 4, t: int = 40, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    return torch.randn(b, t, 80, generator=g), torch.randn(b, t, 80, generator=g)


@pytest.mark.parametrize("system", list(SYSTEMS))
def test_forward_shapes_and_s_range(system: str) -> None:
    cfg = toy_config(system)
    model = build_model(cfg.model)
    xn, xe = batch()
    with torch.no_grad():
        model.compensation is not None and model.compensation.linear.weight.normal_()
        out = model(xn, xe if cfg.model.compensation else None)
    assert out["logits"].shape == (4, 4)
    assert out["z"].shape == (4, cfg.model.emb_dim)
    assert out["x"].shape == (4, 40, 80)
    assert ("s" in out) == cfg.model.compensation
    if "s" in out:
        assert out["s"].shape == (4,)
        assert bool(((out["s"] >= 0) & (out["s"] <= 1)).all())


def test_paper_size_backbone_shapes() -> None:
    model = SerModel(compensation=True, bridge=True).eval()
    xn, xe = batch(2, 500)
    with torch.no_grad():
        out = model(xn, xe)
    assert out["z"].shape == (2, 256) and out["logits"].shape == (2, 4)


@pytest.mark.parametrize(
    ("bias", "expect_noisy"), [(1.0, True), (7.0, True), (0.0, False), (-3.0, False)]
)
def test_blend_is_noisy_at_s1_enhanced_at_s0(bias: float, expect_noisy: bool) -> None:
    comp = Compensation()
    torch.nn.init.constant_(comp.linear.bias, bias)
    xn, xe = batch()
    blended, s = comp(xn, xe)
    assert torch.equal(s, torch.full((4,), 1.0 if expect_noisy else 0.0))
    assert torch.equal(blended, xn if expect_noisy else xe)


@pytest.mark.parametrize("s_gradient", ["hardtanh", "inward"])
def test_inward_gradient_lets_a_clamped_s_come_back(s_gradient: str) -> None:
    """Every raw s below 0; one step of a loss that wants s = 1 (the noisy input)."""
    comp = Compensation(s_gradient)
    torch.nn.init.constant_(comp.linear.bias, -0.2)
    xn, xe = batch()
    _, s = comp(xn, xe)
    assert torch.equal(s, torch.zeros(4))
    ((s - 1.0) ** 2).mean().backward()
    moved = comp.linear.bias.grad.item() != 0.0
    assert moved == (s_gradient == "inward")
    comp.zero_grad()
    _, s = comp(xn, xe)  # a loss that wants s further below 0 moves nothing either way
    ((s + 1.0) ** 2).mean().backward()
    assert comp.linear.bias.grad.item() == 0.0
    with torch.no_grad():  # the forward value is the paper's clamp
        torch.nn.init.constant_(comp.linear.bias, 1.7)
        assert torch.equal(comp(xn, xe)[1], torch.ones(4))


def test_cosine_drives_s() -> None:
    comp = Compensation()
    torch.nn.init.constant_(comp.linear.weight, 1.0 / 80)
    torch.nn.init.constant_(comp.linear.bias, 0.0)
    xn, xe = batch()
    s = comp.coefficient(torch.cat([xn, xn]), torch.cat([xn, -xn]))
    assert torch.allclose(s[:4], torch.ones(4)) and torch.equal(s[4:], torch.zeros(4))


def test_bridge_identity_at_gamma1_beta0_and_film_otherwise() -> None:
    bridge = Bridge(8)
    z, s = torch.randn(5, 8), torch.rand(5)
    assert torch.equal(bridge(z, s), z)
    with torch.no_grad():
        bridge.gamma.weight.fill_(2.0)
        bridge.beta.weight.fill_(1.0)
    expected = (1 + 2 * s[:, None]) * z + s[:, None]
    assert torch.allclose(bridge(z, s), expected)


def test_few_steps_lower_the_trnet_loss() -> None:
    torch.manual_seed(0)
    cfg = toy_config("trnet")
    model = build_model(cfg.model)
    xn, xe = batch(8, 32)
    clean = xn * 0.5
    data = {"label": torch.arange(8) % 4, "zc": torch.randn(8, cfg.model.emb_dim)}
    optim = torch.optim.Adam(model.parameters(), lr=1e-2)
    history = []
    for _ in range(25):
        out = model(xn, xe)
        parts = losses.loss_parts(out, data, model.normalize(clean), cfg.loss)
        loss = losses.total(parts, losses.weights(parts, list(model.parameters()), cfg.loss))
        optim.zero_grad()
        loss.backward()
        optim.step()
        history.append(float(loss.detach()))
    assert set(parts) == {"ce", "low", "high"}
    assert history[-1] < 0.75 * history[0]


def test_gradnorm_weights_set_the_gradient_ratio() -> None:
    torch.manual_seed(0)
    cfg = toy_config("trnet")
    model = build_model(cfg.model)
    params = list(model.parameters())
    xn, xe = batch(8, 32)
    out = model(xn, xe)
    data = {"label": torch.arange(8) % 4, "zc": 5 * torch.randn(8, cfg.model.emb_dim)}
    parts = losses.loss_parts(out, data, model.normalize(xn * 0.5), cfg.loss)
    loss_cfg = LossConfig(alpha=0.5, beta=0.5, weighting="gradnorm", gradnorm_ratio=0.3)
    w = losses.weights(parts, params, loss_cfg)
    for name in ("low", "high"):
        g_aux = torch.autograd.grad(
            w[name] * parts[name], params, retain_graph=True, allow_unused=True
        )
        g_ce = torch.autograd.grad(parts["ce"], params, retain_graph=True, allow_unused=True)
        shared = [
            (a, c) for a, c in zip(g_aux, g_ce, strict=True) if a is not None and c is not None
        ]
        n_aux = torch.sqrt(sum((a**2).sum() for a, _ in shared))
        n_ce = torch.sqrt(sum((c**2).sum() for _, c in shared))
        assert float(n_aux / n_ce) == pytest.approx(0.3, rel=1e-4)


def minimal() -> dict:
    return {
        "system": "x",
        "model": {"channels": [4], "emb_dim": 8},
        "data": {"input": "noisy", "snrs": [], "max_len": 32},
        "optim": {"lr": 1e-3},
        "train": {"batch_size": 8, "max_epochs": 2},
    }


def test_config_unknown_key_lists_allowed_keys(tmp_path: Path) -> None:
    raw = minimal()
    raw["model"]["widht"] = 3
    path = tmp_path / "bad.yaml"
    import yaml

    path.write_text(yaml.safe_dump(raw))
    with pytest.raises(
        TrnetError, match=r"bad\.yaml\.model: unknown key\(s\) widht \(allowed: channels, emb_dim"
    ):
        load_config(path)


def test_config_missing_and_type_errors() -> None:
    raw = minimal()
    del raw["data"]["max_len"]
    with pytest.raises(
        TrnetError, match=r"missing key\(s\) max_len \(allowed: input, snrs, max_len"
    ):
        config_from_dict(raw, "c.yaml")
    raw = minimal()
    raw["train"]["batch_size"] = "many"
    with pytest.raises(TrnetError, match=r"c\.yaml\.train\.batch_size: expected int"):
        config_from_dict(raw, "c.yaml")
    raw = minimal()
    raw["data"]["input"] = "blend"
    with pytest.raises(TrnetError, match="compensation must be true"):
        config_from_dict(raw, "c.yaml")
    raw = minimal()
    raw["train"]["bn_recalib"] = -1
    with pytest.raises(TrnetError, match=r"c\.yaml: train\.bn_recalib and train\.threads"):
        config_from_dict(raw, "c.yaml")
    raw = minimal()
    raw["optim"] = {"lr": "1e-3"}
    assert config_from_dict(raw).optim.lr == 1e-3


@pytest.mark.parametrize("size", [".", "slim"])
def test_recipe_configs_load(size: str) -> None:
    cfgs = {  # every system config; se*.yaml: SE, _*.yaml: defaults files
        p.stem: load_config(p)
        for p in (CONF / size).glob("*.yaml")
        if not p.stem.startswith(("se", "_"))
    }
    extras = {"slim": {"trnet_inward"}}.get(size, set())  # variants beyond the paper's six
    assert set(cfgs) == set(SYSTEMS) | extras
    assert all(cfgs[name].system == name for name in cfgs)
    if "trnet_inward" in cfgs:  # trnet but for the gradient of s
        inward = dataclasses.replace(cfgs["trnet_inward"].model, s_gradient="hardtanh")
        assert cfgs["trnet_inward"].model.s_gradient == "inward"
        assert inward == cfgs["trnet"].model and cfgs["trnet_inward"].loss == cfgs["trnet"].loss
    assert cfgs["baseline_clean"].train.export_clean_emb
    assert cfgs["trnet"].loss.alpha == cfgs["trnet"].loss.beta == 0.5
    assert cfgs["trnet_wo_low"].loss.alpha == 0 and cfgs["trnet_wo_high"].loss.beta == 0
    assert not cfgs["trnet_wo_high"].model.bridge and cfgs["trnet"].model.bridge
    assert cfgs["baseline_noisy"].train_conditions()[0] == "clean"
    # one training recipe for all systems of a size: only the system-defining keys differ
    assert (
        len({(c.model.channels[0], c.train.bn_recalib, c.data.max_len) for c in cfgs.values()}) == 1
    )


@pytest.mark.parametrize(
    ("section", "key", "value", "message"),
    [
        ("optim", "lr", -5, "optim.lr and optim.grad_clip must be > 0"),
        ("optim", "lr", 0, "optim.lr and optim.grad_clip must be > 0"),
        ("optim", "lr", None, "missing required key optim.lr"),
        ("train", "max_epochs", None, "missing required key train.max_epochs"),
    ],
)
def test_config_ranges_and_required_keys(section, key, value, message) -> None:
    raw = minimal()
    if value is None:
        del raw[section][key]
    else:
        raw[section][key] = value
    with pytest.raises(TrnetError, match=rf"c\.yaml: {message}"):
        config_from_dict(raw, "c.yaml")
