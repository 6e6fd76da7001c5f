"""Feature extraction into a data dir (``feats.ark``/``feats.scp``), and global CMVN.

Workers (:func:`trnet.parallel.ordered_map`) only compute; the parent writes every entry in
Kaldi (sorted) utterance order into one ark, so the bytes written do not depend on ``nj``.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import numpy as np

from trnet.contract import utt_feats_seed
from trnet.errors import TrnetError
from trnet.feats.fbank import FbankConfig, TooShortError, compute_fbank
from trnet.io import atomic_write, read_kv, write_kv
from trnet.kaldi_io import ArkWriter
from trnet.parallel import ordered_map
from trnet.stage import Record, claim, finish, lock

FEATS_MARKER = ".feats.done"
FEATS_RECORD = Record(file=FEATS_MARKER, done=FEATS_MARKER)
"""The feature settings are the json of ``.feats.done``, written last."""


class FeatsWriter:
    """Writes ``feats.ark``/``feats.scp``, ``utt2num_frames``, ``cmvn.ark`` and the marker."""

    def __init__(self, data_dir: Path, marker: dict) -> None:
        self.data_dir = Path(data_dir)
        self.marker = marker
        self.ark = ArkWriter(self.data_dir / "feats.ark")
        self.num_frames: dict[str, int] = {}
        self.stats: np.ndarray | None = None

    def add(self, utt: str, feats: np.ndarray) -> None:
        """Append one utterance; a NaN or infinite value is refused (it would reach every
        later stage: training, decoding, scoring), naming the ark and the utterance."""
        if not np.isfinite(feats).all():
            raise TrnetError(
                f"{self.ark.path}: {utt}: NaN or infinite feature values, not written "
                "(the audio or the fbank options?)"
            )
        self.ark.add(utt, feats)
        self.num_frames[utt] = int(feats.shape[0])
        self.stats = accumulate_cmvn(self.stats, feats)

    def close(self) -> None:
        """Finish the ark, then the tables, CMVN and (last) the marker."""
        self.ark.close()
        write_kv(self.data_dir / "feats.scp", self.ark.scp)
        write_kv(self.data_dir / "utt2num_frames", self.num_frames)
        if self.stats is None:
            raise TrnetError(f"{self.data_dir}: no utterance to compute features for")
        write_cmvn(self.data_dir, self.stats)
        finish(self.data_dir, self.marker, FEATS_RECORD)


def accumulate_cmvn(stats: np.ndarray | None, feats: np.ndarray) -> np.ndarray:
    """Kaldi's global CMVN stats (row 0: sums and the frame count, row 1: sums of squares)
    with one utterance added, in float64. The sums depend on the order utterances are added
    in: every writer adds them in Kaldi order, so one job and merged split jobs agree."""
    x = feats.astype(np.float64)
    if stats is None:
        stats = np.zeros((2, feats.shape[1] + 1), dtype=np.float64)
    stats[0, :-1] += x.sum(axis=0)
    stats[0, -1] += x.shape[0]
    stats[1, :-1] += (x**2).sum(axis=0)
    return stats


def write_cmvn(data_dir: Path, stats: np.ndarray) -> None:
    """``data_dir/cmvn.ark``: the stats as one entry ``global``."""
    import kaldiio

    with atomic_write(Path(data_dir) / "cmvn.ark", "wb") as f:
        kaldiio.save_ark(f, {"global": stats})


def merge_features(out_dir: Path, parts: list[Path], utts: list[str], marker: dict) -> None:
    """``out_dir``'s features assembled from the data dirs ``parts`` (array jobs' outputs):
    ``feats.scp`` pointing into their arks, ``utt2num_frames``, ``cmvn.ark`` accumulated
    again over ``utts`` in Kaldi order (one job's stats, byte for byte) and the marker."""
    from trnet.data.datadir import kaldi_sorted
    from trnet.kaldi_io import read_matrix

    feats: dict[str, str] = {}
    frames: dict[str, str] = {}
    owner: dict[str, Path] = {}
    for part in parts:
        scp = read_kv(part / "feats.scp")
        feats.update(scp)
        frames.update(read_kv(part / "utt2num_frames"))
        owner.update(dict.fromkeys(scp, part))
    kept = kaldi_sorted(utts)
    missing = [utt for utt in kept if utt not in feats or utt not in frames]
    if missing:
        raise TrnetError(f"{out_dir}: no features of {missing[0]!r} in the split outputs")
    stats = None
    for utt in kept:
        x = read_matrix(owner[utt] / "feats.scp", utt, feats[utt], int(frames[utt]))
        stats = accumulate_cmvn(stats, x)
    if stats is None:
        raise TrnetError(f"{out_dir}: no utterance to compute features for")
    write_kv(out_dir / "feats.scp", {utt: feats[utt] for utt in kept})
    write_kv(out_dir / "utt2num_frames", {utt: frames[utt] for utt in kept})
    write_cmvn(out_dir, stats)
    finish(out_dir, marker, FEATS_RECORD)


def feats_marker(conf: FbankConfig, seed: int) -> dict:
    """What a finished feature extraction records, and what a resumed one compares against."""
    return {"fbank": conf.as_dict(), "seed": seed}


def feats_complete(data_dir: Path, conf: FbankConfig, seed: int) -> bool:
    """Whether ``data_dir`` holds features made with these settings; if not, the marker goes
    (features made otherwise are always recomputed)."""
    return claim(data_dir, feats_marker(conf, seed), True, FEATS_RECORD)


_JOB: dict = {}


def _init_feats(conf: FbankConfig, seed: int) -> None:
    _JOB.update(conf=conf, seed=seed)


def _feats_one(item: tuple[str, str]) -> tuple[str, np.ndarray]:
    from trnet.audio import read_audio

    utt, spec = item
    wave = read_audio(spec, _JOB["conf"].sample_frequency)
    try:
        return utt, compute_fbank(wave, _JOB["conf"], utt_feats_seed(_JOB["seed"], utt))
    except TooShortError as err:
        hint = "drop it with trnet data subset"
        raise TrnetError(f"{spec}: {err} (utterance {utt}; {hint})") from None


def make_feats(data_dir: Path, nj: int = 1, conf: FbankConfig | None = None, seed: int = 0) -> None:
    """Fbank of every utterance of ``data_dir/wav.scp`` into ``feats.scp``/``feats.ark``,
    ``utt2num_frames`` and global ``cmvn.ark``; skips when a marker with these settings exists."""
    from trnet.data.datadir import kaldi_sorted

    data_dir = Path(data_dir)
    conf = conf or FbankConfig()
    if not (data_dir / "wav.scp").is_file():
        raise TrnetError(f"{data_dir / 'wav.scp'}: file not found")
    with lock(data_dir):
        if feats_complete(data_dir, conf, seed):
            return
        wav_scp = read_kv(data_dir / "wav.scp")
        items = [(utt, wav_scp[utt]) for utt in kaldi_sorted(wav_scp)]
        results = ordered_map(
            _feats_one, items, nj, _init_feats, (conf, seed), f"fbank {data_dir.name}"
        )
        write_features(data_dir, results, feats_marker(conf, seed))


def write_features(data_dir: Path, results: Iterable[tuple[str, np.ndarray]], marker: dict) -> None:
    """Write ``(utt, feats)`` pairs (in Kaldi order) with a :class:`FeatsWriter`."""
    (data_dir / FEATS_MARKER).unlink(missing_ok=True)
    writer = FeatsWriter(data_dir, marker)
    try:
        for utt, feats in results:
            writer.add(utt, feats)
    except BaseException:
        writer.ark.abort()
        raise
    writer.close()
