"""Features, labels and examples for SER training and decoding.

An *example* is ``(utt, condition)``; what it loads depends on the config's input:
``noisy`` → ``dump/<condition>``, ``enhanced`` → ``dump/<condition>_enh``, ``blend`` →
both; systems with ``alpha > 0`` (or ``loss.z_clean_on: crop``) also load the clean twin
(``dump/clean``) as the target of the low-level loss (and Baseline-c's input for the
high-level one). Clean speech goes through the SE like any other condition (``clean`` →
``clean_enh``, stage 3 enhances every condition), unless ``data.clean_through_se: false``
makes a clean *training* example's enhanced input the clean features themselves.

Every utterance is padded by repetition or cut to ``max_len`` frames from its start, so the
clean embedding of an utterance (the high-level target) is computed on exactly the frames
the model sees; with the real-speech options (``data.crop: random``, ``data.eval_full``)
Baseline-c exports whole-utterance embeddings while TRNet trains on random crops, unless
``loss.z_clean_on: crop`` computes the target on each crop
(:func:`trnet.train.fold_data.load_z_teacher`).

Training conditions are drawn per utterance per epoch from ``(seed, epoch, utt)``; dev
conditions once from ``(DEV_SEED, utt)``, the same for every system and seed. A config's
``data.train_corruptions`` (condition → probability) draws first, from a stream of its own
(:func:`draw_corruption`): an utterance not given a corruption condition gets the condition
it gets without them.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from trnet.contract import BLEND, CLEAN, ENHANCED, NOISY, enhanced
from trnet.errors import TrnetError
from trnet.io import read_kv
from trnet.stage import input_digest
from trnet.train.config import Config, DataConfig

if TYPE_CHECKING:  # torch loads where a tensor is made: a signature check needs none
    import torch

DEV_SEED = 20240419
"""Seed of the one-time draw of each dev utterance's condition."""

Example = tuple[str, str]


def input_conditions(condition: str, input_kind: str) -> list[str]:
    """The feature dirs the model input of ``condition`` is read from, in forward order."""
    if input_kind == NOISY:
        return [condition]
    if input_kind == ENHANCED:
        return [enhanced(condition)]
    return [condition, enhanced(condition)]


def example_conditions(condition: str, input_kind: str, through_se: bool = True) -> list[str]:
    """The feature dirs an example of ``condition`` reads (:func:`input_conditions`); with
    ``through_se`` False a clean example bypasses the SE: its enhanced input is the clean
    features themselves (``data.clean_through_se: false``, training only)."""
    return bypass_se(input_conditions(condition, input_kind), condition, through_se)


def bypass_se(dirs: list[str], condition: str, through_se: bool) -> list[str]:
    """``dirs`` (an example's feature or functionals conditions), or, for a clean example
    that bypasses the SE (``through_se`` False), the clean condition in each place: the one
    rule of ``data.clean_through_se: false``."""
    return dirs if through_se or condition != CLEAN else [CLEAN] * len(dirs)


def draw(conditions: Sequence[str], *key: int | str) -> str:
    """A condition drawn reproducibly from ``key`` (ints and utterance ids)."""
    entropy = [k if isinstance(k, int) else zlib.crc32(k.encode("utf-8")) for k in key]
    return conditions[int(np.random.default_rng(entropy).integers(len(conditions)))]


CORRUPTION_STREAM = 27
"""Last entropy word of :func:`draw_corruption`: its numbers are not those of :func:`draw`."""


def draw_corruption(corruptions: Mapping[str, float], *key: int | str) -> str | None:
    """A corruption condition drawn reproducibly from ``key``, each with its probability, or
    None (1 - their sum): one uniform number walked through the conditions in sorted order."""
    if not corruptions:
        return None
    entropy = [k if isinstance(k, int) else zlib.crc32(k.encode("utf-8")) for k in key]
    u = np.random.default_rng([*entropy, CORRUPTION_STREAM]).random()
    total = 0.0
    for condition in sorted(corruptions):
        total += corruptions[condition]
        if u < total:
            return condition
    return None


def train_examples(
    utts: Iterable[str],
    conditions: Sequence[str],
    seed: int,
    epoch: int,
    corruptions: Mapping[str, float] | None = None,
) -> list[Example]:
    """Each utterance with this epoch's condition: a corruption condition drawn with its
    probability (``corruptions``), else one of ``conditions`` drawn as without them."""
    examples = []
    for u in utts:
        corrupted = draw_corruption(corruptions or {}, seed, epoch, u)
        examples.append((u, corrupted or draw(conditions, seed, epoch, u)))
    return examples


