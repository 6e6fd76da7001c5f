"""``trnet mix``: one noisy (or clean) copy of a data dir per condition, resumable.

A condition is ``clean`` or ``<noise-set>_<snr>``. Its folder is a Kaldi data dir holding
every usable utterance of the source with the labels copied, plus ``wav.scp`` (the new
audio), ``utt2snr``, ``utt2noise`` (``clip offset``), ``utt2gain`` (peak protection, only
when some gain < 1), ``utt2clean`` (the source wav.scp value), ``mix_summary.json``,
``skipped`` (utterances left out: empty, silent, or shorter than one fbank frame), and
``.done`` (settings; written last).
Features, when asked for, are computed in the same worker from the written int16 audio and
are byte-identical to what :func:`trnet.feats.extract.make_feats` writes later.

A condition that is not noise (``trnet corrupt``) goes through the same machinery with a
:class:`UttTransform` in place of the noise: each utterance's ``(wave, levels)`` from it,
the levels written as ``utt2<level>`` tables.
"""

from __future__ import annotations

import json
import math
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from trnet.audio import encode, read_audio, to_int16
from trnet.classic.egemaps import drop_cache
from trnet.contract import (
    CLEAN,
    CORPUS_JSON,
    SAMPLE_RATE,
    CorpusInfo,
    check_noise_name,
    format_condition,
    mark_noise_generated,
    stable_seed,
    utt_feats_seed,
    write_corpus_json,
)
from trnet.data.datadir import DataDir, check_id, confined
from trnet.errors import TrnetError
from trnet.feats.extract import FeatsWriter, feats_marker, make_feats
from trnet.feats.fbank import FbankConfig, TooShortError, compute_fbank
from trnet.io import atomic_write, write_kv
from trnet.kaldi_io import ArkWriter
from trnet.mix.mixing import mix_at_snr
from trnet.mix.noiseset import ClipDrawer, NoiseSet
from trnet.parallel import ordered_map
from trnet.stage import FORMAT_VERSION, claim, dir_digest, finish, lock

FORMATS = ("ark", "flac", "wav")
LEVELS = ("rms", "active")
DROPPED_TABLES = ("wav.scp", "feats.scp", "segments", "utt2num_frames")


SNR_RANGE = (-20.0, 60.0)
"""SNRs (dB) accepted without ``--force``: beyond them a mixture is noise or speech alone,
and int16 audio cannot hold the noise of a much higher SNR."""


def parse_snrs(values: list[str], force: bool = False) -> list[float | None]:
    """``["20", "0", "clean"]`` → ``[20.0, 0.0, None]``; anything else is a user error, as is
    an SNR outside :data:`SNR_RANGE` unless ``force``."""
    snrs: list[float | None] = []
    for value in values:
        if value == CLEAN:
            snrs.append(None)
            continue
        try:
            snr = float(value)
        except ValueError:
            snr = math.nan
        if not math.isfinite(snr):
            raise TrnetError(f"--snr: {value!r} is neither a number (dB) nor 'clean'")
        low, high = SNR_RANGE
        if not force and not low <= snr <= high:
            raise TrnetError(
                f"--snr: {value} dB is outside [{low:g}, {high:g}]; pass --force to mix it anyway"
            )
        snrs.append(snr)
    if not snrs:
        raise TrnetError("--snr: give at least one SNR (dB) or 'clean'")
    return snrs


def condition_of(noise: NoiseSet | None, snr: float | None) -> str:
    """The name of the condition ``trnet mix`` makes of ``noise`` at ``snr`` (``None``: clean)."""
    return format_condition(noise.name if noise else None, snr)


@dataclass
class MixOptions:
    seed: int = 0
    level: str = "rms"
    fmt: str = "ark"
    feats: bool = True
    nj: int = 1
    fbank: FbankConfig = field(default_factory=FbankConfig)
    overwrite: bool = False


