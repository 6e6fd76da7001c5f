"""Decode dirs (``exp/<system>/decode/<condition>/fold<K>/``, docs/formats.md): writing
them (:func:`write_decode_dir`, every system kind's decode), reading and validating them.

A decode dir is scored only when its ``hyp`` and ``ref`` cover exactly the same
utterances with classes from ``classes``; anything else is a :class:`TrnetError` naming the
file, so a broken decode never turns silently into a score on a subset.
"""

from __future__ import annotations

import json
import math
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from trnet.contract import (
    CLASSES,
    CLEAN,
    CorpusInfo,
    condition_name,
    is_noise_generated,
    parse_condition,
    snr_value,
)
from trnet.data.datadir import DataDir, load_labels
from trnet.errors import TrnetError
from trnet.io import atomic_write, read_kv, write_kv
from trnet.scoring.metrics import confusion_matrix


@dataclass
class DecodeDir:
    """One scored test set: labels as class indices, aligned on ``utts`` (sorted)."""

    path: Path
    system: str
    fold: str
    noise: str
    snr: str
    classes: tuple[str, ...]
    utts: list[str]
    ref: np.ndarray
    hyp: np.ndarray
    info: dict = field(default_factory=dict)
    ref_size: int = 0
    corruption: str = ""
    """The corruption part of the condition (``rev-0.6`` of ``rev-0.6+musan_10``; ``""``:
    none); ``noise``/``snr`` are its noise part."""

    @property
    def condition(self) -> str:
        noise = condition_name(self.noise, self.snr)
        if not self.corruption:
            return noise
        return self.corruption if noise == CLEAN else f"{self.corruption}+{noise}"

    @property
    def corpus(self) -> str:
        return str(self.info.get("corpus", "-"))

    @property
    def generated(self) -> bool:
        return bool(self.info.get("generated", False))

    @property
    def noise_generated(self) -> bool:
        """Mixed with generated noise (info.json of decodes before this key: False)."""
        return bool(self.info.get("noise_generated", False))

    def confusion(self) -> np.ndarray:
        return confusion_matrix(self.ref, self.hyp, len(self.classes))

    def utt2s(self) -> dict[str, float] | None:
        """The SNR coefficient s per utterance, or None when the system has none."""
        path = self.path / "utt2s"
        if not path.is_file():
            return None
        try:
            return {utt: float(v) for utt, v in read_kv(path).items()}
        except ValueError as err:
            raise TrnetError(f"{path}: not a number: {err}") from None

    def embeddings(self) -> dict[str, np.ndarray] | None:
        """Utterance embeddings z from ``emb.scp``, or None when absent."""
        from trnet.kaldi_io import read_scp_vectors

        path = self.path / "emb.scp"
        return read_scp_vectors(path) if path.is_file() else None


def find_decode_dirs(root: str | os.PathLike) -> list[Path]:
    """``root`` itself when it holds ``hyp``, else every dir below it that does (sorted)."""
    root = Path(root)
    if not root.is_dir():
        raise TrnetError(f"{root}: not a directory")
    if (root / "hyp").is_file():
        return [root]
    found = sorted({p.parent for p in root.rglob("hyp") if p.is_file()})
    if not found:
        raise TrnetError(f"{root}: no decode dirs found (no 'hyp' file at any depth)")
    return found


