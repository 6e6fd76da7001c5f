"""The SE config (``conf/se.yaml``): strict keys, defaults, and the :class:`SeConfig` it
resolves to.

Layout::

    model: crn                 # a kind of trnet.se.enhancer.KINDS: crn | cmgan | nsnet2 | onnx
    model_conf: {...}          # that kind's sizes or settings (its SeKind.defaults)
    init_checkpoint: null      # external generator state dict (cmgan only)
    train: {...}               # see SeTrainConfig
    loss: {...}                # see SeLossConfig

A pretrained kind (nsnet2, onnx: :mod:`trnet.se.pretrained`) has ``model`` and
``model_conf`` only: nothing is trained. :meth:`SeConfig.to_dict` is the resolved config
that ``config.yaml`` holds and the signatures sign.
"""

from __future__ import annotations

import copy
import dataclasses
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from trnet.config_file import read_config
from trnet.errors import TrnetError
from trnet.se.enhancer import KINDS, SeKind, se_kind
from trnet.strict import build, dataclass_of


@dataclass
class SeTrainConfig:
    segment_s: float = 2.0  # length of the training segments
    snr_range: list[float] = field(default_factory=lambda: [-5.0, 20.0])  # dB, uniform
    batch_size: int = 16
    steps_per_epoch: int = 100
    epochs: int = 8
    lr: float = 1.0e-3
    grad_clip: float = 5.0
    dev_size: int = 64  # fixed seeded dev pairs
    seed: int = 0


@dataclass
class SeLossConfig:
    mag: float = 0.7  # MSE of the compressed magnitude
    ri: float = 0.3  # MSE of the compressed complex spectrum (real, imaginary)
    sisdr: float = 0.01  # minus SI-SDR (dB) of the waveform


@dataclass
class SeConfig:
    """A resolved SE config. ``train`` and ``loss`` are ``None`` for a pretrained kind."""

    model: str
    model_conf: dict[str, Any]  # the kind's own keys (SeKind.defaults), defaults filled
    init_checkpoint: str | None = None
    train: SeTrainConfig | None = None
    loss: SeLossConfig | None = None

    @property
    def kind(self) -> SeKind:
        return se_kind(self.model)

    @property
    def pretrained(self) -> bool:
        """Frozen weights named by a package, nothing to train (the registry decides)."""
        return self.kind.pretrained

    def to_dict(self) -> dict[str, Any]:
        """The resolved config as ``config.yaml`` holds it and the signatures sign it."""
        conf = {"model": self.model, "model_conf": copy.deepcopy(self.model_conf)}
        if self.pretrained:
            return conf
        assert self.train is not None and self.loss is not None
        return {
            **conf,
            "init_checkpoint": self.init_checkpoint,
            "train": dataclasses.asdict(self.train),
            "loss": dataclasses.asdict(self.loss),
        }


TOP_KEYS = ("model", "model_conf", "init_checkpoint", "train", "loss")


def _check_keys(given: dict, allowed: Any, where: str) -> None:
    unknown = sorted(set(given) - set(allowed))
    if unknown:
        raise TrnetError(
            f"{where}: unknown key(s) {', '.join(unknown)}; allowed: {', '.join(sorted(allowed))}"
        )


def _mapping(conf: dict, name: str, where: str) -> dict:
    given = conf.get(name) or {}
    if not isinstance(given, dict):
        raise TrnetError(f"{where}: '{name}' must be a mapping")
    return given


def _section(given: dict, cls: type, where: str) -> Any:
    """``given`` checked by the strict validator of the SER config (:mod:`trnet.strict`)."""
    _check_keys(given, [f.name for f in dataclasses.fields(cls)], where)
    return build(cls, given, where)


def _model_conf(kind: SeKind, given: dict, where: str) -> dict:
    """A trainable kind's sizes, typed as their defaults; a pretrained kind's settings are
    passed on as given (the package records them)."""
    _check_keys(given, kind.defaults, f"{where}: model_conf")
    if kind.pretrained:
        return {**kind.defaults, **given}
    section = _section(given, dataclass_of("model_conf", kind.defaults), f"{where}: model_conf")
    return dataclasses.asdict(section)


def resolve_config(conf: dict | SeConfig | None, where: str = "se config") -> SeConfig:
    """Fill defaults and reject unknown keys (a :class:`TrnetError` lists the allowed ones).
    A resolved :class:`SeConfig` is returned as it is."""
    if isinstance(conf, SeConfig):
        return conf
    conf = dict(conf or {})
    _check_keys(conf, TOP_KEYS, where)
    kind = se_kind(conf.get("model", "crn"), where)
    if kind.pretrained:
        extra = sorted(set(conf) - {"model", "model_conf"})
        if extra:
            raise TrnetError(
                f"{where}: model {kind.name} is pretrained and frozen; remove {', '.join(extra)}"
            )
    model_conf = _model_conf(kind, _mapping(conf, "model_conf", where), where)
    if kind.pretrained:
        if kind.name == "onnx" and not model_conf["path"]:
            raise TrnetError(f"{where}: model onnx needs model_conf.path (the .onnx file)")
        return SeConfig(kind.name, model_conf)
    init = conf.get("init_checkpoint")
    if init is not None and not kind.init_checkpoint:
        allowed = ", ".join(k.name for k in KINDS.values() if k.init_checkpoint)
        raise TrnetError(f"{where}: init_checkpoint is only supported for model: {allowed}")
    return SeConfig(
        model=kind.name,
        model_conf=model_conf,
        init_checkpoint=init,
        train=_section(_mapping(conf, "train", where), SeTrainConfig, f"{where}: train"),
        loss=_section(_mapping(conf, "loss", where), SeLossConfig, f"{where}: loss"),
    )


def load_config(path: str | os.PathLike) -> SeConfig:
    """Read and resolve a YAML SE config (merged over its ``defaults``,
    :mod:`trnet.config_file`)."""

    path = Path(path)
    if not path.is_file():
        raise TrnetError(f"{path}: config file not found")
    conf, where = read_config(path)
    if conf is not None and not isinstance(conf, dict):
        raise TrnetError(f"{where}: expected a mapping at the top level")
    return resolve_config(conf, where)
