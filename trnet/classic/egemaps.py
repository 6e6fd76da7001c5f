"""openSMILE eGeMAPSv02 functionals (88 per utterance) of a condition's audio, cached.

The functionals of ``dump/<condition>/wav.scp`` are kept in ``dump/<condition>/egemaps.ark``
(+ ``.scp``): a later request computes only the utterances not cached yet and rewrites the
table atomically, under an exclusive lock (``.egemaps.lock``) so that folds trained at the
same time do not compute the same condition twice. The values of an utterance do not depend
on what else was computed, so the table is the same whatever the order of the requests.
"""

from __future__ import annotations

import fcntl
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np

from trnet.errors import TrnetError
from trnet.io import read_kv

N_FUNCTIONALS = 88
CACHE = "egemaps"
FEATURE_SET = "eGeMAPSv02"
FEATURE_LEVEL = "Functionals"
"""The openSMILE configuration of every functional trnet computes (training, decoding,
model packages): :func:`smile_settings` says it, :func:`check_settings` checks a record of
it (a model package's ``functionals.json``) against it."""


def drop_cache(cond_dir: str | Path) -> None:
    """Remove a condition's cached functionals: its audio is being written again (mix or
    enhance), and functionals of the old audio must not survive a re-mix."""
    for name in (f"{CACHE}.ark", f"{CACHE}.scp"):
        (Path(cond_dir) / name).unlink(missing_ok=True)


def smile_extractor():  # noqa: ANN202 (opensmile.Smile; imported lazily, an optional dependency)
    try:
        import opensmile
    except ImportError:
        raise TrnetError(
            "eGeMAPS functionals (baseline_egemaps, the hybrids of model.functionals) need "
            "the opensmile package: pip install 'opensmile==2.6.0'"
        ) from None
    return opensmile.Smile(
        feature_set=getattr(opensmile.FeatureSet, FEATURE_SET),
        feature_level=getattr(opensmile.FeatureLevel, FEATURE_LEVEL),
    )


def smile_settings() -> dict:
    """What :func:`functionals_of` computes: the openSMILE feature set and level, the
    number of values, NaN → 0, the rate and the installed opensmile version (None without)."""
    import importlib.metadata

    from trnet.contract import SAMPLE_RATE

    try:
        version: str | None = importlib.metadata.version("opensmile")
    except importlib.metadata.PackageNotFoundError:
        version = None

    return {
        "feature_set": FEATURE_SET,
        "feature_level": FEATURE_LEVEL,
        "n": N_FUNCTIONALS,
        "nan": 0.0,
        "sample_rate": SAMPLE_RATE,
        "opensmile": version,
    }


def check_settings(record: object, path: str | Path) -> None:
    """Refuse a record of functionals settings (``path`` names it) that is not what
    :func:`functionals_of` computes: its values would be other features than the model's."""
    want = smile_settings()
    if not isinstance(record, dict):
        raise TrnetError(f"{path}: not a functionals settings object")
    for key in ("feature_set", "feature_level", "n", "nan", "sample_rate"):
        if record.get(key) != want[key]:
            raise TrnetError(
                f"{path}: functionals {key} {record.get(key)!r}, trnet computes {want[key]!r}"
            )


def functionals_of(wave: np.ndarray, sr: int, smile=None) -> np.ndarray:  # noqa: ANN001
    """The 88 eGeMAPSv02 functionals of one mono float32 signal. ``smile(signal, sr)``
    (``(channels, 88, 1)``) returns the values ``process_signal`` would put in a
    DataFrame, without building it (a few ms a call: 5 % of a 2 s window's functionals)."""
    smile = smile or smile_extractor()
    values = smile(np.asarray(wave, dtype=np.float32), sr)
    return np.nan_to_num(values[0, :, 0].astype(np.float32))


def condition_functionals(
    dump: str | Path, condition: str, utts: Iterable[str]
) -> dict[str, np.ndarray]:
    """utt → 88 functionals of ``dump/<condition>`` for every utt in ``utts`` (cached)."""
    from trnet.audio import read_audio
    from trnet.contract import SAMPLE_RATE
    from trnet.kaldi_io import read_vectors, write_vectors

    cond_dir = Path(dump) / condition
    wav_scp = cond_dir / "wav.scp"
    if not wav_scp.is_file():
        raise TrnetError(f"{wav_scp}: audio table not found (condition {condition!r})")
    wanted = list(dict.fromkeys(utts))
    ark, scp = cond_dir / f"{CACHE}.ark", cond_dir / f"{CACHE}.scp"
    with open(cond_dir / f".{CACHE}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        table = read_vectors(ark) if scp.is_file() and ark.is_file() else {}
        missing = [u for u in wanted if u not in table]
        if missing:
            audio = read_kv(wav_scp)
            absent = [u for u in missing if u not in audio]
            if absent:
                raise TrnetError(
                    f"{wav_scp}: no audio for {len(absent)} utterances ({absent[0]} ...)"
                )
            smile = smile_extractor()
            for utt in missing:
                table[utt] = functionals_of(read_audio(audio[utt]), SAMPLE_RATE, smile)
            write_vectors(ark, scp, table)
    return {u: table[u] for u in wanted}


def example_functionals(dump: Path, examples: Sequence[tuple[str, str]]) -> np.ndarray:
    """(N, 88) functionals of (utt, condition) examples, in order (float64)."""
    by_cond: dict[str, list[str]] = {}
    for utt, cond in examples:
        by_cond.setdefault(cond, []).append(utt)
    table = {c: condition_functionals(dump, c, utts) for c, utts in sorted(by_cond.items())}
    return np.stack([table[c][u] for u, c in examples]).astype(np.float64)