def every_train_example(
    utts: Sequence[str],
    conditions: Sequence[str],
    seed: int,
    corruptions: Mapping[str, float] | None = None,
) -> list[Example]:
    """Every utterance in every condition of ``conditions`` (condition by condition): the
    whole training set of the kernel prefit and the functionals' statistics. With
    ``corruptions`` each (utterance, condition) becomes a corruption condition with its
    probability (drawn from ``(seed, condition, utt)``): the share the epochs draw."""
    return [
        (u, draw_corruption(corruptions or {}, seed, c, u) or c) for c in conditions for u in utts
    ]


def dev_examples(utts: Iterable[str], conditions: Sequence[str]) -> list[Example]:
    return [(u, draw(conditions, DEV_SEED, u)) for u in utts]


def fit_length(x: np.ndarray, max_len: int) -> np.ndarray:
    """Repeat ``x`` (T, F) along time until it has ``max_len`` frames, then cut."""
    if len(x) == 0:
        raise ValueError("empty feature matrix")
    reps = -(-max_len // len(x))
    return np.tile(x, (reps, 1))[:max_len] if reps > 1 else x[:max_len].copy()


VAD_MARGIN = 5
"""Frames kept on either side of the first and last loud frame by :func:`vad_bounds`."""


def vad_bounds(x: np.ndarray, vad_db: float, min_len: int = 16) -> tuple[int, int]:
    """(start, end) of ``x`` (T, F log-Mel) without its leading and trailing quiet frames.

    A frame is loud when its mean log-Mel energy is within ``vad_db`` dB of the loud level
    (the 95th percentile of the frame energies); ``VAD_MARGIN`` frames are kept on each side.
    An utterance that would keep fewer than ``min_len`` frames is kept whole.
    """
    if vad_db <= 0 or len(x) <= min_len:
        return 0, len(x)
    energy = x.mean(axis=1)
    loud = np.flatnonzero(energy >= np.percentile(energy, 95) - vad_db * np.log(10) / 10)
    start = max(0, int(loud[0]) - VAD_MARGIN)
    end = min(len(x), int(loud[-1]) + 1 + VAD_MARGIN)
    return (start, end) if end - start >= min_len else (0, len(x))


def crop_start(length: int, max_len: int, *key: int | str) -> int:
    """A reproducible random start of a ``max_len`` window in ``length`` frames (0 if shorter)."""
    if length <= max_len:
        return 0
    entropy = [k if isinstance(k, int) else zlib.crc32(k.encode("utf-8")) for k in key]
    return int(np.random.default_rng(entropy).integers(length - max_len + 1))


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

    def check(self, needs: dict[str, set[str]], what: str, before: str = "training") -> None:
        """Raise one error listing every (condition, utterance) without features
        (``before``: the step that needs them, named in the message)."""
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
                f"{what}: features missing before {before}:\n  " + "\n  ".join(problems)
            )


def dump_digests(dump: str | Path, conditions: Iterable[str]) -> dict[str, str | None]:
    """Condition → :func:`trnet.stage.input_digest` of ``dump/<condition>``: what the
    signature of a stage that reads those features (training, decoding) records of them.
    The eGeMAPS cache that the reader itself adds there is left out."""
    from trnet.classic.egemaps import CACHE

    skip = (f"{CACHE}.ark", f"{CACHE}.scp")
    return {c: input_digest(Path(dump) / c, skip) for c in sorted(set(conditions))}


def global_cmvn(store: FeatureStore, utts: Iterable[str]) -> tuple[torch.Tensor, torch.Tensor]:
    """Mean and standard deviation per bin over every frame of ``utts`` (clean features)."""
    import torch

    total = sq = None
    count = 0
    for utt in utts:
        x = store.load(CLEAN, utt).astype(np.float64)
        total = x.sum(0) if total is None else total + x.sum(0)
        sq = (x**2).sum(0) if sq is None else sq + (x**2).sum(0)
        count += len(x)
    if total is None or sq is None:
        raise TrnetError("CMVN: no clean training features")
    mean = total / count
    std = np.sqrt(np.maximum(sq / count - mean**2, 1e-10))
    return torch.from_numpy(mean.astype(np.float32)), torch.from_numpy(std.astype(np.float32))


