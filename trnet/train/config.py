"""Training configs: YAML → dataclasses, strictly validated.

Every section is a dataclass; a key that is not a field, a missing required field or a
value of the wrong type raises :class:`TrnetError` naming the file, the section and the
allowed keys. Fields with a default are optional. ``config.yaml`` in an experiment dir is
:func:`dump_config` of the resolved config.

Systems as configs (``egs/iemocap/conf``): ``data.input`` picks the model input
(``noisy``: the drawn condition's features, ``enhanced``: its ``_enh`` twin, ``blend``:
both, with the compensation), ``data.snrs: []`` means clean training only.
``model.s_gradient``: ``hardtanh`` (the paper's; s gets no gradient once clamped) or
``inward`` (the same forward clamp, whose gradient may pull s back into [0, 1]; see
:class:`trnet.models.ser.InwardClamp`).

Engineering keys of ``train`` (no effect on the model's definition):
``bn_recalib: N`` re-estimates every BatchNorm's running statistics after each epoch on
the first N examples of that epoch (dropout off, exact averages; 0 = off, the plain
momentum estimate). On small data the momentum estimate lags the weights and carries
dropout's variance, so the eval-mode model can sit at chance while training learns.
``cache_feats`` keeps every feature matrix read in memory (small corpora; reading is then
once per utterance and condition). ``threads`` sets torch's intra-op threads (0 = torch's
default).
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from trnet.contract import CLEAN
from trnet.errors import TrnetError
from trnet.strict import build

INPUTS = ("noisy", "enhanced", "blend")
WEIGHTINGS = ("fixed", "gradnorm")


@dataclass
class ModelConfig:
    channels: list[int]
    emb_dim: int
    hidden: int = 128
    conv_dropout: float = 0.2
    head_dropout: float = 0.3
    compensation: bool = False
    bridge: bool = False
    s_gradient: str = "hardtanh"  # hardtanh (the paper's) | inward (see models.ser.InwardClamp)


@dataclass
class DataConfig:
    input: str
    snrs: list[int]
    max_len: int
    include_clean: bool = True
    train_noise: str = "esc50_train"
    dev_noise: str = "esc50_dev"


@dataclass
class LossConfig:
    alpha: float = 0.0
    beta: float = 0.0
    weighting: str = "fixed"
    gradnorm_ratio: float = 0.5
    z_clean_from: str = ""


@dataclass
class OptimConfig:
    lr: float = 1e-3
    weight_decay: float = 0.0
    lr_factor: float = 0.1
    lr_patience: int = 15
    grad_clip: float = 10.0


@dataclass
class TrainConfig:
    batch_size: int = 32
    max_epochs: int = 100
    early_stop: int = 50
    seed: int = 0
    keep_checkpoints: int = 2
    export_clean_emb: bool = False
    bn_recalib: int = 0
    cache_feats: bool = False
    threads: int = 0


@dataclass
class Config:
    system: str
    model: ModelConfig
    data: DataConfig
    loss: LossConfig = field(default_factory=LossConfig)
    optim: OptimConfig = field(default_factory=OptimConfig)
    train: TrainConfig = field(default_factory=TrainConfig)

    def train_conditions(self) -> list[str]:
        return self._conditions(self.data.train_noise)

    def dev_conditions(self) -> list[str]:
        return self._conditions(self.data.dev_noise)

    def _conditions(self, noise: str) -> list[str]:
        clean = [CLEAN] if self.data.include_clean else []
        return clean + [f"{noise}_{snr}" for snr in self.data.snrs]


def _check(cfg: Config, where: str) -> None:
    if cfg.data.input not in INPUTS:
        raise TrnetError(f"{where}: data.input must be one of {', '.join(INPUTS)}")
    from trnet.models.ser import S_GRADIENTS

    if cfg.model.s_gradient not in S_GRADIENTS:
        raise TrnetError(f"{where}: model.s_gradient must be one of {', '.join(S_GRADIENTS)}")
    if cfg.loss.weighting not in WEIGHTINGS:
        raise TrnetError(f"{where}: loss.weighting must be one of {', '.join(WEIGHTINGS)}")
    if cfg.model.compensation != (cfg.data.input == "blend"):
        raise TrnetError(f"{where}: model.compensation must be true exactly when input: blend")
    if cfg.model.bridge and not cfg.model.compensation:
        raise TrnetError(f"{where}: model.bridge needs model.compensation")
    if cfg.loss.alpha > 0 and not cfg.model.compensation:
        raise TrnetError(f"{where}: loss.alpha > 0 needs the compensation (input: blend)")
    if cfg.loss.beta > 0 and not cfg.loss.z_clean_from:
        raise TrnetError(f"{where}: loss.beta > 0 needs loss.z_clean_from")
    if not cfg.train_conditions():
        raise TrnetError(f"{where}: no training condition (include_clean false and no snrs)")
    for name in ("batch_size", "max_epochs", "early_stop", "keep_checkpoints"):
        if getattr(cfg.train, name) < 1:
            raise TrnetError(f"{where}: train.{name} must be >= 1")
    if cfg.train.bn_recalib < 0 or cfg.train.threads < 0:
        raise TrnetError(f"{where}: train.bn_recalib and train.threads must be >= 0")
    optim = cfg.optim
    if not (0 < optim.lr < math.inf and optim.grad_clip > 0 and 0 < optim.lr_factor < 1):
        raise TrnetError(
            f"{where}: optim.lr and optim.grad_clip must be > 0 and optim.lr_factor in (0, 1); "
            f"got lr {optim.lr}, grad_clip {optim.grad_clip}, lr_factor {optim.lr_factor}"
        )
    if optim.weight_decay < 0 or optim.lr_patience < 0:
        raise TrnetError(f"{where}: optim.weight_decay and optim.lr_patience must be >= 0")
    if cfg.data.max_len < 16 or not cfg.model.channels:
        raise TrnetError(f"{where}: data.max_len must be >= 16 and model.channels non-empty")


REQUIRED = {"optim": ("lr",), "train": ("batch_size", "max_epochs")}
"""Keys a config must give although the dataclasses have defaults: a config that forgets its
learning rate must not train at a silent 0.001 (issue 15)."""


def config_from_dict(raw: Any, where: str = "config") -> Config:
    if not isinstance(raw, dict):
        raise TrnetError(f"{where}: expected a mapping at the top level")
    for section, keys in REQUIRED.items():
        given = raw.get(section)
        for key in keys:
            if not isinstance(given, dict) or key not in given:
                raise TrnetError(f"{where}: missing required key {section}.{key}")
    cfg = build(Config, raw, where)
    _check(cfg, where)
    return cfg


def load_config(path: str | Path) -> Config:
    """Read and validate a YAML config; errors name ``path``."""
    path = Path(path)
    if not path.is_file():
        raise TrnetError(f"{path}: config file not found")
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as err:
        raise TrnetError(f"{path}: not valid YAML ({err})") from None
    return config_from_dict(raw, str(path))


def config_to_dict(cfg: Config) -> dict:
    return dataclasses.asdict(cfg)


def dump_config(cfg: Config) -> str:
    return yaml.safe_dump(config_to_dict(cfg), sort_keys=False)
