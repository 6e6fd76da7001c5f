"""``trnet corrupt``: corruption conditions of a data dir (``rev-0.6``, ``mp3-24k``,
``tel8k``, ``clip-0.3``, ``loss-0.1``; :data:`trnet.contract.CORRUPTIONS`), written by
``trnet mix``'s machinery (:func:`trnet.mix.conditions.mix_condition`: workers, audio ark,
fbank in the same worker, ``.done`` signature, resumable) with a per-utterance transform in
place of the noise.

Each condition dir is a Kaldi data dir like a mixed one, with the levels measured on every
utterance by :mod:`trnet.corrupt` as ``utt2<level>`` tables (``utt2rt60``/``utt2drr``,
``utt2kbps``/``utt2delay``/``utt2sdr``, ``utt2sdr``/``utt2delay``, ``utt2clipped``,
``utt2lost``) and the corruption's kind and settings in ``corpus.json`` (key
``corruption``) and ``.done``.

What a level means here:

- ``rev-<rt60>``: each utterance reverberated with an RIR drawn (seeded per utterance)
  from those of an RIR index (``trnet rir-index``) whose measured RT60 is within
  :data:`RT60_TOLERANCE` of ``<rt60>`` s;
- ``mp3-<kbps>k`` / ``opus-<kbps>k``: libsndfile's compression level whose bitrate,
  measured on a fixed probe signal, is nearest ``<kbps>`` (within
  :data:`KBPS_TOLERANCE`); the bitrate of each utterance is measured again and written;
- ``tel8k`` / ``tel8k-ulaw``: the 8 kHz telephone band, without / with G.711 mu-law;
- ``clip-<t>``: clipped at ``t`` × the utterance's peak (``utt2clipped``: the fraction);
- ``loss-<rate>``: 20 ms packets dropped with probability ``rate`` (seeded per utterance).

Combinations (``rev-0.6+mp3-24k``, ``rev-0.6+musan_10``) are valid condition names, but
this command writes one corruption per condition.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from trnet.contract import Condition, Corruption, parse_condition, stable_seed
from trnet.corrupt.clip import clip
from trnet.corrupt.codec import CODECS, codec_round_trip, telephone
from trnet.corrupt.loss import packet_loss
from trnet.corrupt.rir import read_rir, reverberate
from trnet.corrupt.rir_index import RIR_JSON
from trnet.data.datadir import DataDir
from trnet.errors import TrnetError
from trnet.io import read_kv
from trnet.mix.conditions import MixOptions, Transformed, mix_condition
from trnet.stage import dir_digest

RT60_TOLERANCE = 0.15
"""``rev-<rt60>`` draws from the RIRs whose measured RT60 is within this share of it."""
KBPS_TOLERANCE = 0.25
"""``mp3-<kbps>k``: the nearest bitrate libsndfile reaches must be within this share."""
PROBE_SECONDS = 2.0


@dataclass(frozen=True)
class CorruptTransform:
    """One corruption applied to an utterance (picklable: it travels to the workers).
    ``param``: the codec's compression level, the clip threshold, the loss rate, 1 for
    mu-law; ``rirs``: the (path) candidates of ``rev``."""

    name: str
    kind: str
    param: float
    seed: int
    rirs: tuple[str, ...] = ()

    def __call__(self, utt: str, speech: np.ndarray) -> tuple[np.ndarray, dict[str, float]]:
        rng = np.random.default_rng(stable_seed(self.seed, utt, self.name))
        if self.kind == "rev":
            out = reverberate(speech, _rir(self.rirs[int(rng.integers(len(self.rirs)))]))
        elif self.kind in CODECS:
            out = codec_round_trip(speech, self.kind, self.param)
        elif self.kind == "tel8k":
            out = telephone(speech, mu_law=bool(self.param))
        elif self.kind == "clip":
            out = clip(speech, self.param)
        else:
            out = packet_loss(speech, self.param, rng)
        return out.wave, out.levels


@functools.lru_cache(maxsize=64)
def _rir(path: str):  # noqa: ANN202 (a Rir; cached per worker)
    return read_rir(path)


@functools.lru_cache(maxsize=32)
def compression_level_for(codec: str, kbps: float) -> tuple[float, float]:
    """(libsndfile compression level, bitrate it gives on the probe) nearest ``kbps`` over
    levels 0, 0.01, ..., 0.99; a user error when the nearest is off by more than
    :data:`KBPS_TOLERANCE`. The probe is seeded noise, so the choice is reproducible."""
    probe = np.random.default_rng(0).standard_normal(int(16000 * PROBE_SECONDS)) * 0.1
    probe = probe.astype(np.float32)
    best: tuple[float, float] | None = None
    for i in range(100):
        level = i / 100
        try:
            got = codec_round_trip(probe, codec, level).levels["kbps"]
        except TrnetError:
            continue  # a level this encoder refuses
        if best is None or abs(got - kbps) < abs(best[1] - kbps):
            best = (level, got)
    if best is None or abs(best[1] - kbps) > KBPS_TOLERANCE * kbps:
        near = f"; the nearest is {best[1]:.1f} kbps" if best else ""
        raise TrnetError(f"{codec}-{kbps:g}k: libsndfile reaches no such bitrate{near}")
    return best


def rir_candidates(rir_dir: Path, rt60: float) -> tuple[str, ...]:
    """The paths of the indexed RIRs whose measured RT60 is within the tolerance of
    ``rt60`` (sorted by id, so a draw by index is reproducible)."""
    rir_dir = Path(rir_dir)
    if not (rir_dir / RIR_JSON).is_file():
        raise TrnetError(
            f"{rir_dir}: not an RIR index (no {RIR_JSON}); make one with trnet rir-index"
        )
    wav = read_kv(rir_dir / "wav.scp")
    try:
        rt60s = {rid: float(v) for rid, v in read_kv(rir_dir / "rir2rt60").items()}
    except ValueError as err:
        raise TrnetError(f"{rir_dir}/rir2rt60: not a number: {err}") from None
    near = [rid for rid in sorted(rt60s) if abs(rt60s[rid] - rt60) <= RT60_TOLERANCE * rt60]
    picked = tuple(wav[rid] for rid in near if rid in wav)
    if not picked:
        raise TrnetError(
            f"{rir_dir}: no RIR with an RT60 within {RT60_TOLERANCE:.0%} of {rt60:g} s "
            f"(measured: {min(rt60s.values(), default=math.nan):.2f}.."
            f"{max(rt60s.values(), default=math.nan):.2f} s)"
        )
    return picked


def plan_condition(name: str, seed: int, rir_dir: Path | None = None) -> Transformed:
    """The transform and recorded settings of the condition ``name`` (one corruption)."""
    cond: Condition = parse_condition(name)
    if not cond.corrupted:
        raise TrnetError(f"{name!r}: not a corruption condition (trnet mix writes noise)")
    if len(cond.corruptions) > 1 or cond.noise != "clean":
        raise TrnetError(f"{name!r}: trnet corrupt writes one corruption per condition")
    c: Corruption = cond.corruptions[0]
    settings: dict = {"condition": cond.name, "kind": c.kind, "level": c.level}
    rirs: tuple[str, ...] = ()
    if c.kind == "rev":
        if rir_dir is None:
            raise TrnetError(f"{name}: --rirs (an index made by trnet rir-index) is required")
        rirs = rir_candidates(rir_dir, float(c.level))
        param = float(c.level)
        settings.update(
            rir_dir=str(Path(rir_dir).resolve()),
            rir_sha256=dir_digest(Path(rir_dir)),
            rt60_tolerance=RT60_TOLERANCE,
            rirs=len(rirs),
        )
    elif c.kind in CODECS:
        param, probe_kbps = compression_level_for(c.kind, float(c.level.removesuffix("k")))
        settings.update(compression_level=param, probe_kbps=round(probe_kbps, 3))
    elif c.kind == "tel8k":
        param = 1.0 if c.level == "ulaw" else 0.0
        settings["mu_law"] = bool(param)
    else:
        param = float(c.level)
    transform = CorruptTransform(cond.name, c.kind, param, seed, rirs)
    return Transformed(cond.name, transform, settings)


def corrupt_data_dir(
    src_dir: Path,
    out_root: Path,
    conditions: list[str],
    opts: MixOptions,
    rir_dir: Path | None = None,
) -> list[dict]:
    """Every condition of ``conditions`` (all checked first); summaries in the same order."""
    plans = [plan_condition(name, opts.seed, rir_dir) for name in conditions]
    src = DataDir.load(src_dir)
    return [mix_condition(src, out_root, None, None, opts, plan) for plan in plans]
