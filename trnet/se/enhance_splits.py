"""``trnet enhance`` as N array jobs, then merged: what one job writes.

Job K (``--split K/N --split-root SPLITS``) enhances, for each condition, the one job's
length-sorted batches that it is dealt (every N-th from the K-th,
:func:`trnet.se.enhance.split_batches`) into the part ``SPLITS/<K>/<condition>_enh`` (a data
dir of those utterances, with their audio and fbank). Splitting by batch, not by
utterance, is what keeps each utterance's output the one job's: the SE model sees the
zero-padded batch (CMGAN attends over it) and even a CRN's float output differs in its last
bits with the batch's shape, which the int16 rounding can show.

The merge (``--from-splits SPLITS``) writes ``<condition>_enh`` as one job does: the source's
tables, ``wav.scp``/``feats.scp`` pointing into the parts' arks (keep ``SPLITS``), the global
CMVN accumulated again over the merged features in Kaldi order (byte for byte the one job's),
and the one job's ``.done`` (a one-job rerun skips it, and the other way round).
"""

from __future__ import annotations

from pathlib import Path

import torch

from trnet.data.datadir import DataDir
from trnet.data.splits import split_dirs
from trnet.errors import TrnetError
from trnet.feats.extract import FEATS_MARKER, feats_marker, merge_features
from trnet.feats.fbank import FbankConfig
from trnet.io import file_sha256, read_kv
from trnet.se.enhance import DROPPED_TABLES, enhance_condition, split_batches
from trnet.se.enhancer import Enhancer
from trnet.stage import DONE_RECORD, claim, finish, lock


def part_signature(settings: dict, src: Path, batch_size: int, split: tuple[int, int]) -> dict:
    """A part's ``.done``: the one job's settings, the batch size and split that decide its
    utterances, and the source condition it was enhanced from (its ``.done``'s digest)."""
    return {
        **settings,
        "batch_size": batch_size,
        "split": list(split),
        "source": str(src),
        "source_sha256": file_sha256(src / DONE_RECORD.done),
    }


def is_complete(dst: Path, settings: dict) -> bool:
    """Whether ``dst`` is complete for ``settings`` (nothing is changed either way)."""
    return (dst / DONE_RECORD.done).is_file() and DONE_RECORD.read(dst) == settings


def enhance_part(
    model: Enhancer,
    settings: dict,
    src: Path,
    dst: Path,
    split_root: Path,
    split: tuple[int, int],
    batch_size: int,
    nj: int,
    dither: float,
    seed: int,
    device: torch.device,
    overwrite: bool,
) -> tuple[Path, str]:
    """Job K's part of ``src`` → ``split_root/<K>/<dst.name>``; nothing when ``dst`` (the
    merged dir) is complete already. Returns the dir written or kept, and the status."""
    if is_complete(dst, settings):
        return dst, "skipped"
    part = Path(split_root) / str(split[0]) / dst.name
    signature = part_signature(settings, src, batch_size, split)
    if split_batches(DataDir.load(src), batch_size, split):
        status = enhance_condition(
            model, signature, src, part, batch_size, nj, dither, seed, device, overwrite, split
        )
        return part, status
    with lock(part):  # more jobs than batches: this job's part holds no utterance
        if claim(part, signature, overwrite):
            return part, "skipped"
        finish(part, signature)
    return part, "written (no batch)"


def _check_part(part: Path, expected: dict, utts: list[str]) -> bool:
    """A part finished with the ``expected`` signature, holding ``utts``; whether it has any."""
    done = DONE_RECORD.read(part)
    if not (part / DONE_RECORD.done).is_file() or done is None:
        raise TrnetError(f"{part}: not complete (no .done: its split job failed or did not run)")
    if not isinstance(done, dict):
        raise TrnetError(f"{part / DONE_RECORD.done}: not a settings record")
    for key, value in expected.items():
        if done.get(key) != value:
            raise TrnetError(
                f"{part / DONE_RECORD.done}: enhanced with {key} {done.get(key)!r}, this merge "
                f"asks for {value!r} (rerun its split job)"
            )
    if not utts:
        return False
    have = set(read_kv(part / "wav.scp")) if (part / "wav.scp").is_file() else set()
    if have != set(utts) or not (part / FEATS_MARKER).is_file():
        raise TrnetError(f"{part}: does not hold the {len(utts)} utterances of its batches")
    return True


def merge_condition(
    settings: dict,
    src: Path,
    dst: Path,
    splits: Path,
    batch_size: int,
    dither: float,
    seed: int,
    overwrite: bool,
) -> str:
    """``dst`` from the parts ``splits/<k>/<dst.name>``, signed as one job signs it;
    ``"skipped"`` when complete, else ``"merged"``."""
    with lock(dst):
        if claim(dst, settings, overwrite):
            return "skipped"
        data = DataDir.load(src)
        parts = split_dirs(splits, dst.name, "trnet enhance --split K/N")
        n = len(parts)
        full = []
        for k, part in enumerate(parts, start=1):
            utts = [u for batch in split_batches(data, batch_size, (k, n)) for u in batch]
            if _check_part(part, part_signature(settings, src, batch_size, (k, n)), utts):
                full.append(part)
        dst.mkdir(parents=True, exist_ok=True)
        (dst / FEATS_MARKER).unlink(missing_ok=True)
        wav = {u: v for part in full for u, v in read_kv(part / "wav.scp").items()}
        for name in DROPPED_TABLES:
            data.tables.pop(name, None)
        data.tables["wav.scp"] = wav
        data.write(dst)
        data.copy_carried_files(dst)
        marker = feats_marker(FbankConfig(dither=dither), seed)
        merge_features(dst, full, data.utts, marker)
        finish(dst, settings)
    return "merged"
