"""Running the frozen SE model over condition dirs: ``<condition>/`` → ``<condition>_enh/``.

The enhanced dir keeps the utterance ids and every label table of its source (utt2emo,
utt2snr, utt2noise, utt2clean, utt2gain...), gets a new ``wav.scp`` (one kaldiio ark of
int16 wav entries, as the mixer writes) and fbank features (:func:`make_feats`, ``nj``
workers). On CPU, length-sorted batches are enhanced by ``nj`` worker processes of one
thread each; on a GPU, in this process. ``.done`` (the settings, as JSON: the model's
sha256 and the source condition's digest among them) is written last; a complete dir with
the same settings is skipped.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import torch

from trnet.audio import read_audio, to_int16
from trnet.contract import ENH_SUFFIX, SAMPLE_RATE, unenhanced
from trnet.data.datadir import DataDir, check_id
from trnet.errors import TrnetError
from trnet.feats.fbank import FbankConfig
from trnet.se.enhancer import Enhancer
from trnet.stage import claim, finish, input_digest, lock

DROPPED_TABLES = ("wav.scp", "feats.scp", "segments", "utt2num_frames")
"""Tables of the source that describe its audio/features, not the utterance."""


def model_digest(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()[:16]


def _batches(data: DataDir, batch_size: int) -> Iterator[list[str]]:
    """Utterance ids in batches of similar length (longest first; ties by id)."""
    dur = data.tables.get("utt2dur", {})
    utts = sorted(data.utts, key=lambda u: (-float(dur.get(u, 0.0)), u.encode()))
    for i in range(0, len(utts), batch_size):
        yield utts[i : i + batch_size]


@torch.no_grad()
def enhance_batch(
    model: Enhancer, waves: list[np.ndarray], device: torch.device
) -> list[np.ndarray]:
    """Enhance variable-length float audio in one zero-padded batch."""
    lengths = torch.tensor([len(w) for w in waves])
    batch = torch.zeros(len(waves), int(lengths.max()))
    for i, w in enumerate(waves):
        batch[i, : len(w)] = torch.from_numpy(w)
    out = model.enhance(batch.to(device), lengths.to(device)).cpu().numpy()
    return [out[i, : len(w)] for i, w in enumerate(waves)]


_JOB: dict = {}


def _init_enhance(model: Enhancer, device: torch.device) -> None:
    _JOB.update(model=model, device=device)


def _enhance_items(items: list[tuple[str, str]]) -> list[tuple[str, np.ndarray]]:
    """One batch ``[(utt, wav.scp value)]`` → ``[(utt, enhanced int16 audio)]``."""
    outs = enhance_batch(_JOB["model"], [read_audio(spec) for _, spec in items], _JOB["device"])
    return [(utt, to_int16(out)) for (utt, _), out in zip(items, outs, strict=True)]


def enhance_condition(
    model: Enhancer,
    settings: dict,
    src: Path,
    dst: Path,
    batch_size: int = 8,
    nj: int = 1,
    dither: float = 0.0,
    seed: int = 0,
    device: torch.device | None = None,
    overwrite: bool = False,
    split: tuple[int, int] | None = None,
) -> str:
    """Write ``dst`` from ``src``; returns ``"skipped"`` or ``"written"``. With ``split``
    (job K of N), only the utterances of the one job's batches that job K is dealt
    (:func:`split_batches`; ``dst`` is then a part, see :mod:`trnet.se.enhance_splits`)."""
    with lock(dst):
        if claim(dst, settings, overwrite):
            return "skipped"
        _enhance_into(src, dst, model, settings, batch_size, nj, dither, seed, device, split)
    return "written"


def split_batches(data: DataDir, batch_size: int, split: tuple[int, int] | None) -> list[list[str]]:
    """The one job's batches, or those job K of N is dealt (every N-th from the K-th): an
    enhanced utterance depends on the batch it is padded into, so split jobs enhance exactly
    the one job's batches."""
    from trnet.data.splits import share

    batches = list(_batches(data, batch_size))
    return batches if split is None else share(batches, *split)


def _enhance_into(
    src: Path,
    dst: Path,
    model: Enhancer,
    settings: dict,
    batch_size: int,
    nj: int,
    dither: float,
    seed: int,
    device: torch.device | None,
    split: tuple[int, int] | None = None,
) -> None:
    from trnet.classic.egemaps import drop_cache
    from trnet.feats.extract import FEATS_MARKER, make_feats
    from trnet.kaldi_io import ArkWriter
    from trnet.parallel import ordered_map

    data = DataDir.load(src)
    wav = data["wav.scp"]
    device = device or torch.device("cpu")
    batches = [[(u, wav[u]) for u in utts] for utts in split_batches(data, batch_size, split)]
    if split is not None:
        data = data.subset(u for utts in batches for u, _ in utts)
    jobs = nj if device.type == "cpu" else 1
    dst.mkdir(parents=True, exist_ok=True)
    (dst / FEATS_MARKER).unlink(missing_ok=True)  # features of older audio must not survive
    drop_cache(dst)  # nor their eGeMAPS functionals
    audio = ArkWriter(dst / "wav.ark")
    try:
        for results in ordered_map(
            _enhance_items,
            batches,
            jobs,
            _init_enhance,
            (model, device),
            f"enhance {src.name} (batches)",
        ):
            for utt, samples in results:
                audio.add_wav(utt, samples, SAMPLE_RATE)
    except BaseException:
        audio.abort()
        raise
    audio.close()
    for name in DROPPED_TABLES:
        data.tables.pop(name, None)
    data.tables["wav.scp"] = audio.scp
    data.write(dst)
    data.copy_carried_files(dst)
    make_feats(dst, nj, FbankConfig(dither=dither), seed)
    finish(dst, settings)


def find_conditions(dump_root: Path, names: list[str] | None) -> list[str]:
    """The named conditions, or every complete (``.done``) condition dir without ``_enh``."""
    if names:
        for name in names:
            check_id(name, "--conditions", "condition")
            if not (dump_root / name / "wav.scp").is_file():
                raise TrnetError(f"{dump_root / name}: condition dir not found (no wav.scp)")
        return names
    found = [
        p.name
        for p in sorted(dump_root.iterdir())
        if p.is_dir() and not p.name.endswith(ENH_SUFFIX) and (p / ".done").is_file()
    ]
    if not found:
        raise TrnetError(f"{dump_root}: no condition dirs (run trnet mix first)")
    return found


def source_digest(src: Path) -> str | None:
    """What an enhanced dir's signature records of its source condition: the records of the
    stage that made it (:func:`trnet.stage.input_digest`; a condition re-mixed with another
    seed or noise is enhanced again), not its features (enhancing reads the audio)."""
    from trnet.feats.extract import FEATS_MARKER

    return input_digest(src, skip=(FEATS_MARKER,))


def enhanced_conditions(dump_root: Path) -> list[str]:
    """The conditions of ``dump_root`` whose enhanced twin is complete."""
    return [
        unenhanced(p.name)
        for p in sorted(dump_root.glob(f"*{ENH_SUFFIX}"))
        if (p / ".done").is_file()
    ]
