"""The ``egemaps_svm`` kind (``baseline_egemaps``): eGeMAPS functionals and an RBF SVM,
computed by :mod:`trnet.classic.svm`."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from trnet.classic import svm
from trnet.systems.base import FittedSystem


class EgemapsSvm(FittedSystem):
    kind = svm.KIND

    def load_config(self, path: Path) -> svm.SvmConfig:
        return svm.load_svm_config(path)

    def train_signature(self, cfg: Any, fold: int, data_root: Path, dump: Path) -> dict:
        return svm.svm_signature(cfg, fold, data_root, dump)

    def fit(self, cfg: Any, fold: int, data_root: Path, dump: Path, out: Path) -> Path:
        return svm.fit_fold(cfg, fold, data_root, dump, out)

    def load_fitted(self, exp_fold: Path, cfg: Any) -> tuple[Any, int]:
        from trnet.classic.svm_model import load_model

        model, meta = load_model(exp_fold)
        return (model, meta["temperature"]), meta["fold"]  # an int (load_model checks it)

    def posteriors(
        self, cfg: Any, model: Any, dump: Path, utts: Sequence[str], condition: str
    ) -> tuple[np.ndarray, np.ndarray]:
        return svm.posteriors(*model, dump, utts, condition)
