"""Embedding export of Baseline-c (``train.export_clean_emb``): ``emb_clean.{ark,scp}``, the
embeddings of the clean train and dev utterances from ``best.pt``: TRNet's high-level target."""

from __future__ import annotations

from pathlib import Path

import torch

from trnet import checkpoint
from trnet.contract import CLEAN
from trnet.kaldi_io import write_vectors
from trnet.models.factory import build_ser_model
from trnet.train.config import Config
from trnet.train.data import ExampleSet, FeatureStore, set_options
from trnet.train.predict import predict


def export_clean_embeddings(
    cfg: Config,
    out: Path,
    store: FeatureStore,
    utts: list[str],
    device: torch.device,
    functionals: dict | None = None,
) -> None:
    """``out/emb_clean.{ark,scp}``: z of ``utts`` (clean features) from ``out/best.pt``."""
    net = build_ser_model(cfg.model)
    net.load_state_dict(checkpoint.load(out / "best.pt")["model"])
    net.to(device)
    data = ExampleSet(
        [(u, CLEAN) for u in utts],
        store,
        cfg.data.input,
        cfg.data.max_len,
        functionals=functionals,
        functionals_input=cfg.model.functionals_input,
        **set_options(cfg.data, train=False),
    )
    outs = predict(net, data, cfg.train.batch_size, device)
    write_vectors(
        out / "emb_clean.ark", out / "emb_clean.scp", dict(zip(utts, outs.z, strict=True))
    )
