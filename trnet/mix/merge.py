"""``trnet mix --from-splits``: each condition assembled from the same condition mixed by
array jobs over the splits of its source (``utils/split_data.sh --per-utt DATA N`` →
``DATA/split<N>utt/<k>``, job k: ``trnet mix DATA/split<N>utt/<k> SPLITS/<k> ...``).

Nothing is mixed again. A mixed utterance depends on the seed and its own id only (noise
drawn by :func:`trnet.contract.stable_seed`, fbank dither by ``utt_feats_seed``), so the
parts hold, per utterance, the waveform and matrix that one job writes; the merged
``wav.scp``/``feats.scp`` point into the parts' arks (as Kaldi's ``combine_data.sh``: keep
``SPLITS``), and the global CMVN is accumulated again over the merged features in Kaldi
order, so ``cmvn.ark`` is the one job's, byte for byte. ``mix_summary.json``'s SNR mean is
the utterance-weighted mean of the parts' means (equal to one job's up to rounding).
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from trnet.contract import SAMPLE_RATE
from trnet.data.datadir import DataDir, kaldi_sorted
from trnet.data.splits import split_dirs
from trnet.errors import TrnetError
from trnet.feats.extract import FEATS_MARKER, feats_marker, merge_features
from trnet.io import atomic_write, read_kv, write_kv
from trnet.mix.conditions import MixOptions, _write_datadir, condition_of, settings
from trnet.mix.noiseset import NoiseSet
from trnet.stage import DONE_RECORD, claim, finish, lock

SOURCE_KEYS = ("source", "source_sha256")
"""What the parts' signatures may differ in from the merged one: each names its split."""


@dataclass
class Part:
    """One split's condition dir, checked: its tables, skipped utterances and summary."""

    path: Path
    data: DataDir
    skipped: dict[str, str]
    summary: dict


def _json(path: Path) -> object:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as err:
        raise TrnetError(f"{path}: unreadable ({type(err).__name__})") from None


def load_part(path: Path, wanted: dict, opts: MixOptions) -> Part:
    """A finished part mixed with the settings of ``wanted`` (its source aside)."""
    if not (path / DONE_RECORD.done).is_file():
        raise TrnetError(f"{path}: not complete (no .done: its split job failed or did not run)")
    done = _json(path / DONE_RECORD.done)
    if not isinstance(done, dict):
        raise TrnetError(f"{path / DONE_RECORD.done}: not a settings record")
    for key, value in wanted.items():
        if key not in SOURCE_KEYS and done.get(key) != value:
            raise TrnetError(
                f"{path / DONE_RECORD.done}: mixed with {key} {done.get(key)!r}, "
                f"this merge asks for {value!r}"
            )
    if opts.feats and _json_or_none(path / FEATS_MARKER) != feats_marker(opts.fbank, opts.seed):
        raise TrnetError(f"{path / FEATS_MARKER}: no features made with these fbank settings")
    summary = _json(path / "mix_summary.json")
    if not isinstance(summary, dict):
        raise TrnetError(f"{path / 'mix_summary.json'}: not a summary")
    skipped = read_kv(path / "skipped") if (path / "skipped").is_file() else {}
    return Part(path, DataDir.load(path), skipped, summary)


def _json_or_none(path: Path) -> object:
    return _json(path) if path.is_file() else None


def check_cover(src: DataDir, parts: list[Part]) -> None:
    """The parts hold every utterance of ``src`` once (kept or skipped), made from its audio."""
    seen: dict[str, Path] = {}
    wav = src["wav.scp"]
    for part in parts:
        clean = part.data["utt2clean"]
        for utt in [*part.data.utts, *part.skipped]:
            if utt in seen:
                raise TrnetError(f"{part.path}: utterance {utt!r} is also in {seen[utt]}")
            if utt not in wav:
                raise TrnetError(f"{part.path}: utterance {utt!r} is not in {src.path}")
            if utt in clean and clean[utt] != wav[utt]:
                raise TrnetError(
                    f"{part.path / 'utt2clean'}: {utt!r} was mixed from {clean[utt]!r}, "
                    f"{src.path}/wav.scp has {wav[utt]!r} (splits of another source?)"
                )
            seen[utt] = part.path
    missing = [utt for utt in src.utts if utt not in seen]
    if missing:
        raise TrnetError(
            f"{parts[0].path.parent.parent}: the splits lack {len(missing)} utterances of "
            f"{src.path} (e.g. {missing[0]!r}); split it with utils/split_data.sh --per-utt"
        )


