"""The deep SER kind: every system built on :class:`trnet.models.ser.SerModel` (a config
without ``model.kind``), trained by :mod:`trnet.train.fold_run`, decoded by
:mod:`trnet.train.decode`."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from trnet.systems.base import System


class DeepSer(System):
    kind = "deep"

    def load_config(self, path: Path) -> Any:
        from trnet.train.config import load_config

        return load_config(path)

    def override(
        self,
        cfg: Any,
        *,
        seed: int | None = None,
        ensemble: int | None = None,
        snrs: Sequence[int] | None = None,
    ) -> None:
        super().override(cfg, seed=seed, snrs=snrs)
        if ensemble is not None:
            cfg.train.ensemble = ensemble

    def members(self, cfg: Any) -> int:
        return cfg.train.ensemble

    def train_signature(self, cfg: Any, fold: int, data_root: Path, dump: Path) -> dict:
        from trnet.train.signature import train_signature

        return train_signature(cfg, fold, data_root, dump)

    def train(
        self,
        cfg: Any,
        fold: int,
        data_root: Path,
        dump: Path,
        out: Path,
        *,
        resume: bool = False,
        device: str = "auto",
        overwrite: bool = False,
        member: int | None = None,
    ) -> Path:
        from trnet.train.fold_run import train_fold

        return train_fold(
            cfg,
            fold,
            data_root,
            dump,
            out,
            resume=resume,
            device=device,
            overwrite=overwrite,
            member=member,
        )

    def decode(
        self,
        exp_fold: Path,
        dump: Path,
        test_dir: Path,
        conditions: Sequence[str],
        out: Path,
        *,
        batch_size: int = 64,
        device: str = "auto",
        overwrite: bool = False,
    ) -> list[Path]:
        from trnet.train.decode import decode

        return decode(exp_fold, dump, test_dir, conditions, out, batch_size, device, overwrite)

    def input_kind(self, cfg: Any) -> str:
        return cfg.data.input

    def train_corruptions(self, cfg: Any) -> list[str]:
        return cfg.train_corruption_conditions()

    def decode_reads(self, cfg: Any, condition: str) -> list[str]:
        from trnet.train.decode import condition_reads

        return condition_reads(cfg, condition)
