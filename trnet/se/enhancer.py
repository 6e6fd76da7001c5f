"""The SE front end behind one interface: the :class:`Enhancer` protocol and the registry of
SE kinds (``se.model`` of an SE config).

A kind says what its ``model_conf`` holds (its defaults), whether it is pretrained (frozen
weights named by a package: nothing to train) and, for a trainable kind, how its network is
built. This registry is the one place that decides whether a front end is pretrained:
:attr:`trnet.se.config.SeConfig.pretrained` asks it, and ``trnet train-se``, the recipe's
stage 3 (through ``trnet plan --field se_pretrained``) and the loader follow. Every kind
loads through :func:`trnet.se.model.load_model`; adding one is a registry line (and, for a
pretrained kind, its entry in :func:`trnet.se.pretrained.describe`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

import torch

from trnet.errors import TrnetError


@runtime_checkable
class Enhancer(Protocol):
    """Waveform-to-waveform enhancement, as every SE kind loads (a ``torch.nn.Module``:
    ``.to(device)`` and ``.eval()`` as any model)."""

    def enhance(self, batch: torch.Tensor, lengths: torch.Tensor | None = None) -> torch.Tensor:
        """``(B, N)`` 16 kHz audio, zero-padded to ``lengths`` → enhanced audio of that shape
        (no gradient)."""
        ...

    def describe(self) -> dict[str, Any]:
        """What the enhancer is: its kind and what identifies it (sizes, or its file)."""
        ...


def _crn(model_conf: dict) -> torch.nn.Module:
    from trnet.models.se_crn import CRN

    return CRN(**model_conf)


def _cmgan(model_conf: dict) -> torch.nn.Module:
    from trnet.models.se_cmgan import CMGANGenerator

    return CMGANGenerator(**model_conf)


@dataclass(frozen=True)
class SeKind:
    """One kind of SE front end."""

    name: str
    defaults: dict[str, Any]  # its model_conf keys and their defaults
    pretrained: bool  # frozen weights named by a package (trnet/se/pretrained.py)
    net: Callable[[dict], torch.nn.Module] | None = None  # trainable: model_conf → network
    init_checkpoint: bool = False  # trainable: may start from an external generator's weights


def _kinds() -> dict[str, SeKind]:
    from trnet.models.se_cmgan import CMGAN_DEFAULTS
    from trnet.models.se_crn import CRN_DEFAULTS
    from trnet.se import nsnet2
    from trnet.se.onnx_model import ONNX_DEFAULTS

    return {
        kind.name: kind
        for kind in (
            SeKind("crn", CRN_DEFAULTS, pretrained=False, net=_crn),
            SeKind("cmgan", CMGAN_DEFAULTS, pretrained=False, net=_cmgan, init_checkpoint=True),
            SeKind("nsnet2", {"min_gain_db": nsnet2.SETTINGS["min_gain_db"]}, pretrained=True),
            SeKind("onnx", {**ONNX_DEFAULTS, "name": None, "licence": None}, pretrained=True),
        )
    }


KINDS: dict[str, SeKind] = _kinds()
"""Every SE kind by its ``se.model`` name."""


def se_kind(name: Any, where: str = "se config") -> SeKind:
    """The kind ``name``, or a one-line :class:`TrnetError` naming ``where`` and the kinds."""
    kind = KINDS.get(name) if isinstance(name, str) else None
    if kind is None:
        raise TrnetError(f"{where}: model {name!r} unknown; allowed: {', '.join(KINDS)}")
    return kind
