"""The TRNet objective and its two weightings.

``L = CE + w_low * MSE(X~, X_clean) + w_high * MSE(z~, z_clean)``

* ``fixed``: ``w_low = alpha``, ``w_high = beta`` (0.5 and 0.5 in the authors' code).
* ``gradnorm``: each auxiliary loss L_i that is switched on (alpha or beta > 0) gets
  ``w_i = r * ||grad_P_i CE|| / ||grad_P_i L_i||`` (detached), where ``P_i`` are the
  parameters L_i reaches (all of them are shared with CE: the compensation layer for
  L_low; compensation, backbone and bridge for L_high) and ``r`` is ``gradnorm_ratio``.
  So each auxiliary gradient on the shared parameters is ``r`` times the CE gradient,
  whatever the scale of the losses. Costs one extra backward pass per auxiliary loss.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from trnet.train.config import LossConfig


def loss_parts(
    out: dict[str, torch.Tensor],
    batch: dict[str, torch.Tensor],
    clean_x: torch.Tensor | None,
    cfg: LossConfig,
    ce_weight: torch.Tensor | None = None,
) -> dict[str, torch.Tensor]:
    """``ce`` (class-weighted by ``ce_weight`` if given), and ``low``/``high`` when their
    weight is on; ``clean_x`` is normalised."""
    ce = F.cross_entropy(out["logits"], batch["label"], weight=ce_weight)
    if cfg.branch_ce > 0 and "logits_f" in out:  # a kernel hybrid: each branch a classifier
        for name in ("logits_z", "logits_f"):
            ce = ce + cfg.branch_ce * F.cross_entropy(out[name], batch["label"], weight=ce_weight)
    parts = {"ce": ce}
    if cfg.alpha > 0 and clean_x is not None:
        parts["low"] = F.mse_loss(out["x"], clean_x)
    if cfg.beta > 0:
        parts["high"] = F.mse_loss(out["z"], batch["zc"])
    return parts


def _grad_norm(loss: torch.Tensor, params: list[torch.nn.Parameter]) -> list[torch.Tensor | None]:
    return list(torch.autograd.grad(loss, params, retain_graph=True, allow_unused=True))


def weights(
    parts: dict[str, torch.Tensor], params: list[torch.nn.Parameter], cfg: LossConfig
) -> dict[str, float]:
    """Weights of the auxiliary losses (see the module docstring)."""
    fixed = {"low": cfg.alpha, "high": cfg.beta}
    aux = [k for k in ("low", "high") if k in parts]
    if cfg.weighting == "fixed" or not aux:
        return {k: fixed[k] for k in aux}
    g_ce = _grad_norm(parts["ce"], params)
    result = {}
    for name in aux:
        g_aux = _grad_norm(parts[name], params)
        pairs = [
            (a, c) for a, c in zip(g_aux, g_ce, strict=True) if a is not None and c is not None
        ]
        n_aux = torch.sqrt(sum((a.detach() ** 2).sum() for a, _ in pairs))
        n_ce = torch.sqrt(sum((c.detach() ** 2).sum() for _, c in pairs))
        result[name] = float(cfg.gradnorm_ratio * n_ce / (n_aux + 1e-12))
    return result


def total(parts: dict[str, torch.Tensor], w: dict[str, float]) -> torch.Tensor:
    loss = parts["ce"]
    for name, weight in w.items():
        loss = loss + weight * parts[name]
    return loss
