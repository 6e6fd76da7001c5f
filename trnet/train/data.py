"""Features, labels and examples for SER training and decoding.

An *example* is ``(utt, condition)``; what it loads depends on the config's input:
``noisy`` → ``dump/<condition>``, ``enhanced`` → ``dump/<condition>_enh``, ``blend`` →
both; systems with ``alpha > 0`` also load the clean twin (``dump/clean``) as the target
of the low-level loss. Every utterance is padded by repetition or cut to ``max_len``
frames from its start, so the clean embedding of an utterance (the high-level target)
is computed on exactly the frames the model sees.

Training conditions are drawn per utterance per epoch from ``(seed, epoch, utt)``; dev
conditions once from ``(DEV_SEED, utt)``, the same for every system and seed.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np
import torch

from trnet.contract import CLASSES, enhanced
from trnet.data.datadir import DataDir
from trnet.errors import TrnetError
from trnet.io import read_kv

DEV_SEED = 20240419
"""Seed of the one-time draw of each dev utterance's condition."""

Example = tuple[str, str]


def input_conditions(condition: str, input_kind: str) -> list[str]:
    """The feature dirs the model input of ``condition`` is read from, in forward order."""
    if input_kind == "noisy":
        return [condition]
    if input_kind == "enhanced":
        return [enhanced(condition)]
    return [condition, enhanced(condition)]


def draw(conditions: Sequence[str], *key: int | str) -> str:
    """A condition drawn reproducibly from ``key`` (ints and utterance ids)."""
    entropy = [k if isinstance(k, int) else zlib.crc32(k.encode("utf-8")) for k in key]
    return conditions[int(np.random.default_rng(entropy).integers(len(conditions)))]


def train_examples(
    utts: Iterable[str], conditions: Sequence[str], seed: int, epoch: int
) -> list[Example]:
    return [(u, draw(conditions, seed, epoch, u)) for u in utts]


def dev_examples(utts: Iterable[str], conditions: Sequence[str]) -> list[Example]:
    return [(u, draw(conditions, DEV_SEED, u)) for u in utts]


