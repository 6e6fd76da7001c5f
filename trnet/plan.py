"""What a recipe run needs to know before it starts a stage (``trnet plan``).

The recipe's shell (``egs/TEMPLATE/ser1/ser.sh``) asks these questions instead of reading
YAML or JSON itself:

- :func:`train_order`: the systems of a run in the order stage 4 trains them, each after the
  systems its config depends on (:func:`trnet.config_file.config_deps`: TRNet's
  ``loss.z_clean_from: exp/baseline_clean/fold{fold}``), depth first, dependencies trained
  also when not asked for; a cycle is an error. Configs are read, not validated (training
  does that), so that a cycle or a missing file is named before anything trains.
- :func:`describe_system`: a system's kind, the input it trains on and whether that input
  needs the SE front end of stage 3 (the config validated).
- :func:`package_blocker`: why ``trnet export`` cannot package a trained system yet (a hybrid
  or an ensemble), read from the resolved configs its folds were trained with.
- :func:`package_fold`: the fold a model package was exported from (its card).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from trnet.config_file import config_deps
from trnet.contract import needs_se
from trnet.errors import TrnetError


@dataclass(frozen=True)
class SystemPlan:
    """One system of a run, as its config says."""

    system: str
    config: Path
    kind: str  # "deep" (trnet.train) or a classical kind ("egemaps_svm")
    input: str  # what it trains on: noisy | enhanced | blend (an SVM: noisy audio's functionals)
    needs_se: bool  # reads the enhanced twins stage 3 writes
    deps: tuple[str, ...]  # systems whose exp/<system>/ it reads


def system_config(conf_dir: str | os.PathLike, system: str) -> Path:
    """``<conf_dir>/<system>.yaml``, which must exist."""
    path = Path(conf_dir) / f"{system}.yaml"
    if not path.is_file():
        raise TrnetError(f"{path}: no such system config")
    return path


def train_order(conf_dir: str | os.PathLike, systems: Sequence[str]) -> list[str]:
    """``systems`` in their order, each preceded by the systems its config depends on (depth
    first, also when they are not in ``systems``); a dependency cycle is a one-line error
    naming the chain (``a b a``)."""
    order: list[str] = []
    visiting: list[str] = []

    def visit(system: str) -> None:
        if system in order:
            return
        if system in visiting:
            chain = " ".join([*visiting, system])
            raise TrnetError(f"{conf_dir}: configs depend on each other ({chain})")
        config = system_config(conf_dir, system)
        visiting.append(system)
        for dep in config_deps(config):
            visit(dep)
        visiting.pop()
        order.append(system)

    for system in systems:
        visit(system)
    return order


def describe_system(conf_dir: str | os.PathLike, system: str) -> SystemPlan:
    """What ``<conf_dir>/<system>.yaml`` trains on, validated as training validates it."""
    from trnet.systems.registry import system_of_config

    config = system_config(conf_dir, system)
    deps = tuple(config_deps(config))
    kind = system_of_config(config)
    cfg = kind.load_config(config)  # a wrong key is named now, as training would name it
    source = kind.input_kind(cfg)
    return SystemPlan(system, config, kind.kind, source, needs_se(source), deps)


def package_blocker(system_dir: str | os.PathLike, folds: Sequence[int]) -> str | None:
    """Why ``trnet export`` cannot package ``system_dir`` yet, read from the resolved
    ``config.yaml`` of each of its ``folds`` that has one: ``a hybrid (model.functionals)``
    or ``an ensemble (train.ensemble)``; None when it can."""
    from trnet.systems.registry import DEEP, system_of_fold
    from trnet.train.config import load_config

    for fold in folds:
        path = Path(system_dir) / f"fold{fold}" / "config.yaml"
        if not path.is_file() or system_of_fold(path.parent).kind != DEEP:
            continue
        cfg = load_config(path)
        if cfg.model.functionals:
            return "a hybrid (model.functionals)"
        if cfg.train.ensemble > 1:
            return "an ensemble (train.ensemble)"
    return None


def package_fold(package: str | os.PathLike) -> int:
    """The fold the model package ``package`` was exported from (its card; the package is
    verified against its manifest first)."""
    from trnet.infer.package_format import read_package

    return int(read_package(package).card["fold"])


def se_pretrained(se_config: str | os.PathLike) -> bool:
    """Whether the front end of ``se_config`` is pretrained (the SE registry decides:
    :data:`trnet.se.enhancer.KINDS`): stage 3 then prepares it and passes no training
    options."""
    from trnet.se.config import load_config

    return load_config(se_config).pretrained