UttTransform = Callable[[str, np.ndarray], tuple[np.ndarray, dict[str, float]]]
"""A condition other than noise: ``(utt, speech)`` → (the new float wave, its levels by
name). It must be picklable (it travels to the workers) and draw its randomness only from
its own settings and ``utt``, so any job split gives the same bytes."""


@dataclass(frozen=True)
class Transformed:
    """A condition made by an :data:`UttTransform`: its dir name, the transform and what
    ``.done`` and ``corpus.json`` record of it (``settings``, JSON-able)."""

    name: str
    transform: UttTransform
    settings: dict


@dataclass
class UttResult:
    utt: str
    samples: np.ndarray | None = None
    clip: str = ""
    offset: int = 0
    gain: float = 1.0
    snr: float = math.nan
    feats: np.ndarray | None = None
    skipped: str = ""
    unusable_clips: tuple[str, ...] = ()
    levels: dict[str, float] = field(default_factory=dict)


_JOB: dict = {}


def _init_job(
    noise: NoiseSet | None,
    snr: float | None,
    opts: MixOptions,
    transform: UttTransform | None = None,
) -> None:
    """A worker's state for one condition; its clip cache carries over to the next SNR."""
    drawer = _JOB.get("drawer")
    if noise is None:
        drawer = None
    elif drawer is None or drawer.noise != noise:
        drawer = ClipDrawer(noise)
    _JOB.update(drawer=drawer, snr=snr, opts=opts, transform=transform)


def _mix_one(item: tuple[str, str]) -> UttResult:
    """Mix (or copy) one utterance; features from the int16 samples that will be written."""
    utt, spec = item
    drawer: ClipDrawer | None = _JOB["drawer"]
    snr, opts = _JOB["snr"], _JOB["opts"]
    speech = read_audio(spec, allow_empty=True)
    if speech.size == 0 or not np.any(speech):
        return UttResult(utt, skipped="empty" if speech.size == 0 else "silent")
    transform: UttTransform | None = _JOB["transform"]
    if transform is not None:
        wave, levels = transform(utt, speech)
        result = UttResult(utt, samples=to_int16(wave), levels=levels)
    elif drawer is None:
        result = UttResult(utt, samples=to_int16(speech))
    else:
        rng = np.random.default_rng(stable_seed(opts.seed, utt, drawer.noise.name, f"{snr:g}"))
        clip, offset, noise = drawer.draw(rng, speech.size)
        mixture = mix_at_snr(speech, noise, snr, opts.level)
        result = UttResult(utt, mixture.samples, clip, offset, mixture.gain, mixture.snr)
        result.unusable_clips = tuple(sorted(drawer.unusable))
    if opts.feats:
        wave = result.samples.astype(np.float32) / 32768.0
        try:
            result.feats = compute_fbank(wave, opts.fbank, utt_feats_seed(opts.seed, utt))
        except TooShortError:
            return UttResult(utt, skipped="shorter than one frame")
    return result


class AudioWriter:
    """Mixed audio as one kaldiio ark (int16 wav entries) or one flac/wav file per utterance."""

    def __init__(self, out_dir: Path, fmt: str) -> None:
        self.out_dir, self.fmt = out_dir, fmt
        self.ark = ArkWriter(out_dir / "wav.ark") if fmt == "ark" else None
        self.scp: dict[str, str] = {}

    def add(self, utt: str, samples: np.ndarray, sr: int = SAMPLE_RATE) -> None:
        if self.ark is not None:
            self.ark.add_wav(utt, samples, sr)
            return
        path = confined(self.out_dir / "wav", f"{utt}.{self.fmt}")
        path.parent.mkdir(parents=True, exist_ok=True)
        data = encode(samples, sr, self.fmt.upper())
        with atomic_write(path, "wb") as f:
            f.write(data)
        self.scp[utt] = str(path)

    def close(self) -> dict[str, str]:
        if self.ark is not None:
            self.ark.close()
            return self.ark.scp
        return self.scp