def _read_info(path: Path) -> dict:
    info_path = path / "info.json"
    if not info_path.is_file():
        return {}
    try:
        info = json.loads(info_path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as err:
        raise TrnetError(f"{info_path}: invalid JSON: {err}") from None
    if not isinstance(info, dict):
        raise TrnetError(f"{info_path}: expected a JSON object")
    return info


def _identity(path: Path, info: dict) -> tuple[str, str, str, str, str]:
    """(system, fold, noise, snr, corruption) from info.json, falling back on the dir
    layout."""
    parts = path.resolve().parts
    system = info.get("system") or (
        parts[parts.index("decode") - 1] if "decode" in parts[1:] else path.parent.parent.name
    )
    fold = info.get("fold")
    if fold is None:
        match = re.fullmatch(r"fold(\w+)", path.name)
        fold = match.group(1) if match else path.name
    condition = info.get("condition") or path.parent.name
    if info.get("noise") is not None and info.get("snr") is not None:
        noise = str(info["noise"])
        snr = CLEAN if noise == CLEAN else _snr_text(info["snr"])
        return str(system), str(fold), noise, snr, str(info.get("corruption") or "")
    parsed = parse_condition(str(condition))
    return str(system), str(fold), parsed.noise, parsed.snr, parsed.corruption


def _snr_text(snr: object) -> str:
    if isinstance(snr, float) and snr.is_integer():
        return str(int(snr))
    return str(snr)


def _read_classes(path: Path) -> tuple[str, ...]:
    classes_path = path / "classes"
    if not classes_path.is_file():
        return CLASSES
    classes = tuple(line.strip() for line in classes_path.read_text().splitlines() if line.strip())
    if not classes:
        raise TrnetError(f"{classes_path}: no classes listed")
    return classes


def _encode(table: dict[str, str], utts: list[str], classes: tuple[str, ...], src: Path):
    index = {c: i for i, c in enumerate(classes)}
    out = np.empty(len(utts), dtype=np.int64)
    for i, utt in enumerate(utts):
        label = table[utt].split()[0]
        if label not in index:
            raise TrnetError(
                f"{src}: class {label!r} of {utt} not in classes ({' '.join(classes)})"
            )
        out[i] = index[label]
    return out


def _check_posteriors(path: Path, num_classes: int) -> None:
    """A ``posteriors`` file (when the dir has one) holds ``num_classes`` finite numbers per
    utterance: a NaN row means the hyp is the argmax of nothing (``ang`` by default), so the
    decode is refused rather than scored."""
    if not path.is_file():
        return
    for utt, value in read_kv(path).items():
        try:
            row = [float(v) for v in value.split()]
        except ValueError:
            row = []
        if len(row) != num_classes:
            raise TrnetError(f"{path}: {utt}: expected {num_classes} numbers, got {value!r}")
        if not all(math.isfinite(v) for v in row):
            raise TrnetError(f"{path}: {utt}: NaN or infinite posteriors ({value}); not scored")


def load_decode_dir(path: str | os.PathLike, allow_partial: bool = False) -> DecodeDir:
    """Read and check one decode dir (see module docstring for what is an error)."""
    path = Path(path)
    for name in ("hyp", "ref"):
        if not (path / name).is_file():
            raise TrnetError(f"{path / name}: file not found (not a decode dir)")
    ref = read_kv(path / "ref")
    hyp = read_kv(path / "hyp")
    if not ref:
        raise TrnetError(f"{path / 'ref'}: empty test set (no utterances)")
    extra = sorted(set(hyp) - set(ref))
    if extra:
        raise TrnetError(f"{path / 'hyp'}: {len(extra)} utterance(s) not in ref, e.g. {extra[0]}")
    missing = sorted(set(ref) - set(hyp))
    if missing and not allow_partial:
        raise TrnetError(
            f"{path / 'hyp'}: hyp covers {len(hyp)}/{len(ref)} utterances of ref; "
            f"missing e.g. {missing[0]} (--allow-partial scores the overlap)"
        )
    if not hyp:
        raise TrnetError(f"{path / 'hyp'}: empty test set (no hypotheses)")
    info = _read_info(path)
    system, fold, noise, snr, corruption = _identity(path, info)
    classes = _read_classes(path)
    _check_posteriors(path / "posteriors", len(classes))
    utts = sorted(hyp, key=lambda u: u.encode("utf-8"))
    return DecodeDir(
        path=path,
        system=system,
        fold=fold,
        noise=noise,
        snr=snr,
        classes=classes,
        utts=utts,
        ref=_encode(ref, utts, classes, path / "ref"),
        hyp=_encode(hyp, utts, classes, path / "hyp"),
        info=info,
        ref_size=len(ref),
        corruption=corruption,
    )


def load_all(roots: list[str | os.PathLike], allow_partial: bool = False) -> list[DecodeDir]:
    """Every decode dir under ``roots``; a (system, condition, fold) seen twice is an error."""
    dirs: list[DecodeDir] = []
    seen: dict[tuple[str, str, str], Path] = {}
    visited: set[Path] = set()
    for root in roots:
        for path in find_decode_dirs(root):
            if path.resolve() in visited:
                continue
            visited.add(path.resolve())
            d = load_decode_dir(path, allow_partial)
            key = (d.system, d.condition, d.fold)
            if key in seen:
                raise TrnetError(
                    f"{path}: same system/condition/fold {'/'.join(key)} as {seen[key]}"
                )
            seen[key] = path
            dirs.append(d)
    return dirs


# ---- writing (every system kind's decode) ------------------------------------------


def read_corpus_info(test_dir: Path) -> dict:
    return CorpusInfo.read_dict(test_dir)


def load_test(test_dir: Path, conditions: Sequence[str]) -> tuple[DataDir, dict[str, int], dict]:
    """The test data dir, its labels and corpus.json; every condition name checked first."""
    test = DataDir.load(test_dir)
    if not test.utts:
        raise TrnetError(f"{test_dir}: no test utterances")
    for condition in conditions:
        try:
            parse_condition(condition)
        except TrnetError as err:
            raise TrnetError(f"--conditions: {err}") from None
    return test, load_labels(test), read_corpus_info(test_dir)


def decode_info(system: str, fold: int, condition: str, corpus: dict, dump: Path) -> dict:
    """``info.json`` of a decode dir: ``generated`` from the test dir's ``corpus``,
    ``noise_generated`` from the condition's ``corpus.json`` in ``dump`` (the noise, not the
    speech, may be generated: a real corpus mixed with ``trnet make-corpus``'s noise)."""
    parsed = parse_condition(condition)
    info = {
        "system": system,
        "fold": fold,
        "condition": condition,
        "noise": parsed.noise,
        "snr": snr_value(parsed.snr),
        "corpus": corpus.get("corpus", "unknown"),
        "generated": bool(corpus.get("generated", False)),
        "noise_generated": is_noise_generated(Path(dump) / condition),
    }
    if parsed.corrupted:  # absent otherwise: the info.json of a noise decode as before
        info["corruption"] = parsed.corruption
    return info


def check_finite(posteriors: np.ndarray, utts: list[str], info: dict, dest: Path) -> None:
    """Refuse NaN or infinite posteriors (a diverged model): their argmax is the first
    class, a silent ``ang`` for every utterance that scoring would count."""
    import numpy as np

    bad = [u for u, ok in zip(utts, np.isfinite(posteriors).all(1), strict=True) if not ok]
    if bad:
        more = f" and {len(bad) - 1} more" if len(bad) > 1 else ""
        raise TrnetError(
            f"{info['system']} fold {info['fold']}: NaN or infinite posteriors for {bad[0]}"
            f"{more} ({info['condition']}); nothing written to {dest}"
        )


def write_decode_dir(
    dest: Path,
    utts: list[str],
    labels: dict[str, int],
    posteriors: np.ndarray,
    z: np.ndarray,
    s: np.ndarray | None,
    info: dict,
    mark_done: bool = True,
) -> None:
    """One decode dir (docs/formats.md): hyp = argmax of the posteriors; ``.done`` last
    unless ``mark_done`` is false (the caller then writes its signature there)."""
    from trnet.kaldi_io import write_vectors

    check_finite(posteriors, utts, info, dest)
    hyp = posteriors.argmax(1)
    dest.mkdir(parents=True, exist_ok=True)
    write_kv(dest / "hyp", {u: CLASSES[int(k)] for u, k in zip(utts, hyp, strict=True)})
    write_kv(dest / "ref", {u: CLASSES[labels[u]] for u in utts})
    with atomic_write(dest / "classes") as f:
        f.write("".join(f"{c}\n" for c in CLASSES))
    post = {u: " ".join(f"{p:.6f}" for p in row) for u, row in zip(utts, posteriors, strict=True)}
    write_kv(dest / "posteriors", post)
    if s is not None:
        write_kv(dest / "utt2s", {u: f"{v:.6f}" for u, v in zip(utts, s, strict=True)})
    write_vectors(dest / "emb.ark", dest / "emb.scp", dict(zip(utts, z, strict=True)))
    with atomic_write(dest / "info.json") as f:
        json.dump(info, f, indent=2)
        f.write("\n")
    if mark_done:
        with atomic_write(dest / ".done") as f:
            f.write(f"{len(utts)} utterances\n")