class ExampleSet:
    """Tensors of one example: ``inputs`` (1 or 2, T, F), ``label``, optional ``clean``/``zc``
    (a map-style dataset for torch's DataLoader: ``__len__`` and ``__getitem__``).

    The real-speech options (defaults: the earlier behaviour): ``vad_db`` trims every input
    (and the clean twin) to the loud span of the first input (:func:`vad_bounds`);
    ``crop_key`` (e.g. ``(seed, epoch)``) takes a random ``max_len`` window instead of the
    first frames; ``full`` keeps the whole (trimmed) utterance and adds ``length`` (batch
    such a set with :func:`pad_collate`). A hybrid's ``functionals`` (a
    :func:`load_functionals` table) add ``func`` (:func:`model_functionals` of the
    ``functionals_input`` mode). ``clean_through_se`` False: a clean example's enhanced
    input is the clean features (:func:`example_conditions`).
    """

    def __init__(
        self,
        examples: Sequence[Example],
        store: FeatureStore,
        input_kind: str,
        max_len: int,
        labels: dict[str, int] | None = None,
        with_clean: bool = False,
        z_clean: dict[str, np.ndarray] | None = None,
        vad_db: float = 0.0,
        crop_key: tuple[int, ...] | None = None,
        full: bool = False,
        functionals: dict[str, dict[str, np.ndarray]] | None = None,
        functionals_input: str = NOISY,
        clean_through_se: bool = True,
    ) -> None:
        self.examples = list(examples)
        self.clean_through_se = clean_through_se
        self.store, self.input_kind, self.max_len = store, input_kind, max_len
        self.labels, self.with_clean, self.z_clean = labels, with_clean, z_clean
        self.vad_db, self.crop_key, self.full = vad_db, crop_key, full
        self.functionals, self.functionals_input = functionals, functionals_input

    def __len__(self) -> int:
        return len(self.examples)

    def window(self, utt: str, first: np.ndarray) -> tuple[int, int]:
        """(start, end) frames of ``utt`` fed to the model (``end`` = -1: fit_length's cut)."""
        lo, hi = vad_bounds(first, self.vad_db)
        if self.full:
            return lo, hi
        if self.crop_key is not None:
            lo += crop_start(hi - lo, self.max_len, *self.crop_key, utt)
        return lo, hi

    def length(self, i: int) -> int:
        """Frames of example ``i`` as :meth:`__getitem__` returns it."""
        utt, condition = self.examples[i]
        first = self.store.load(self.sources(condition)[0], utt)
        if not self.full:
            return self.max_len
        lo, hi = self.window(utt, first)
        return hi - lo

    def sources(self, condition: str) -> list[str]:
        """The feature dirs an example of ``condition`` reads, in input order."""
        return example_conditions(condition, self.input_kind, self.clean_through_se)

    def __getitem__(self, i: int) -> dict[str, torch.Tensor]:
        import torch

        utt, condition = self.examples[i]
        raw = [self.store.load(c, utt) for c in self.sources(condition)]
        crop = None
        if self.crop_key is not None:
            key = self.crop_key

            def crop(n: int) -> int:
                return crop_start(n, self.max_len, *key, utt)

        lo, hi = input_span(raw, self.vad_db, self.full, crop)
        feats = [span_frames(x, lo, hi, self.max_len, self.full) for x in raw]
        item = {"index": torch.tensor(i), "inputs": torch.from_numpy(np.stack(feats))}
        if self.full:
            item["length"] = torch.tensor(len(feats[0]))
        if self.labels is not None:
            item["label"] = torch.tensor(self.labels[utt])
        if self.with_clean:
            clean = self.store.load(CLEAN, utt)
            item["clean"] = torch.from_numpy(span_frames(clean, lo, hi, self.max_len, self.full))
        if self.z_clean is not None:
            item["zc"] = torch.tensor(self.z_clean[utt])
        if self.functionals is not None:
            func = model_functionals(
                self.functionals,
                utt,
                condition,
                self.input_kind,
                self.functionals_input,
                self.clean_through_se,
            )
            item["func"] = torch.tensor(func)
        return item


