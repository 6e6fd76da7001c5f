"""``trnet mix``: noisy copies of a data dir at given SNRs (and a clean copy), with fbank."""

from __future__ import annotations

from pathlib import Path

import typer
from typer.core import TyperCommand

from trnet.commands._shared import bounded, expand_multi_value


class SnrCommand(TyperCommand):
    """Lets ``--snr`` take several values in a row, as the recipe writes it."""

    def parse_args(self, ctx, args):  # noqa: ANN001, ANN201 (click's signature)
        return super().parse_args(ctx, expand_multi_value(list(args), "--snr"))


def register(app: typer.Typer) -> None:
    @app.command(cls=SnrCommand)
    def mix(
        src: Path = typer.Argument(..., help="source Kaldi data dir (e.g. data/iemocap)"),
        out_root: Path = typer.Argument(..., help="conditions go to OUT_ROOT/<condition>/"),
        noise: str = typer.Option(
            None, "--noise", help="noise-set name under --noise-root, or a noise-set dir"
        ),
        snr: list[str] = typer.Option(
            ..., "--snr", help="SNRs in dB and/or 'clean', e.g. --snr 20 15 10 5 0 clean"
        ),
        noise_root: Path = typer.Option(Path("data/noise"), help="where noise-set names resolve"),
        seed: int = typer.Option(0, help="global seed (clip, offset and dither per utterance)"),
        nj: int = typer.Option(2, help="parallel processes"),
        level: str = typer.Option(
            "rms",
            help="speech power for the SNR: rms (whole utterance) | active (frames "
            "within 40 dB of the loudest; pauses ignored)",
        ),
        fmt: str = typer.Option("ark", "--format", help="audio: ark (kaldiio, int16) | flac | wav"),
        feats: bool = typer.Option(True, "--feats/--no-feats", help="fbank for each condition"),
        dither: float = typer.Option(
            0.0, help="fbank dither (reproducible under --seed)", callback=bounded(0)
        ),
        overwrite: bool = typer.Option(False, help="replace conditions made with other settings"),
        force: bool = typer.Option(False, help="allow an SNR outside [-20, 60] dB"),
        from_splits: Path = typer.Option(
            None,
            help="mix nothing: assemble each condition from FROM_SPLITS/<k>/<condition>, "
            "made by `trnet mix` on the splits SRC/split<N>utt/<k> (utils/split_data.sh "
            "--per-utt) as array jobs; the merged scp files point into them",
        ),
    ) -> None:
        """Mix NOISE into every utterance of SRC at each --snr; write OUT_ROOT/<noise>_<snr>/."""
        from trnet.errors import TrnetError
        from trnet.feats.fbank import FbankConfig
        from trnet.mix.conditions import FORMATS, LEVELS, MixOptions, mix_data_dir, parse_snrs
        from trnet.mix.merge import merge_data_dir
        from trnet.mix.noiseset import NoiseSet, resolve_noise_dir
        from trnet.mix.report import print_summary

        snrs = parse_snrs(snr, force)
        if level not in LEVELS:
            raise TrnetError(f"--level: {level!r} is not one of {', '.join(LEVELS)}")
        if fmt not in FORMATS:
            raise TrnetError(f"--format: {fmt!r} is not one of {', '.join(FORMATS)}")
        if nj < 1:
            raise TrnetError(f"--nj: must be at least 1, got {nj}")
        noisy = any(s is not None for s in snrs)
        if noisy and not noise:
            raise TrnetError("--noise: required for a noisy condition (only 'clean' needs none)")
        noise_set = NoiseSet.load(resolve_noise_dir(noise, noise_root)) if noisy else None
        opts = MixOptions(seed, level, fmt, feats, nj, FbankConfig(dither=dither), overwrite)
        if from_splits is None:
            print_summary(mix_data_dir(src, out_root, noise_set, snrs, opts))
        else:
            print_summary(merge_data_dir(src, out_root, noise_set, snrs, opts, from_splits))