def settings(src: DataDir, noise: NoiseSet | None, snr: float | None, opts: MixOptions) -> dict:
    """What ``.done`` records: everything that decides the condition (the source dir and
    noise set by path and content); a run with other settings needs ``--overwrite``."""
    return {
        "format_version": FORMAT_VERSION,
        "source": str(Path(src.path).resolve()) if src.path else None,
        "source_sha256": dir_digest(src.path) if src.path else None,
        "noise_dir": str(noise.path.resolve()) if noise else None,
        "noise_sha256": dir_digest(noise.path) if noise else None,
        "noise": noise.name if noise else None,
        "snr": snr,
        "seed": opts.seed,
        "level": opts.level,
        "format": opts.fmt,
    }


def mix_condition(
    src: DataDir,
    out_root: Path,
    noise: NoiseSet | None,
    snr: float | None,
    opts: MixOptions,
    transformed: Transformed | None = None,
) -> dict:
    """Write one condition (skipping it when ``.done`` says it is complete); its summary.
    With ``transformed`` (and no noise), the condition it makes."""
    name = transformed.name if transformed else condition_of(noise, snr)
    out_dir = confined(out_root, name)
    with lock(out_dir):
        return _mix_locked(src, out_dir, noise, snr, opts, transformed)


def _mix_locked(
    src: DataDir,
    out_dir: Path,
    noise: NoiseSet | None,
    snr: float | None,
    opts: MixOptions,
    transformed: Transformed | None = None,
) -> dict:
    wanted = settings(src, noise, snr, opts)
    if transformed is not None:
        wanted["corruption"] = transformed.settings
    if claim(out_dir, wanted, opts.overwrite):
        if opts.feats:
            make_feats(out_dir, opts.nj, opts.fbank, opts.seed)
        summary = json.loads((out_dir / "mix_summary.json").read_text())
        return {**summary, "status": "kept"}
    start = time.perf_counter()
    summary = _run_condition(src, out_dir, noise, snr, opts, transformed)
    summary["seconds"] = round(time.perf_counter() - start, 2)
    with atomic_write(out_dir / "mix_summary.json") as f:
        json.dump(summary, f, indent=1, sort_keys=True)
    finish(out_dir, wanted)
    return {**summary, "status": "new"}


def _run_condition(
    src: DataDir,
    out_dir: Path,
    noise: NoiseSet | None,
    snr: float | None,
    opts: MixOptions,
    transformed: Transformed | None = None,
) -> dict:
    if "segments" in src:
        raise TrnetError(f"{src.path}: segments are not supported by trnet mix (one file per utt)")
    wav_scp = src["wav.scp"]
    items = [(utt, wav_scp[utt]) for utt in src.utts if utt in wav_scp]
    if len(items) < len(src.utts):
        raise TrnetError(
            f"{src.path}/wav.scp: no audio for {len(src.utts) - len(items)} utterances"
        )
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / ".feats.done").unlink(missing_ok=True)
    drop_cache(out_dir)  # functionals of the audio written before
    audio = AudioWriter(out_dir, opts.fmt)
    feats = FeatsWriter(out_dir, feats_marker(opts.fbank, opts.seed)) if opts.feats else None
    tables: dict[str, dict[str, str]] = {"utt2snr": {}, "utt2noise": {}, "utt2gain": {}}
    skipped: dict[str, str] = {}
    unusable: set[str] = set()
    realised: list[float] = []
    samples_total = 0
    transform = transformed.transform if transformed else None
    results = ordered_map(
        _mix_one, items, opts.nj, _init_job, (noise, snr, opts, transform), out_dir.name
    )
    levels: dict[str, dict[str, str]] = {}
    for res in results:
        if res.skipped:
            skipped[res.utt] = res.skipped
            continue
        audio.add(res.utt, res.samples)
        samples_total += res.samples.size
        if feats is not None:
            feats.add(res.utt, res.feats)
        if noise is not None:
            tables["utt2snr"][res.utt] = f"{snr:g}"
            tables["utt2noise"][res.utt] = f"{res.clip} {res.offset}"
            tables["utt2gain"][res.utt] = f"{res.gain:.6f}"
            realised.append(res.snr)
            _warn_new(unusable, res.unusable_clips, noise)
        for level, value in res.levels.items():  # repr: the float exactly, read back
            levels.setdefault(f"utt2{level}", {})[res.utt] = repr(float(value))
    kept = [utt for utt, _ in items if utt not in skipped]
    if not kept:
        raise TrnetError(f"{src.path}: every utterance is empty or silent")
    wav_out = audio.close()
    if noise is None or all(g == "1.000000" for g in tables["utt2gain"].values()):
        tables.pop("utt2gain")
    if noise is None:
        del tables["utt2snr"], tables["utt2noise"]
    tables.update(levels)
    _write_datadir(src, out_dir, kept, wav_out, tables, noise is not None and noise.generated)
    if transformed is not None:
        meta = CorpusInfo.read_dict(out_dir) if (out_dir / CORPUS_JSON).is_file() else {}
        write_corpus_json(out_dir, {**meta, "corruption": transformed.settings})
    write_kv(out_dir / "skipped", skipped)
    if skipped:
        print(
            f"warning: {out_dir}: skipped {len(skipped)} empty, silent or too short utterances "
            f"(listed in {out_dir / 'skipped'})",
            file=sys.stderr,
        )
    if feats is not None:
        feats.close()
    summary = _summary(out_dir.name, len(kept), len(skipped), samples_total, realised)
    if levels:
        summary["levels_mean"] = {
            name[len("utt2") :]: float(np.mean([float(v) for v in table.values()]))
            for name, table in sorted(levels.items())
        }
    return summary