def fit_length(x: np.ndarray, max_len: int) -> np.ndarray:
    """Repeat ``x`` (T, F) along time until it has ``max_len`` frames, then cut."""
    if len(x) == 0:
        raise ValueError("empty feature matrix")
    reps = -(-max_len // len(x))
    return np.tile(x, (reps, 1))[:max_len] if reps > 1 else x[:max_len].copy()


class FeatureStore:
    """``feats.scp`` of each condition under a dump dir, read lazily with kaldiio.

    With ``cache`` every matrix read is kept (read-only) in memory, so later epochs do not
    go back to the arks; the values are exactly those of an uncached read.
    """

    def __init__(self, dump: str | Path, cache: bool = False) -> None:
        self.dump = Path(dump)
        self._scp: dict[str, dict[str, str]] = {}
        self._frames: dict[str, dict[str, str]] = {}
        self._cache: dict[tuple[str, str], np.ndarray] | None = {} if cache else None

    def scp(self, condition: str) -> dict[str, str]:
        if condition not in self._scp:
            path = self.dump / condition / "feats.scp"
            if not path.is_file():
                raise TrnetError(f"{path}: feature table not found (condition {condition!r})")
            self._scp[condition] = read_kv(path)
        return self._scp[condition]

    def num_frames(self, condition: str) -> dict[str, str]:
        """``utt2num_frames`` of a condition ({} when it has none): each read is checked."""
        if condition not in self._frames:
            path = self.dump / condition / "utt2num_frames"
            self._frames[condition] = read_kv(path) if path.is_file() else {}
        return self._frames[condition]

    def load(self, condition: str, utt: str) -> np.ndarray:
        """The (T, F) float32 features; never modify them in place (cached arrays are shared)."""
        from trnet.kaldi_io import read_matrix

        if self._cache is not None and (condition, utt) in self._cache:
            return self._cache[condition, utt]
        spec = self.scp(condition)[utt]
        n = self.num_frames(condition).get(utt)
        x = read_matrix(
            self.dump / condition / "feats.scp",
            utt,
            spec,
            int(n) if n and n.isdigit() else None,
            "; ark paths are relative to the recipe folder: run from there"
            if not Path(spec.rpartition(":")[0]).is_file()
            else "",
        )
        if self._cache is not None:
            x.setflags(write=False)
            self._cache[condition, utt] = x
        return x

    def check(self, needs: dict[str, set[str]], what: str) -> None:
        """Raise one error listing every (condition, utterance) without features."""
        problems = []
        for condition in sorted(needs):
            path = self.dump / condition / "feats.scp"
            if not path.is_file():
                problems.append(f"{path}: missing ({len(needs[condition])} utterances need it)")
                continue
            missing = sorted(needs[condition] - set(self.scp(condition)))
            if missing:
                shown = ", ".join(missing[:5]) + (" ..." if len(missing) > 5 else "")
                problems.append(f"{path}: {len(missing)} utterances missing ({shown})")
        if problems:
            raise TrnetError(
                f"{what}: features missing before training:\n  " + "\n  ".join(problems)
            )


def load_labels(datadir: DataDir) -> dict[str, int]:
    """utt2emo as class indices; any label outside CLASSES is an error."""
    labels = {}
    for utt, emo in datadir["utt2emo"].items():
        if emo not in CLASSES:
            raise TrnetError(
                f"{datadir.path}/utt2emo: {utt}: label {emo!r} not in {' '.join(CLASSES)}"
            )
        labels[utt] = CLASSES.index(emo)
    return labels


def global_cmvn(store: FeatureStore, utts: Iterable[str]) -> tuple[torch.Tensor, torch.Tensor]:
    """Mean and standard deviation per bin over every frame of ``utts`` (clean features)."""
    total = sq = None
    count = 0
    for utt in utts:
        x = store.load("clean", utt).astype(np.float64)
        total = x.sum(0) if total is None else total + x.sum(0)
        sq = (x**2).sum(0) if sq is None else sq + (x**2).sum(0)
        count += len(x)
    if total is None or sq is None:
        raise TrnetError("CMVN: no clean training features")
    mean = total / count
    std = np.sqrt(np.maximum(sq / count - mean**2, 1e-10))
    return torch.from_numpy(mean.astype(np.float32)), torch.from_numpy(std.astype(np.float32))


class ExampleSet(torch.utils.data.Dataset):
    """Tensors of one example: ``inputs`` (1 or 2, T, F), ``label``, optional ``clean``/``zc``."""

    def __init__(
        self,
        examples: Sequence[Example],
        store: FeatureStore,
        input_kind: str,
        max_len: int,
        labels: dict[str, int] | None = None,
        with_clean: bool = False,
        z_clean: dict[str, np.ndarray] | None = None,
    ) -> None:
        self.examples = list(examples)
        self.store, self.input_kind, self.max_len = store, input_kind, max_len
        self.labels, self.with_clean, self.z_clean = labels, with_clean, z_clean

    def __len__(self) -> int:
        return len(self.examples)

    def __getitem__(self, i: int) -> dict[str, torch.Tensor]:
        utt, condition = self.examples[i]
        feats = [
            fit_length(self.store.load(c, utt), self.max_len)
            for c in input_conditions(condition, self.input_kind)
        ]
        item = {"index": torch.tensor(i), "inputs": torch.from_numpy(np.stack(feats))}
        if self.labels is not None:
            item["label"] = torch.tensor(self.labels[utt])
        if self.with_clean:
            item["clean"] = torch.from_numpy(
                fit_length(self.store.load("clean", utt), self.max_len)
            )
        if self.z_clean is not None:
            item["zc"] = torch.tensor(self.z_clean[utt])
        return item


def needs_for(
    examples_conditions: Iterable[str], utts: set[str], input_kind: str, with_clean: bool
) -> dict[str, set[str]]:
    """Condition → utterances that need features there, for every condition an utt may draw."""
    needs: dict[str, set[str]] = {}
    for condition in examples_conditions:
        for c in input_conditions(condition, input_kind):
            needs.setdefault(c, set()).update(utts)
    if with_clean:
        needs.setdefault("clean", set()).update(utts)
    return needs
