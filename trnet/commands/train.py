"""``trnet train``: train one SER system (a YAML config) on one fold."""

from __future__ import annotations

from pathlib import Path

import typer


def parse_snr_list(text: str) -> list[int]:
    """``'20 15 10'`` → ``[20, 15, 10]``; a non-integer is a one-line error."""
    from trnet.errors import TrnetError

    try:
        values = [int(v) for v in text.replace(",", " ").split()]
    except ValueError:
        raise TrnetError(f"--snrs: expected whole numbers of dB, got {text!r}") from None
    if not values:
        raise TrnetError("--snrs: no SNR given")
    return values


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
        overwrite: bool = typer.Option(
            False, "--overwrite", help="replace a fold trained with another config/seed/data"
        ),
        seed: int | None = typer.Option(None, "--seed", help="override train.seed of the config"),
        ensemble: int | None = typer.Option(
            None,
            "--ensemble",
            help="override train.ensemble: K models per fold, seeds seed..seed+K-1, their "
            "posteriors averaged (deep systems; a classical one is deterministic: ignored)",
        ),
        member: int | None = typer.Option(
            None,
            "--member",
            help="train only member K (0..ensemble-1) of an ensemble fold, as its own job: "
            "the fold's .done comes with the job that finds every member done",
        ),
        snrs: str | None = typer.Option(
            None,
            "--snrs",
            help="override the noisy training/dev SNRs (e.g. '20 10 0') of a multi-condition "
            "config; a clean-only config (data.snrs: []) stays clean-only",
        ),
    ) -> None:
        """Train a system on a fold (DDP under torchrun); skips a fold done with these settings."""
        from trnet.errors import TrnetError
        from trnet.systems.registry import system_of_config

        if ensemble is not None and ensemble < 1:
            raise TrnetError(f"--ensemble must be at least 1, got {ensemble}")
        system = system_of_config(config)  # model.kind: deep SER, egemaps_svm, ...
        cfg = system.load_config(config)
        system.override(
            cfg,
            seed=seed,
            ensemble=ensemble,
            snrs=None if snrs is None else parse_snr_list(snrs),
        )
        if member is not None and system.members(cfg) < 2:
            raise TrnetError(
                f"--member {member}: {config} trains one model per fold (no ensemble); "
                "train the fold without --member"
            )
        system.train(
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
