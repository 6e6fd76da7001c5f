"""The ``egemaps_svm`` kind (``baseline_egemaps``): eGeMAPS functionals and an RBF SVM,
computed by :mod:`trnet.classic.svm`."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from trnet.classic import svm
from trnet.systems.base import FittedSystem, PackageParts


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

    def package(self, exp_fold: Path, fbank: dict) -> PackageParts:
        """The fold's model.npz and model.json as they are (arrays and JSON, checked by
        loading them first) and the functionals settings."""
        from trnet.classic.egemaps import smile_settings
        from trnet.classic.svm_model import ARRAYS, META, load_model

        cfg = self.load_config(exp_fold / "config.yaml")
        model, meta = load_model(exp_fold)
        source = self.input_kind(cfg)
        return PackageParts(
            config=cfg,
            config_text=svm.dump_svm_config(cfg),
            model=svm.KIND,
            input=source,
            frontend={"input": source},
            files={ARRAYS: exp_fold / ARRAYS, META: exp_fold / META},
            functionals={"settings": smile_settings(), "inputs": [source]},
            card={
                "fold": meta["fold"],
                "dev_uar": round(float(meta["dev_uar"]), 4),
                "c": meta["c"],
                "temperature": meta["temperature"],
                "members": 1,
                "parameters": int(sum(a.size for a in model.arrays().values())),
            },
        )