def input_span(
    raw: Sequence[np.ndarray],
    vad_db: float = 0.0,
    full: bool = False,
    crop: Callable[[int], int] | None = None,
) -> tuple[int, int]:
    """(start, end) frames of an example's inputs ``raw`` (forward order: the first decides)
    that the model sees: VAD-trimmed (``vad_db``), whole (``full``) or from a random crop
    start (``crop``: the trimmed length → an offset; training only). ``trnet decode`` and
    ``trnet infer`` both take their inputs through this and :func:`span_frames`."""
    if vad_db <= 0 and crop is None and not full:
        return 0, len(raw[0])  # the earlier behaviour, exactly
    lo, hi = vad_bounds(raw[0], vad_db)
    if not full and crop is not None:
        lo += crop(hi - lo)
    return lo, min([hi, *(len(x) for x in raw)])


def span_frames(x: np.ndarray, lo: int, hi: int, max_len: int, full: bool) -> np.ndarray:
    """Frames ``lo:hi`` of ``x``: as they are (``full``), else repeated or cut to ``max_len``."""
    if full:
        return np.array(x[lo:hi])
    return fit_length(x[lo:hi], max_len)


def pad_collate(items: list[dict[str, torch.Tensor]]) -> dict[str, torch.Tensor]:
    """Batch examples of different lengths: ``inputs``/``clean`` zero-padded along time."""
    import torch

    longest = max(int(it["inputs"].shape[-2]) for it in items)
    batch: dict[str, torch.Tensor] = {}
    for key in items[0]:
        values = [it[key] for it in items]
        if key in ("inputs", "clean"):
            pad = [(0, 0, 0, longest - v.shape[-2]) for v in values]
            values = [torch.nn.functional.pad(v, p) for v, p in zip(values, pad, strict=True)]
        batch[key] = torch.stack(values)
    return batch


