"""What decides a trained fold (:mod:`trnet.stage`): :func:`fold_signature` for every system
kind, and what the deep trainer reads (:func:`fold_needs`, :func:`fold_inputs`) for its
:func:`train_signature`."""

from __future__ import annotations

from pathlib import Path

from trnet.contract import CLEAN
from trnet.stage import FORMAT_VERSION, dir_digest, input_digest
from trnet.train.config import Config, config_to_dict
from trnet.train.data import (
    FeatureStore,
    dump_digests,
    functionals_conditions,
    needs_for,
)
from trnet.train.fold_data import FoldData, load_fold, z_clean_source


def fold_needs(cfg: Config, data: FoldData) -> dict[str, set[str]]:
    """Dump condition → the utterances a fold's training reads there (train, dev, clean
    targets, and the clean train + dev utterances whose embeddings Baseline-c exports)."""
    with_clean = cfg.loss.alpha > 0 or cfg.loss.z_clean_on == "crop"
    train = needs_for(cfg.train_conditions(), set(data.train), cfg.data.input, with_clean)
    dev = needs_for(cfg.dev_conditions(), set(data.dev), cfg.data.input, False)
    if cfg.train.export_clean_emb:
        dev.setdefault(CLEAN, set()).update(data.train + data.dev)
    for cond, utts in dev.items():
        train.setdefault(cond, set()).update(utts)
    return train


def fold_inputs(cfg: Config, fold: int, data_root: Path, dump: Path) -> dict:
    """The digests of what a fold's training reads (:func:`trnet.stage.input_digest`): each
    dump condition (its features; a hybrid's also its audio) and, for TRNet, the Baseline-c
    fold whose embeddings it pulls towards. Checked first, so a fold never gets signed with
    an input that is not there yet (a later run, once it is, would find other settings)."""
    data = load_fold(Path(data_root), fold)
    needs = fold_needs(cfg, data)
    FeatureStore(dump).check(needs, f"fold {fold} ({cfg.system})")
    conditions = set(needs)
    if cfg.model.functionals:  # a hybrid reads the functionals of its branch's inputs' audio
        kind, mode = cfg.data.input, cfg.model.functionals_input
        for c in [*cfg.train_conditions(), *cfg.dev_conditions(), CLEAN]:
            conditions.update(functionals_conditions(c, kind, mode))
    z_clean = z_clean_source(cfg, fold)
    return {
        "dump": dump_digests(dump, conditions),
        "z_clean": input_digest(z_clean[0]) if z_clean else None,
    }


def train_signature(cfg: Config, fold: int, data_root: Path, dump: Path) -> dict:
    """Everything that decides a deep fold's training (:func:`fold_signature`)."""
    inputs = fold_inputs(cfg, fold, data_root, dump)
    return fold_signature(config_to_dict(cfg), fold, data_root, dump, inputs)


def fold_signature(config: dict, fold: int, data_root: Path, dump: Path, inputs: dict) -> dict:
    """A trained fold's signature, whatever its kind: the resolved config (seed included),
    the fold's lists by content, the feature dump by path and ``inputs``, the digests of what
    is read there (the deep trainer's: :func:`fold_inputs`; the SVM's:
    :func:`trnet.classic.svm.svm_signature`), the format."""
    fold_dir = Path(data_root) / f"fold{fold}"
    return {
        "format_version": FORMAT_VERSION,
        "config": config,
        "fold": fold,
        "fold_dir": str(fold_dir.resolve()),
        "fold_sha256": dir_digest(fold_dir, recursive=True) if fold_dir.is_dir() else None,
        "dump": str(Path(dump).resolve()),
        "inputs": inputs,
    }
