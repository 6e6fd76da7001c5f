"""``trnet train``: train one SER system (a YAML config) on one fold."""

from __future__ import annotations

from pathlib import Path

import typer


def register(app: typer.Typer) -> None:
    @app.command()
    def train(
        config: Path = typer.Option(..., "--config", help="system config (conf/<system>.yaml)"),
        fold: int = typer.Option(..., "--fold", help="fold number K (data-root/fold<K>)"),
        data_root: Path = typer.Option(..., "--data-root", help="data/folds/<protocol>"),
        dump: Path = typer.Option(..., "--dump", help="feature dump, e.g. dump/iemocap"),
        out: Path = typer.Option(..., "--out", help="experiment dir, e.g. exp/trnet/fold1"),
        resume: bool = typer.Option(False, "--resume", help="continue from the last checkpoint"),
        device: str = typer.Option("auto", "--device", help="auto | cpu | cuda[:N]"),
        seed: int | None = typer.Option(None, "--seed", help="override train.seed of the config"),
    ) -> None:
        """Train a system on a fold (DDP under torchrun); skips a fold marked .done."""
        from trnet.train.config import load_config
        from trnet.train.trainer import train_fold

        cfg = load_config(config)
        if seed is not None:
            cfg.train.seed = seed
        train_fold(cfg, fold, data_root, dump, out, resume=resume, device=device)