def _warn_new(seen: set[str], clips: tuple[str, ...], noise: NoiseSet) -> None:
    for clip in clips:
        if clip not in seen:
            seen.add(clip)
            print(f"warning: {noise.path}: clip {clip!r} is silent; not used", file=sys.stderr)


def _write_datadir(
    src: DataDir,
    out_dir: Path,
    kept: list[str],
    wav: dict[str, str],
    tables: dict,
    noise_generated: bool = False,
) -> None:
    """The condition's tables and the source's carried files; with generated noise,
    ``corpus.json`` also says ``noise_generated: true``."""
    data = src.subset(kept)
    for name in DROPPED_TABLES:
        data.tables.pop(name, None)
    data.tables["wav.scp"] = wav
    data.tables["utt2clean"] = {utt: src["wav.scp"][utt] for utt in kept}
    data.tables.update(tables)
    data.write(out_dir)
    src.copy_carried_files(out_dir)
    if noise_generated:
        mark_noise_generated(out_dir)


def _summary(name: str, n_utts: int, n_skipped: int, samples: int, realised: list[float]) -> dict:
    snr = np.asarray(realised, dtype=np.float64)
    return {
        "condition": name,
        "utterances": n_utts,
        "skipped": n_skipped,
        "hours": samples / SAMPLE_RATE / 3600,
        "snr_mean": float(snr.mean()) if snr.size else None,
        "snr_min": float(snr.min()) if snr.size else None,
        "snr_max": float(snr.max()) if snr.size else None,
    }


def mix_data_dir(
    src_dir: Path,
    out_root: Path,
    noise: NoiseSet | None,
    snrs: list[float | None],
    opts: MixOptions,
) -> list[dict]:
    """Every condition of ``snrs`` (``None`` = clean); summaries in the same order."""
    src = DataDir.load(src_dir)
    if noise is not None:  # it names the condition dirs
        check_id(noise.name, noise.path, "noise-set name")
        check_noise_name(noise.name, str(noise.path))
    if noise is not None and noise.skipped:
        print(
            f"warning: {noise.path}: {len(noise.skipped)} zero-length clips not used "
            f"({', '.join(noise.skipped[:5])})",
            file=sys.stderr,
        )
    return [mix_condition(src, out_root, noise if s is not None else None, s, opts) for s in snrs]
