"""``trnet train-se``: train the SE front-end (stage 3; library:
:func:`trnet.se.train.train_se`), or prepare a pretrained one (which one is, the recipe asks
``trnet plan --se-config X --field se_pretrained``)."""

from __future__ import annotations

from pathlib import Path

import typer

TRAINING_OPTIONS = ("speech", "noise", "dev_noise", "noise_root", "resume", "device")
"""Options that only training reads: a pretrained front end ignores them."""


def given_options(ctx: typer.Context, names: tuple[str, ...]) -> list[str]:
    """The options of ``names`` given on the command line, spelled as there (``--dev-noise``)."""
    sources = {name: ctx.get_parameter_source(name) for name in names}
    return [
        f"--{name.replace('_', '-')}"
        for name, source in sources.items()
        if source is not None and source.name == "COMMANDLINE"
    ]


def _train_se(
    ctx: typer.Context,
    config: Path = typer.Option(
        ...,
        help="SE config (conf/slim/se.yaml: CRN, conf/se.yaml: CMGAN, conf/se_nsnet2.yaml: "
        "pretrained NSNet2, written as a package without training)",
    ),
    speech: str = typer.Option(
        "musan_speech",
        help="clean speech: a noise-set name/dir (default musan_speech: read speech, no SER "
        "speaker) or a SER data dir such as data/folds/speaker/fold1/train",
    ),
    noise: str = typer.Option("esc50_train", help="training noise set (name or dir)"),
    dev_noise: str = typer.Option("esc50_dev", help="noise set of the fixed dev pairs"),
    noise_root: Path = typer.Option(Path("data/noise"), help="where noise-set names resolve"),
    out: Path = typer.Option(Path("exp/se"), help="output dir (best.pt, checkpoints/, train.log)"),
    resume: bool = typer.Option(False, help="continue from the last checkpoint in OUT"),
    device: str = typer.Option("auto", help="auto | cpu | cuda"),
    overwrite: bool = typer.Option(
        False, help="replace an OUT trained with another config, lr, seed, speech or noise"
    ),
) -> None:
    """Train the SE model on (noisy, clean) pairs made on the fly; skips an OUT trained with
    these settings and inputs, refuses one trained with others (unless --overwrite). A
    pretrained front end (se_nsnet2.yaml) is prepared instead: nothing is trained, and the
    training options (--speech, --noise, --dev-noise, --noise-root, --resume, --device) are
    ignored (each one given is named)."""
    from trnet.console import console
    from trnet.se.config import load_config
    from trnet.se.train import train_se

    conf = load_config(config)
    best = train_se(
        conf, speech, noise, out, dev_noise, noise_root, resume, device, overwrite=overwrite
    )
    out_console = console(highlight=False, soft_wrap=True)
    if not conf.pretrained:
        out_console.print(f"SE model: {best}")
        return
    out_console.print(f"prepared the pretrained front end ({conf.model}, nothing to train): {best}")
    ignored = given_options(ctx, TRAINING_OPTIONS)
    if ignored:
        out_console.print(f"ignored (a pretrained front end trains nothing): {', '.join(ignored)}")


def register(app: typer.Typer) -> None:
    app.command("train-se")(_train_se)
