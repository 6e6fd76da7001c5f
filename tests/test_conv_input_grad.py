"""``model.conv_input_grad: forward``: the CNN's input gradient as a forward convolution."""

from __future__ import annotations

import dataclasses

import pytest
import torch
import torch.nn.functional as F
from ser_toy import toy_config

from trnet.errors import TrnetError
from trnet.models.factory import build_ser_model
from trnet.models.ser import ConvBlock, ForwardGradConv
from trnet.train.config import config_from_dict, config_to_dict


def test_gradients_are_the_convolutions_in_double_precision() -> None:
    """gradcheck: the input and weight gradients are those of the convolution (finite
    differences in float64), for a batch below and above NNPACK's 16."""
    for batch in (2, 17):
        g = torch.Generator().manual_seed(batch)
        x = torch.randn(batch, 2, 6, 4, dtype=torch.float64, generator=g, requires_grad=True)
        w = torch.randn(3, 2, 5, 5, dtype=torch.float64, generator=g, requires_grad=True)
        assert torch.autograd.gradcheck(
            lambda a, b: ForwardGradConv.apply(a, b, 2), (x, w), fast_mode=True
        )


def test_forward_is_the_same_bytes_and_float_gradients_agree_to_rounding() -> None:
    torch.manual_seed(0)
    native = ConvBlock(3, 8, 0.0)
    forward = ConvBlock(3, 8, 0.0, input_grad="forward")
    forward.load_state_dict(native.state_dict())
    x = torch.randn(32, 3, 40, 80)
    grads = []
    for block in (native, forward):
        xi = x.clone().requires_grad_(True)
        y = block(xi)
        (y * torch.linspace(-1, 1, y.numel()).reshape(y.shape)).sum().backward()
        grads.append((y.detach(), xi.grad, block.conv.weight.grad))
    (y0, gx0, gw0), (y1, gx1, gw1) = grads
    assert torch.equal(y0, y1)  # the same convolution call forward
    assert torch.equal(gw0, gw1)  # the weight gradient is ATen's own
    assert not torch.equal(gx0, gx1)  # another summation order ...
    torch.testing.assert_close(gx1, gx0, rtol=1e-4, atol=1e-5)  # ... the same gradient


def _graph(t: torch.Tensor) -> set[str]:
    """The names of the autograd nodes behind ``t``."""
    seen, todo = set(), [t.grad_fn]
    while todo:
        node = todo.pop()
        if node is not None and node.name() not in seen:
            seen.add(node.name())
            todo.extend(n for n, _ in node.next_functions)
    return seen


def test_only_training_runs_the_function() -> None:
    """In eval mode the block is the plain nn.Conv2d (what ONNX export traces); without
    grad there is no graph at all."""
    block = ConvBlock(3, 4, 0.0, input_grad="forward")
    x = torch.randn(2, 3, 12, 10, requires_grad=True)
    assert "ForwardGradConvBackward" in _graph(block.train()(x))
    assert "ForwardGradConvBackward" not in _graph(block.eval()(x))
    assert "ConvolutionBackward0" in _graph(block.eval()(x))
    with torch.no_grad():
        assert block.train()(x).grad_fn is None


def test_the_key_is_checked_and_left_out_at_its_default() -> None:
    cfg = toy_config("trnet")
    raw = config_to_dict(cfg)
    assert "conv_input_grad" not in raw["model"]  # existing configs and exp dirs unchanged
    raw["model"]["conv_input_grad"] = "forward"
    cfg2 = config_from_dict(raw, "x.yaml")
    assert cfg2.model.conv_input_grad == "forward"
    assert config_to_dict(cfg2)["model"]["conv_input_grad"] == "forward"
    model = build_ser_model(cfg2.model)
    assert {b.input_grad for b in model.backbone.blocks} == {"forward"}
    raw["model"]["conv_input_grad"] = "fast"
    with pytest.raises(TrnetError, match="model.conv_input_grad must be one of native, forward"):
        config_from_dict(raw, "x.yaml")


def test_a_training_step_matches_the_native_one_to_rounding() -> None:
    """One optimiser step of the whole model from the same weights and batch: the same loss,
    gradients equal to rounding, every parameter's update within rounding of native's."""
    cfg = toy_config("trnet")
    losses, grads = [], []
    for how in ("native", "forward"):
        model_cfg = dataclasses.replace(cfg.model, conv_input_grad=how)
        torch.manual_seed(0)
        model = build_ser_model(model_cfg).train()
        for m in model.modules():  # no dropout: the two runs see the same network
            if isinstance(m, torch.nn.Dropout):
                m.p = 0.0
        g = torch.Generator().manual_seed(1)
        xn, xe = torch.randn(20, 48, 80, generator=g), torch.randn(20, 48, 80, generator=g)
        loss = F.cross_entropy(model(xn, xe)["logits"], torch.arange(20) % 4)
        loss.backward()
        losses.append(loss.detach())
        grads.append({n: p.grad for n, p in model.named_parameters() if p.grad is not None})
    assert torch.equal(losses[0], losses[1])
    assert grads[0].keys() == grads[1].keys()
    for name, g0 in grads[0].items():
        torch.testing.assert_close(grads[1][name], g0, rtol=1e-3, atol=1e-6, msg=name)
