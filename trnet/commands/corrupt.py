"""``trnet corrupt``: corruption conditions of a data dir (reverberation, codecs, telephone
band, clipping, packet loss), with fbank, like ``trnet mix`` writes noise conditions."""

from __future__ import annotations

from pathlib import Path

import typer

from trnet.commands._shared import ConditionCommand, bounded


def register(app: typer.Typer) -> None:
    @app.command(cls=ConditionCommand)
    def corrupt(
        src: Path = typer.Argument(..., help="source Kaldi data dir (e.g. data/iemocap)"),
        out_root: Path = typer.Argument(..., help="conditions go to OUT_ROOT/<condition>/"),
        condition: list[str] = typer.Option(
            ...,
            "--condition",
            help="rev-<rt60 s> | mp3-<kbps>k | opus-<kbps>k | tel8k | tel8k-ulaw | "
            "clip-<threshold re peak> | loss-<rate>, e.g. --condition mp3-24k tel8k loss-0.1",
        ),
        rirs: Path = typer.Option(
            None, "--rirs", help="RIR index (trnet rir-index) for rev-<rt60> conditions"
        ),
        seed: int = typer.Option(0, help="global seed (RIR, lost packets and dither per utt)"),
        nj: int = typer.Option(2, help="parallel processes"),
        fmt: str = typer.Option("ark", "--format", help="audio: ark (kaldiio, int16) | flac | wav"),
        feats: bool = typer.Option(True, "--feats/--no-feats", help="fbank for each condition"),
        dither: float = typer.Option(
            0.0, help="fbank dither (reproducible under --seed)", callback=bounded(0)
        ),
        overwrite: bool = typer.Option(False, help="replace conditions made with other settings"),
    ) -> None:
        """Corrupt every utterance of SRC for each --condition; write OUT_ROOT/<condition>/
        with the levels measured per utterance (utt2rt60, utt2kbps, utt2clipped, ...)."""
        from trnet.corrupt.conditions import corrupt_data_dir
        from trnet.errors import TrnetError
        from trnet.feats.fbank import FbankConfig
        from trnet.mix.conditions import FORMATS, MixOptions
        from trnet.mix.report import print_summary

        if fmt not in FORMATS:
            raise TrnetError(f"--format: {fmt!r} is not one of {', '.join(FORMATS)}")
        if nj < 1:
            raise TrnetError(f"--nj: must be at least 1, got {nj}")
        names = [c for arg in condition for c in arg.split()]
        if not names:
            raise TrnetError("--condition: give at least one corruption condition")
        opts = MixOptions(seed, "rms", fmt, feats, nj, FbankConfig(dither=dither), overwrite)
        print_summary(corrupt_data_dir(src, out_root, names, opts, rirs))
