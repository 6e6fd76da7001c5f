"""The deep SER kind: every system built on :class:`trnet.models.ser.SerModel` (a config
without ``model.kind``), trained by :mod:`trnet.train.fold_run`, decoded by
:mod:`trnet.train.decode`."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from trnet.systems.base import PackageParts, System


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

    def package(self, exp_fold: Path, fbank: dict) -> PackageParts:
        """One model (``best.pt``) or an ensemble's members, each as its state dict; a
        hybrid also its functionals settings and whose functionals it takes
        (:func:`trnet.train.data.model_functionals_sources`; its standardisation and kernel
        features are buffers of the state dict)."""
        from trnet import checkpoint
        from trnet.train.config import config_from_dict, load_config
        from trnet.train.ensemble import check_members, fold_models, read_done

        paths = fold_models(exp_fold)  # one best.pt, or each member's
        blobs = [checkpoint.load(path) for path in paths]
        cfg = config_from_dict(blobs[0]["config"], str(paths[0]))
        if len(paths) > 1:  # the fold's config (train.ensemble K), its members checked
            check_members(exp_fold, [blob["config"] for blob in blobs])
            cfg = load_config(exp_fold / "config.yaml")
        epochs = [int(blob.get("epoch", 0)) for blob in blobs]
        card = {
            "fold": int(blobs[0]["fold"]),
            "best_epoch": epochs[0] if len(epochs) == 1 else epochs,
            "dev_uar": round(float(read_done(exp_fold).get("dev_uar", "nan")), 4),
        }
        return ser_package_parts(cfg, [blob["model"] for blob in blobs], fbank, card)


def member_files(count: int) -> list[str]:
    """The package files of a model's members: ``ser.pt``, or ``ser0.pt`` .. for an ensemble."""
    return ["ser.pt"] if count == 1 else [f"ser{k}.pt" for k in range(count)]


def ser_package_parts(
    cfg: Any, states: list[dict], fbank: dict, card: dict | None = None
) -> PackageParts:
    """A package's parts of SerModel state dicts (one per member, in member order) trained
    with ``cfg`` on fbank features of ``fbank``'s settings."""
    from trnet.classic.egemaps import smile_settings
    from trnet.train.config import dump_config
    from trnet.train.data import model_functionals_sources

    names = member_files(len(states))
    sources = model_functionals_sources(cfg)
    first = states[0]
    frontend = {
        "fbank": fbank,
        "int16_scale": True,
        "enhanced_int16": True,
        "input": cfg.data.input,
        "max_len": cfg.data.max_len,
        "vad_db": cfg.data.vad_db,
        "eval_full": cfg.data.eval_full,
        "members": names,
        "cmvn": {
            "mean": [round(float(v), 7) for v in first["cmvn_mean"]],
            "std": [round(float(v), 7) for v in first["cmvn_std"]],
        },
    }
    parameters = sum(
        int(v.numel()) for state in states for k, v in state.items() if "running" not in k
    )
    return PackageParts(
        config=cfg,
        config_text=dump_config(cfg),
        model="ser",
        input=cfg.data.input,
        frontend=frontend,
        states=dict(zip(names, states, strict=True)),
        functionals={"settings": smile_settings(), "inputs": sources} if sources else None,
        card={**(card or {}), "members": len(states), "parameters": parameters},
    )
