"""A fold's training inputs: the train and dev utterances with their labels, and the
Baseline-c embeddings TRNet's high-level loss pulls towards.

(Not :class:`trnet.data.folds.Fold`, the speaker split that ``trnet folds`` writes.)
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from trnet.data.datadir import DataDir, load_labels
from trnet.errors import TrnetError
from trnet.kaldi_io import read_vectors
from trnet.train.config import Config
from trnet.train.ensemble import is_ensemble, member_dirs

if TYPE_CHECKING:
    from trnet.models.ser import SerModel


@dataclass
class FoldData:
    train: list[str]
    dev: list[str]
    labels: dict[str, int]


def load_fold(data_root: Path, fold: int) -> FoldData:
    base = data_root / f"fold{fold}"
    train, dev = DataDir.load(base / "train"), DataDir.load(base / "dev")
    if not train.utts:
        raise TrnetError(f"{base / 'train'}: fold {fold} has no training utterances")
    if not dev.utts:
        raise TrnetError(f"{base / 'dev'}: fold {fold} has no dev utterances")
    return FoldData(train.utts, dev.utts, {**load_labels(train), **load_labels(dev)})


def z_clean_source(cfg: Config, fold: int) -> tuple[Path, Path] | None:
    """The finished Baseline-c fold the high-level loss takes its target from and the ark of
    its clean embeddings (of an ensemble Baseline-c, its first member's: one embedding
    space); None when beta = 0. One not trained yet is a one-line error."""
    if cfg.loss.beta <= 0:
        return None
    fold_dir = Path(cfg.loss.z_clean_from.format(fold=fold))
    src = member_dirs(fold_dir, 1)[0] if is_ensemble(fold_dir) else fold_dir
    ark = src / "emb_clean.ark"
    if not (src / ".done").is_file() or not ark.is_file():
        raise TrnetError(f"{ark}: clean embeddings missing: train Baseline-c for fold {fold} first")
    return fold_dir, ark


def load_z_clean(cfg: Config, fold: int, utts: list[str]) -> dict[str, np.ndarray] | None:
    """The Baseline-c embeddings the high-level loss pulls towards (None when beta = 0, or
    when they are computed on the crop, :func:`load_z_teacher`)."""
    source = z_clean_source(cfg, fold)
    if source is None or cfg.loss.z_clean_on == "crop":
        return None
    ark = source[1]
    table = read_vectors(ark)
    missing = [u for u in utts if u not in table]
    if missing:
        raise TrnetError(f"{ark}: no embedding for {len(missing)} utterances ({missing[0]} ...)")
    dims = {v.shape for v in table.values()}
    if dims != {(cfg.model.emb_dim,)}:
        raise TrnetError(
            f"{ark}: embedding shape {dims} does not match model.emb_dim {cfg.model.emb_dim}"
        )
    return table


def load_z_teacher(cfg: Config, fold: int) -> SerModel | None:
    """``loss.z_clean_on: crop``: Baseline-c's model (the ``best.pt`` beside the embeddings
    :func:`z_clean_source` names), frozen in eval mode, whose :meth:`SerModel.embed` of the
    clean twin of each training crop is the high-level target: the embedding of exactly the
    frames TRNet is fed, where the exported ``emb_clean`` is of the whole (VAD-trimmed)
    utterance when ``data.eval_full`` is on. None for any other setting."""
    from trnet import checkpoint
    from trnet.models.factory import build_ser_model
    from trnet.train.config import config_from_dict

    source = z_clean_source(cfg, fold)
    if source is None or cfg.loss.z_clean_on != "crop":
        return None
    path = source[1].parent / "best.pt"
    state = checkpoint.load(path)
    teacher_cfg = config_from_dict(state.get("config"), str(path))
    if teacher_cfg.model.compensation or teacher_cfg.model.emb_dim != cfg.model.emb_dim:
        raise TrnetError(
            f"{path}: loss.z_clean_on: crop needs a one-input model (no compensation) with "
            f"model.emb_dim {cfg.model.emb_dim}"
        )
    net = build_ser_model(teacher_cfg.model, seed=teacher_cfg.train.seed)
    try:
        net.load_state_dict(state["model"])
    except (KeyError, RuntimeError) as err:
        raise TrnetError(f"{path}: cannot load the Baseline-c weights ({err})") from None
    for param in net.parameters():
        param.requires_grad_(False)
    return net.eval()
