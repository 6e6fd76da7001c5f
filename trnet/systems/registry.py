"""The system kinds by ``model.kind``: ``KINDS``, filled by :func:`register_kind`.

A config without ``model.kind`` is the deep SER model's (:data:`DEEP`). A new kind is one
module (a :class:`trnet.systems.base.System`, most simply a
:class:`~trnet.systems.base.FittedSystem`) and one ``register_kind`` line, here or in code
that runs before the CLI (a test, a plugin)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from trnet.config_file import read_config
from trnet.errors import TrnetError
from trnet.systems.base import System
from trnet.systems.deep import DeepSer
from trnet.systems.svm import EgemapsSvm

DEEP = DeepSer.kind
KINDS: dict[str, System] = {}


def register_kind(system: System) -> System:
    """Make ``system`` the kind of configs whose ``model.kind`` is ``system.kind``."""
    if not isinstance(system.kind, str) or not system.kind:
        raise ValueError(f"{type(system).__name__}: a kind needs a name (its model.kind)")
    if KINDS.get(system.kind, system) is not system:
        raise ValueError(f"system kind {system.kind!r} is registered already")
    KINDS[system.kind] = system
    return system


register_kind(DeepSer())
register_kind(EgemapsSvm())


def kind_of(raw: Any, where: str) -> System:
    """The kind of a config's YAML (merged over its defaults): its ``model.kind``, or the
    deep SER model's where it has none."""
    model = raw.get("model") if isinstance(raw, dict) else None
    if not isinstance(model, dict) or "kind" not in model:
        return KINDS[DEEP]
    kind = model["kind"]
    if not isinstance(kind, str) or kind not in KINDS or kind == DEEP:
        known = ", ".join(sorted(k for k in KINDS if k != DEEP))
        raise TrnetError(
            f"{where}: model.kind {kind!r} is not a system kind (known: {known}; "
            "none for the deep SER model)"
        )
    return KINDS[kind]


def system_of_config(path: str | Path) -> System:
    """The kind of config file ``path``."""
    return kind_of(*read_config(path))


def system_of_fold(exp_fold: str | Path) -> System:
    """The kind that trained ``exp_fold`` (its resolved ``config.yaml`` says; a dir without
    one is the deep kind's, whose decode then says what is missing)."""
    path = Path(exp_fold) / "config.yaml"
    return system_of_config(path) if path.is_file() else KINDS[DEEP]


def decode_fold(
    exp_fold: str | Path,
    dump: str | Path,
    test_dir: str | Path,
    conditions: Sequence[str],
    out: str | Path,
    batch_size: int = 64,
    device: str = "auto",
    overwrite: bool = False,
) -> list[Path]:
    """``trnet decode``: the decode dirs of a trained fold, by the kind that trained it."""
    return system_of_fold(exp_fold).decode(
        Path(exp_fold),
        Path(dump),
        Path(test_dir),
        conditions,
        Path(out),
        batch_size=batch_size,
        device=device,
        overwrite=overwrite,
    )
