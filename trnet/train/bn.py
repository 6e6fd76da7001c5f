"""BatchNorm re-estimation (``train.bn_recalib``): exact running statistics after an epoch.

On small data the momentum estimate lags the weights and carries dropout's variance, so the
eval-mode model can sit at chance while training learns (see :mod:`trnet.train.config`).
"""

from __future__ import annotations

from collections.abc import Iterable

import torch

from trnet.train.predict import extra_inputs, split_inputs


def batchnorms(net: torch.nn.Module) -> list[torch.nn.Module]:
    return [m for m in net.modules() if isinstance(m, torch.nn.modules.batchnorm._BatchNorm)]


@torch.no_grad()
def reestimate(
    net: torch.nn.Module, norms: list[torch.nn.Module], loader: Iterable, device: torch.device
) -> None:
    """Exact averages (momentum None) of ``norms`` over ``loader``'s batches, with dropout off
    as at evaluation; consumes no RNG. ``net`` is left in eval mode."""
    net.eval()
    momenta = [m.momentum for m in norms]
    for m in norms:
        m.reset_running_stats()
        m.momentum = None
        m.train()
    for batch in loader:
        net(*split_inputs(batch["inputs"], device), **extra_inputs(batch, device))
    for m, momentum in zip(norms, momenta, strict=True):
        m.momentum = momentum
    net.eval()
