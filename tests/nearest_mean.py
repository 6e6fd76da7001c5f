"""A toy system kind (what adding a kind takes: this module and one ``register_kind`` line):
the nearest class mean of the standardised eGeMAPS functionals, fitted on every training
utterance in every training condition."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import yaml

from trnet.classic.egemaps import example_functionals
from trnet.config_file import read_config
from trnet.contract import CLASSES
from trnet.io import atomic_write
from trnet.strict import build
from trnet.systems.base import FittedSystem
from trnet.train.config import condition_list
from trnet.train.data import dump_digests
from trnet.train.fold_data import load_fold
from trnet.train.signature import fold_signature


@dataclass
class ModelConfig:
    kind: str


@dataclass
class DataConfig:
    snrs: list[int]
    include_clean: bool = True
    train_noise: str = "esc50_train"


@dataclass
class TrainConfig:
    seed: int = 0


@dataclass
class NearestMeanConfig:
    system: str
    model: ModelConfig
    data: DataConfig
    train: TrainConfig = field(default_factory=TrainConfig)

    def train_conditions(self) -> list[str]:
        return condition_list(self.data.include_clean, self.data.train_noise, self.data.snrs)


class NearestMean(FittedSystem):
    kind = "nearest_mean"

    def load_config(self, path: Path) -> NearestMeanConfig:
        return build(NearestMeanConfig, *read_config(path))

    def train_signature(self, cfg: NearestMeanConfig, fold: int, data_root: Path, dump: Path):
        inputs = {"dump": dump_digests(dump, cfg.train_conditions())}
        return fold_signature(dataclasses.asdict(cfg), fold, data_root, dump, inputs)

    def fit(self, cfg: NearestMeanConfig, fold: int, data_root: Path, dump: Path, out: Path):
        data = load_fold(data_root, fold)
        examples = [(u, c) for c in cfg.train_conditions() for u in data.train]
        x = example_functionals(dump, examples)
        y = np.array([data.labels[u] for u, _ in examples])
        mean, std = x.mean(0), x.std(0) + 1e-8
        means = np.stack([((x[y == k] - mean) / std).mean(0) for k in range(len(CLASSES))])
        np.savez(out / "model.npz", mean=mean, std=std, means=means, fold=fold)
        with atomic_write(out / "config.yaml") as f:
            f.write(yaml.safe_dump(dataclasses.asdict(cfg), sort_keys=False))
        with atomic_write(out / ".done") as f:
            f.write(f"{len(examples)} examples\n")
        return out

    def load_fitted(self, exp_fold: Path, cfg: NearestMeanConfig):
        with np.load(exp_fold / "model.npz", allow_pickle=False) as npz:
            model = {k: npz[k] for k in npz.files}
        return model, int(model["fold"])

    def posteriors(self, cfg, model: dict, dump: Path, utts: list[str], condition: str):
        x = example_functionals(dump, [(u, condition) for u in utts])
        z = (x - model["mean"]) / model["std"]
        logits = -((z[:, None, :] - model["means"][None]) ** 2).mean(-1)
        post = np.exp(logits - logits.max(1, keepdims=True))
        return post / post.sum(1, keepdims=True), z.astype(np.float32)
