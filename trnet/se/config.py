"""The SE config (``conf/se.yaml``): strict keys, defaults, and the model it builds.

Layout::

    model: crn                 # crn | cmgan | nsnet2 | onnx (pretrained: trnet/se/pretrained.py)
    model_conf: {...}          # that model's sizes (see CRN_DEFAULTS / CMGAN_DEFAULTS)
    init_checkpoint: null      # external generator state dict (cmgan only)
    train: {...}               # see TRAIN_DEFAULTS
    loss: {...}                # see LOSS_DEFAULTS
"""

from __future__ import annotations

import copy
import dataclasses
import os
from pathlib import Path
from typing import Any

from trnet.config_file import read_config
from trnet.errors import TrnetError
from trnet.models.se_cmgan import CMGAN_DEFAULTS
from trnet.models.se_crn import CRN_DEFAULTS
from trnet.strict import build, dataclass_of

MODEL_DEFAULTS: dict[str, dict[str, Any]] = {"crn": CRN_DEFAULTS, "cmgan": CMGAN_DEFAULTS}

TRAIN_DEFAULTS: dict[str, Any] = {
    "segment_s": 2.0,  # length of the training segments
    "snr_range": [-5.0, 20.0],  # dB, drawn uniformly per segment
    "batch_size": 16,
    "steps_per_epoch": 100,
    "epochs": 8,
    "lr": 1.0e-3,
    "grad_clip": 5.0,
    "dev_size": 64,  # fixed seeded dev pairs
    "seed": 0,
}

LOSS_DEFAULTS: dict[str, float] = {
    "mag": 0.7,  # MSE of the compressed magnitude
    "ri": 0.3,  # MSE of the compressed complex spectrum (real, imaginary)
    "sisdr": 0.01,  # minus SI-SDR (dB) of the waveform
}

TOP_KEYS = ("model", "model_conf", "init_checkpoint", "train", "loss")


def _check_keys(given: dict, allowed: dict | tuple, where: str) -> None:
    unknown = sorted(set(given) - set(allowed))
    if unknown:
        raise TrnetError(
            f"{where}: unknown key(s) {', '.join(unknown)}; allowed: {', '.join(sorted(allowed))}"
        )


def _section(conf: dict, name: str, defaults: dict, where: str) -> dict:
    """The section ``name`` with its defaults filled, checked by the strict validator of the
    SER config (:mod:`trnet.strict`) against the types of its defaults."""
    given = conf.get(name) or {}
    if not isinstance(given, dict):
        raise TrnetError(f"{where}: '{name}' must be a mapping")
    _check_keys(given, defaults, f"{where}: {name}")
    section = build(dataclass_of(name, defaults), given, f"{where}: {name}")
    return {**copy.deepcopy(defaults), **dataclasses.asdict(section)}


def resolve_config(conf: dict | None, where: str = "se config") -> dict:
    """Fill defaults and reject unknown keys (a :class:`TrnetError` lists the allowed ones)."""
    conf = dict(conf or {})
    _check_keys(conf, TOP_KEYS, where)
    model = conf.get("model", "crn")
    from trnet.se.pretrained import PRETRAINED, resolve_pretrained

    if model in PRETRAINED:
        return resolve_pretrained({**conf, "model": model}, where)
    if model not in MODEL_DEFAULTS:
        raise TrnetError(f"{where}: model {model!r} unknown; allowed: crn, cmgan, nsnet2, onnx")
    init = conf.get("init_checkpoint")
    if init is not None and model != "cmgan":
        raise TrnetError(f"{where}: init_checkpoint is only supported for model: cmgan")
    return {
        "model": model,
        "model_conf": _section(conf, "model_conf", MODEL_DEFAULTS[model], where),
        "init_checkpoint": init,
        "train": _section(conf, "train", TRAIN_DEFAULTS, where),
        "loss": _section(conf, "loss", LOSS_DEFAULTS, where),
    }


def load_config(path: str | os.PathLike) -> dict:
    """Read and resolve a YAML SE config (merged over its ``defaults``,
    :mod:`trnet.config_file`)."""

    path = Path(path)
    if not path.is_file():
        raise TrnetError(f"{path}: config file not found")
    conf, where = read_config(path)
    if conf is not None and not isinstance(conf, dict):
        raise TrnetError(f"{where}: expected a mapping at the top level")
    return resolve_config(conf, where)