def _union(parts: list[Part], name: str) -> dict[str, str]:
    table: dict[str, str] = {}
    for part in parts:
        if name in part.data:
            table.update(part.data[name])
    return table


def _mix_tables(parts: list[Part], noise: NoiseSet | None) -> dict[str, dict[str, str]]:
    """utt2snr, utt2noise and utt2gain as one job writes them (utt2gain only when some gain
    is below 1, then for every utterance; a part without one had gain 1 throughout)."""
    if noise is None:
        return {}
    gains: dict[str, str] = {}
    for part in parts:
        table = part.data["utt2gain"] if "utt2gain" in part.data else {}
        gains.update({utt: table.get(utt, "1.000000") for utt in part.data.utts})
    tables = {"utt2snr": _union(parts, "utt2snr"), "utt2noise": _union(parts, "utt2noise")}
    if any(g != "1.000000" for g in gains.values()):
        tables["utt2gain"] = gains
    return tables


def _summary(name: str, parts: list[Part], n_kept: int, n_skipped: int) -> dict:
    sums = [p.summary for p in parts]
    samples = sum(round(s["hours"] * 3600 * SAMPLE_RATE) for s in sums)
    noisy = [s for s in sums if s.get("snr_mean") is not None]
    weights = np.asarray([s["utterances"] for s in noisy], dtype=np.float64)
    means = np.asarray([s["snr_mean"] for s in noisy], dtype=np.float64)
    return {
        "condition": name,
        "utterances": n_kept,
        "skipped": n_skipped,
        "hours": samples / SAMPLE_RATE / 3600,
        "snr_mean": float((weights * means).sum() / weights.sum()) if noisy else None,
        "snr_min": min(s["snr_min"] for s in noisy) if noisy else None,
        "snr_max": max(s["snr_max"] for s in noisy) if noisy else None,
        "seconds": round(sum(s.get("seconds", 0.0) for s in sums), 2),
        "splits": len(parts),
    }


def merge_condition(
    src: DataDir,
    out_root: Path,
    noise: NoiseSet | None,
    snr: float | None,
    opts: MixOptions,
    splits: Path,
) -> dict:
    """``out_root/<condition>`` from ``splits/<k>/<condition>``, signed as one job signs it
    (a rerun of either skips it); skipped when complete."""
    name = condition_of(noise, snr)
    out_dir = Path(out_root) / name
    with lock(out_dir):
        wanted = settings(src, noise, snr, opts)
        if claim(out_dir, wanted, opts.overwrite):
            summary = json.loads((out_dir / "mix_summary.json").read_text())
            return {**summary, "status": "kept"}
        parts = [load_part(path, wanted, opts) for path in split_dirs(splits, name, "trnet mix")]
        check_cover(src, parts)
        (out_dir / FEATS_MARKER).unlink(missing_ok=True)
        kept = kaldi_sorted(utt for part in parts for utt in part.data.utts)
        skipped = {utt: why for part in parts for utt, why in part.skipped.items()}
        wav = _union(parts, "wav.scp")
        generated = noise is not None and noise.generated
        _write_datadir(src, out_dir, kept, wav, _mix_tables(parts, noise), generated)
        write_kv(out_dir / "skipped", skipped)
        if skipped:
            print(f"warning: {out_dir}: {len(skipped)} utterances skipped", file=sys.stderr)
        if opts.feats:
            marker = feats_marker(opts.fbank, opts.seed)
            merge_features(out_dir, [part.path for part in parts], kept, marker)
        summary = _summary(name, parts, len(kept), len(skipped))
        with atomic_write(out_dir / "mix_summary.json") as f:
            json.dump(summary, f, indent=1, sort_keys=True)
        finish(out_dir, wanted)
        return {**summary, "status": "merged"}


def merge_data_dir(
    src_dir: Path,
    out_root: Path,
    noise: NoiseSet | None,
    snrs: list[float | None],
    opts: MixOptions,
    splits: Path,
) -> list[dict]:
    """Every condition of ``snrs`` (``None`` = clean) merged; summaries in the same order."""
    src = DataDir.load(src_dir)
    return [
        merge_condition(src, out_root, noise if s is not None else None, s, opts, splits)
        for s in snrs
    ]
