"""The steps the training loop (:class:`trnet.train.loop.Trainer`) runs beside its epochs.

A hook acts at three points of a run, timing its work as its phase (``trnet bench train``):
:meth:`Hook.start` on a fresh run before the first epoch, :meth:`Hook.after_epoch` after
each epoch's training steps (before the dev scoring, on every rank) and :meth:`Hook.end`
on rank 0 after the last epoch (before ``.done``). :func:`default_hooks` gives those a
config asks for: the kernel hybrid's prefit, BatchNorm re-estimation, Baseline-c's clean
embeddings.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import torch

from trnet.contract import BLEND, CLASSES
from trnet.scoring.metrics import uar
from trnet.train.bn import batchnorms, reestimate
from trnet.train.clean_embeddings import export_clean_embeddings

if TYPE_CHECKING:
    from trnet.models.ser import SerModel
    from trnet.train.config import Config
    from trnet.train.loop import Trainer


class Hook:
    """A step beside the epochs; ``phase`` names its time in the trainer's phase timer."""

    phase = "hook"

    def start(self, trainer: Trainer) -> None:
        """A fresh run (epoch 0; a resumed run has its state), before the first epoch."""

    def after_epoch(self, trainer: Trainer) -> None:
        """After each epoch's training steps, before the dev scoring (every rank)."""

    def end(self, trainer: Trainer) -> None:
        """Rank 0, after the last epoch, before ``.done``."""


class KernelPrefit(Hook):
    """Fit a kernel hybrid's functionals branch alone first (:meth:`SerModel.fit_functionals`),
    on every training example in every training condition (as the SVM reference is fitted):
    ``train.kernel_prefit`` epochs of class-weighted CE at the kernel learning rate. The joint
    training then starts from a kernel machine that already works, instead of one that gets
    a few hundred steps while the CNN overfits. With ``model.functionals_input: blend`` it
    is fitted on both ends of the blend, every training example once with s = 1 (its noisy
    input's functionals) and once with s = 0 (its enhanced input's), since s is learnt
    afterwards."""

    phase = "kernel prefit"

    def start(self, trainer: Trainer) -> None:
        with trainer.timer.phase(self.phase):
            self.prefit(trainer)

    def prefit(self, trainer: Trainer) -> None:
        cfg, device = trainer.cfg, trainer.env.device
        func, ys = trainer.training_functionals(trainer.func)
        s = None
        if cfg.model.functionals_input == BLEND:  # both ends: s = 1 (noisy), s = 0 (enhanced)
            func, ys = np.concatenate([func, func]), ys + ys
            s = torch.cat([torch.ones(len(ys) // 2), torch.zeros(len(ys) // 2)]).to(device)
        labels = torch.tensor(ys, device=device)
        hyp = trainer.net.fit_functionals(
            torch.from_numpy(func.astype(np.float32)).to(device),
            labels,
            s=s,
            epochs=cfg.train.kernel_prefit,
            lr=cfg.optim.lr * cfg.optim.kernel_lr_scale,
            batch_size=cfg.train.batch_size,
            seed=cfg.train.seed,
            class_weight=trainer.ce_weight,
        )
        score = uar(labels.tolist(), hyp.tolist(), len(CLASSES))
        trainer.log(
            f"kernel branch prefitted on {len(labels)} examples, "
            f"{cfg.train.kernel_prefit} epochs: train UAR {score:.4f}"
        )


class BnRecalibration(Hook):
    """BatchNorm statistics re-estimated on each epoch's first ``train.bn_recalib`` examples
    (this rank's share); see :func:`trnet.train.bn.reestimate`."""

    phase = "BN re-estimation"

    def after_epoch(self, trainer: Trainer) -> None:
        with trainer.timer.phase(self.phase):
            norms = batchnorms(trainer.net)
            if not norms:
                return
            cfg = trainer.cfg
            data = trainer.epoch_set(trainer.epoch_examples()[: cfg.train.bn_recalib])
            loader = torch.utils.data.DataLoader(data, batch_size=cfg.train.batch_size)
            reestimate(trainer.net, norms, loader, trainer.env.device)


class CleanEmbeddings(Hook):
    """``emb_clean.{ark,scp}`` (``train.export_clean_emb``): z of the clean train + dev
    utterances from ``best.pt``, TRNet's high-level target."""

    phase = "clean embeddings"

    def end(self, trainer: Trainer) -> None:
        with trainer.timer.phase(self.phase):
            self.export(trainer)

    def export(self, trainer: Trainer) -> None:
        utts = sorted(set(trainer.data.train) | set(trainer.data.dev))
        export_clean_embeddings(
            trainer.cfg,
            trainer.out,
            trainer.store,
            utts,
            trainer.env.device,
            functionals=trainer.func,
        )
        trainer.log(f"wrote {len(utts)} clean embeddings to {trainer.out / 'emb_clean.scp'}")


def default_hooks(cfg: Config, net: SerModel) -> list[Hook]:
    """The hooks ``cfg`` asks for, in the order they act."""
    hooks: list[Hook] = []
    if net.func_linear is not None and cfg.train.kernel_prefit > 0:
        hooks.append(KernelPrefit())
    if cfg.train.bn_recalib > 0:
        hooks.append(BnRecalibration())
    if cfg.train.export_clean_emb:
        hooks.append(CleanEmbeddings())
    return hooks
