"""The model factory: a config section → a model (the SER model; the SE nets are built by
:func:`trnet.se.model.build_model` from their own config)."""

from __future__ import annotations

from typing import Protocol

from trnet.classic.egemaps import N_FUNCTIONALS
from trnet.contract import CLASSES
from trnet.models.ser import SerModel


class ModelSection(Protocol):
    """What the factory reads of a config's ``model`` section
    (:class:`trnet.train.config.ModelConfig`; the models do not import the trainer)."""

    channels: list[int]
    emb_dim: int
    hidden: int
    conv_dropout: float
    head_dropout: float
    compensation: bool
    bridge: bool
    s_gradient: str
    s_features: str
    s_clamp: str
    s_window: int
    functionals: bool
    functionals_head: str
    kernel_dim: int
    kernel_gamma: float
    functionals_input: str
    conv_input_grad: str


def build_ser_model(cfg: ModelSection, seed: int = 0) -> SerModel:
    """The SER model a config's ``model`` section describes (4 classes); ``seed`` draws a
    kernel hybrid's fixed random features (the training seed)."""
    return SerModel(
        channels=cfg.channels,
        emb_dim=cfg.emb_dim,
        hidden=cfg.hidden,
        num_classes=len(CLASSES),
        conv_dropout=cfg.conv_dropout,
        head_dropout=cfg.head_dropout,
        compensation=cfg.compensation,
        bridge=cfg.bridge,
        s_gradient=cfg.s_gradient,
        s_features=cfg.s_features,
        s_clamp=cfg.s_clamp,
        s_window=cfg.s_window,
        functionals=N_FUNCTIONALS if cfg.functionals else 0,
        functionals_head=cfg.functionals_head,
        kernel_dim=cfg.kernel_dim,
        kernel_gamma=cfg.kernel_gamma,
        kernel_seed=seed,
        functionals_input=cfg.functionals_input,
        conv_input_grad=cfg.conv_input_grad,
    )