def spec_augment(
    inputs: torch.Tensor,
    fill: torch.Tensor,
    data_cfg: DataConfig,
    key: Sequence[int],
    lengths: torch.Tensor | None = None,
) -> torch.Tensor:
    """SpecAugment-style masks on a training batch (B, K, T, F): ``freq_masks`` bands of
    up to ``freq_width`` bins and ``time_masks`` spans of up to ``time_width`` frames per
    example, drawn from ``key``, set to ``fill`` (F,) (the CMVN mean: 0 after normalising);
    the K inputs of an example (noisy and enhanced) get the same masks."""
    rng = np.random.default_rng(list(key))
    out = inputs.clone()
    n_frames, n_bins = inputs.shape[2], inputs.shape[3]
    fill = fill.to(inputs.device, inputs.dtype)
    for b in range(inputs.shape[0]):
        frames = int(lengths[b]) if lengths is not None else n_frames
        for _ in range(data_cfg.freq_masks):
            width = int(rng.integers(data_cfg.freq_width + 1))
            lo = int(rng.integers(n_bins - width + 1))
            out[b, :, :, lo : lo + width] = fill[lo : lo + width]
        for _ in range(data_cfg.time_masks):
            width = min(int(rng.integers(data_cfg.time_width + 1)), frames // 5)
            lo = int(rng.integers(max(1, frames - width + 1)))
            out[b, :, lo : lo + width, :] = fill
    return out


def class_weights(labels: Iterable[int], n_classes: int) -> torch.Tensor:
    """Inverse class frequency, ``n / (C * n_k)`` (a class without examples gets 0)."""
    import torch

    counts = np.bincount(np.asarray(list(labels), dtype=np.int64), minlength=n_classes)
    weights = np.where(counts > 0, counts.sum() / (n_classes * np.maximum(counts, 1)), 0.0)
    return torch.tensor(weights, dtype=torch.float32)


def functionals_sources(input_kind: str, mode: str = NOISY) -> list[str]:
    """The inputs (``noisy``, ``enhanced``) whose eGeMAPS functionals a hybrid's branch is
    fed, in the order of the rows of its ``func`` (:func:`functionals_array`), for a system
    of ``input_kind`` and ``model.functionals_input`` ``mode``: ``noisy`` (the default) its
    first input (a blend system's noisy one), ``enhanced`` the enhanced twin, ``blend`` and
    ``both`` the noisy then the enhanced input (the model combines them,
    :meth:`trnet.models.ser.SerModel.functionals_vector`)."""
    if mode == NOISY:
        return [NOISY if input_kind == BLEND else input_kind]
    if mode == ENHANCED:
        return [ENHANCED]
    return [NOISY, ENHANCED]


def functionals_conditions(
    condition: str, input_kind: str, mode: str = NOISY, through_se: bool = True
) -> list[str]:
    """The dump conditions whose cached functionals feed an example of ``condition``, in
    row order (:func:`functionals_sources`); with ``through_se`` False a clean example's
    enhanced row is the clean audio's, as its enhanced input is the clean features
    (:func:`example_conditions`)."""
    dirs = [input_conditions(condition, s)[0] for s in functionals_sources(input_kind, mode)]
    return bypass_se(dirs, condition, through_se)


def functionals_array(rows: Sequence[np.ndarray]) -> np.ndarray:
    """One example's ``func`` as the model takes it: the vector (88,) of one source, or the
    rows (K, 88) of several (``blend``, ``both``), in :func:`functionals_sources` order."""
    return rows[0] if len(rows) == 1 else np.stack(rows)


def model_functionals(
    table: dict[str, dict[str, np.ndarray]],
    utt: str,
    condition: str,
    input_kind: str,
    mode: str = NOISY,
    through_se: bool = True,
) -> np.ndarray:
    """The ``func`` of example ``(utt, condition)`` from a :func:`load_functionals` table
    (``through_se``: as :func:`functionals_conditions`)."""
    conditions = functionals_conditions(condition, input_kind, mode, through_se)
    return functionals_array([table[c][utt] for c in conditions])


def model_functionals_sources(cfg: Config) -> list[str]:
    """Whose functionals the model of ``cfg`` takes (:func:`functionals_sources` of its
    input and ``model.functionals_input``), in row order; none when it is not a hybrid:
    what a model package records and ``trnet infer`` computes."""
    if not cfg.model.functionals:
        return []
    return functionals_sources(cfg.data.input, cfg.model.functionals_input)


def load_functionals(
    dump: str | Path,
    examples: Iterable[Example],
    input_kind: str,
    into: dict[str, dict[str, np.ndarray]] | None = None,
    mode: str = NOISY,
) -> dict[str, dict[str, np.ndarray]]:
    """eGeMAPS functionals (condition → utt → vector) of what each example's hybrid branch
    is fed (:func:`functionals_conditions`), added to ``into``; computed once per condition
    and cached there (trnet.classic)."""
    from trnet.classic.egemaps import condition_functionals

    table = {} if into is None else into
    wanted: dict[str, set[str]] = {}
    for utt, condition in examples:
        for source in functionals_conditions(condition, input_kind, mode):
            if utt not in table.get(source, {}):
                wanted.setdefault(source, set()).add(utt)
    for condition in sorted(wanted):
        got = condition_functionals(dump, condition, sorted(wanted[condition]))
        table.setdefault(condition, {}).update(got)
    return table


def functional_stats(vectors: Iterable[np.ndarray]) -> tuple[torch.Tensor, torch.Tensor]:
    """Mean and standard deviation (floored) of functionals, for the hybrid's standardising."""
    import torch

    x = np.stack(list(vectors)).astype(np.float64)
    mean, std = x.mean(0), np.maximum(x.std(0), 1e-6)
    return torch.from_numpy(mean.astype(np.float32)), torch.from_numpy(std.astype(np.float32))


def set_options(data_cfg: DataConfig, train: bool, epoch_key: tuple[int, ...] = ()) -> dict:
    """The real-speech ExampleSet options of a config: VAD for every set, a random crop for
    training sets (``epoch_key`` = (seed, epoch)), whole utterances for the others; clean
    training examples that bypass the SE (``clean_through_se`` false; dev and test
    utterances go through it whatever their condition, as a user's would)."""
    options: dict = {"vad_db": data_cfg.vad_db}
    if train and data_cfg.crop == "random":
        options["crop_key"] = epoch_key
    if train and not data_cfg.clean_through_se:
        options["clean_through_se"] = False
    if not train:
        options["full"] = data_cfg.eval_full
    return options


def needs_for(
    examples_conditions: Iterable[str], utts: set[str], input_kind: str, with_clean: bool
) -> dict[str, set[str]]:
    """Condition → utterances that need features there, for every condition an utt may draw."""
    needs: dict[str, set[str]] = {}
    for condition in examples_conditions:
        for c in input_conditions(condition, input_kind):
            needs.setdefault(c, set()).update(utts)
    if with_clean:
        needs.setdefault(CLEAN, set()).update(utts)
    return needs
