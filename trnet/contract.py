"""What the stages agree on: names, classes, rates and markers one stage writes and a later
one reads. A stage that spells one of these out itself can drift from the others; import it
from here instead (this module imports nothing of trnet but errors/io).

- conditions: ``clean``, ``<noise-set>_<snr>`` (SNR written with ``%g``), or a corruption
  condition: corruptions (``rev-0.6``, ``mp3-24k``, ``tel8k``, ``clip-0.3``, ``loss-0.1``;
  :data:`CORRUPTIONS`) joined by ``+``, the last part optionally ``<noise-set>_<snr>``
  (``rev-0.6+musan_10``), parsed by :func:`parse_condition` into a :class:`Condition`; the
  enhanced twin of a condition dir is ``<condition>_enh``;
- input kinds: what a SER system reads of a condition (``data.input``: ``noisy``,
  ``enhanced`` or ``blend``) and whether that needs the SE front end (:func:`needs_se`);
- the 4-class set and its order (posteriors, confusion matrices, ``classes`` files);
- the sample rate every stage after data prep works at;
- ``corpus.json`` of a data dir (:class:`CorpusInfo`), carried into folds and dump dirs;
- ``TRNET_GENERATED``: the marker ``trnet make-corpus`` writes next to a generated corpus,
  and how that provenance travels with generated noise (``noise.json`` of a noise set, the
  ``noise_generated`` key of a mixed condition's ``corpus.json``);
- per-utterance seeds (:func:`stable_seed`), so mixing and feature extraction draw the same
  dither for an utterance whichever stage computes its features.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import asdict, dataclass
from pathlib import Path

from trnet.errors import TrnetError
from trnet.io import atomic_write, read_text

SAMPLE_RATE = 16000
"""Hz: every stage after data prep (mixing, fbank, SE) works at this rate."""

CLASSES = ("ang", "hap", "neu", "sad")
"""The 4-class set, in the order used for posteriors and confusion matrices."""

CLEAN = "clean"
"""The condition without added noise."""

ENH_SUFFIX = "_enh"
"""A condition dir's enhanced twin: ``dump/<set>/<condition>_enh``."""

GENERATED_MARKER = "TRNET_GENERATED"
"""File ``trnet make-corpus`` writes (last) next to the IEMOCAP_full_release it makes."""

CORPUS_JSON = "corpus.json"

NOISE_JSON = "noise.json"
"""A noise set's provenance, ``{"generated": true}``: written by ``trnet noise-index`` only
for a set indexed from a generated corpus (absent: real noise, and the set's digest as before)."""

NOISE_GENERATED = "noise_generated"
"""The ``corpus.json`` key of a condition mixed with generated noise (absent: clean or real)."""


_SNR_TEXT = re.compile(r"-?\d+(\.\d+)?(e[+-]\d+)?")
"""An SNR as :func:`format_condition` writes it (``%g`` of a finite number)."""


def format_condition(noise: str | None, snr: float | None) -> str:
    """The condition name of a noise-set name and SNR (dB); ``None`` for either: clean."""
    return CLEAN if snr is None or noise is None else f"{noise}_{snr:g}"


def condition_name(noise: str, snr: str) -> str:
    """The inverse of :func:`split_condition`."""
    return CLEAN if noise == CLEAN else f"{noise}_{snr}"


CORRUPTIONS = {
    "rev": "RT60 in s (reverberation), e.g. rev-0.6",
    "mp3": "bitrate in kbps, e.g. mp3-24k",
    "opus": "bitrate in kbps, e.g. opus-24k",
    "tel8k": "no level (8 kHz telephone band), or tel8k-ulaw (G.711 mu-law)",
    "clip": "threshold relative to the peak in (0, 1], e.g. clip-0.3",
    "loss": "packet loss rate in (0, 1), e.g. loss-0.1",
}
"""Corruption kinds of a condition name and what their level is. These names are reserved:
no noise set may be called so (``clip_0.05`` is a user error, not noise "clip" at 0.05 dB)."""

CORRUPTION_SEP = "+"


def _level_ok(kind: str, level: str) -> bool:
    """Whether ``level`` is a valid level text of ``kind``, written the one way
    (numbers as ``%g`` writes them, so each condition has one name)."""
    if kind == "tel8k":
        return level in ("", "ulaw")
    if kind in ("mp3", "opus"):
        return re.fullmatch(r"[1-9]\d*k", level) is not None
    if not _SNR_TEXT.fullmatch(level) or f"{float(level):g}" != level:
        return False
    value = float(level)
    return {"rev": value > 0, "clip": 0 < value <= 1, "loss": 0 < value < 1}[kind]


@dataclass(frozen=True)
class Corruption:
    """One corruption of a condition name: its kind (:data:`CORRUPTIONS`) and level text
    (``""`` for ``tel8k``)."""

    kind: str
    level: str = ""

    @property
    def name(self) -> str:
        return f"{self.kind}-{self.level}" if self.level else self.kind

    @classmethod
    def parse(cls, text: str) -> Corruption | None:
        """The corruption ``text`` names; ``None`` when its kind is not a corruption; a
        known kind with a bad level is a user error."""
        kind, _, level = text.partition("-")
        if kind not in CORRUPTIONS:
            return None
        if not _level_ok(kind, level) or (level == "" and "-" in text):
            raise TrnetError(f"{text!r}: bad {kind} level; {kind} takes {CORRUPTIONS[kind]}")
        return cls(kind, level)


@dataclass(frozen=True)
class Condition:
    """A parsed condition name: its noise part (``noise``/``snr`` as :func:`split_condition`
    gives them; ``clean``/``clean`` when there is no noise) and its corruptions, in the
    order they are applied (empty for ``clean`` and ``<noise>_<snr>``)."""

    noise: str = CLEAN
    snr: str = CLEAN
    corruptions: tuple[Corruption, ...] = ()

    @property
    def corrupted(self) -> bool:
        """A corruption condition (not in the noise × SNR tables or the noisy averages)."""
        return bool(self.corruptions)

    @property
    def corruption(self) -> str:
        """The corruption part of the name (``rev-0.6`` of ``rev-0.6+musan_10``); ``""``."""
        return CORRUPTION_SEP.join(c.name for c in self.corruptions)

    @property
    def name(self) -> str:
        noise = condition_name(self.noise, self.snr)
        if not self.corruptions:
            return noise
        parts = [self.corruption] + ([] if noise == CLEAN else [noise])
        return CORRUPTION_SEP.join(parts)


def parse_condition(condition: str) -> Condition:
    """The one parser of condition names: ``clean``, ``<noise>_<snr>``, or corruptions joined
    by ``+`` with an optional ``<noise>_<snr>`` last; anything else is a user error. (A
    ``+`` after a part that is no corruption belongs to the noise part: ``%g`` writes an
    SNR of 1e6 as ``1e+06``.)"""
    corruptions: list[Corruption] = []
    rest = condition
    while True:
        head, sep, tail = rest.partition(CORRUPTION_SEP)
        try:
            found = Corruption.parse(head)
        except TrnetError as err:
            raise TrnetError(f"condition {condition!r}: {err}") from None
        if found is None:
            break
        corruptions.append(found)
        if sep and not tail:
            raise TrnetError(f"condition {condition!r}: nothing after the last {sep!r}")
        rest = tail
        if not rest:
            break
    kinds = [c.kind for c in corruptions]
    if len(set(kinds)) < len(kinds):
        raise TrnetError(f"condition {condition!r}: a corruption kind appears twice")
    if not rest:
        return Condition(corruptions=tuple(corruptions))
    noise, snr = _split_noise(rest, condition)
    if corruptions and noise == CLEAN:
        raise TrnetError(f"condition {condition!r}: write it without '+clean'")
    return Condition(noise, snr, tuple(corruptions))


def _split_noise(text: str, condition: str) -> tuple[str, str]:
    if text == CLEAN:
        return CLEAN, CLEAN
    noise, _, snr = text.rpartition("_")
    if not noise or not _SNR_TEXT.fullmatch(snr):
        raise TrnetError(
            f"{condition!r} is neither clean nor <noise>_<snr> nor a corruption condition"
        )
    check_noise_name(noise, condition)
    return noise, snr


def check_noise_name(noise: str, where: str) -> None:
    """Refuse a noise-set name that a condition name could not tell from a corruption."""
    if noise.partition("-")[0] in CORRUPTIONS:
        raise TrnetError(
            f"{where!r}: a noise-set name may not begin with a corruption's name "
            f"({', '.join(CORRUPTIONS)}); corruption conditions are written <kind>-<level>"
        )


def split_condition(condition: str) -> tuple[str, str]:
    """``esc50_10`` → (``esc50``, ``10``); ``clean`` → (``clean``, ``clean``): the noise ×
    SNR of a condition (:func:`parse_condition`); a corruption condition, which has none,
    or anything else is a user error."""
    parsed = parse_condition(condition)
    if parsed.corrupted:
        raise TrnetError(f"{condition!r} is a corruption condition, not clean or <noise>_<snr>")
    return parsed.noise, parsed.snr


DEFAULT_LEVELS = {
    "rev": "0.6",
    "mp3": "24k",
    "opus": "24k",
    "tel8k": "",
    "clip": "0.1",
    "loss": "0.1",
}
"""The level a bare corruption kind stands for (the recipe's ``--test_corruptions "rev mp3
tel8k clip loss"``): RT60 0.6 s, 24 kbps, the plain telephone band, clipping at 0.1 × the
peak (about a fifth of EmoDB's samples), 10% of 20 ms packets lost (docs/corruptions.md)."""


def single_corruption(text: str, where: str = "condition") -> str:
    """The condition name of one corruption without noise (what ``trnet corrupt`` writes):
    a bare kind (``rev``) at its :data:`DEFAULT_LEVELS` level, a full name (``rev-0.9``) as
    it is; anything else (noise, a combination, a bad level) is a one-line error naming
    ``where``."""
    name = Corruption(text, DEFAULT_LEVELS[text]).name if text in DEFAULT_LEVELS else text
    try:
        cond = parse_condition(name)
    except TrnetError as err:
        raise TrnetError(f"{where}: {err}") from None
    if len(cond.corruptions) != 1 or cond.noise != CLEAN:
        raise TrnetError(
            f"{where}: {text!r} is not one corruption without noise (what trnet corrupt "
            f"writes): {', '.join(DEFAULT_LEVELS)} or a full name such as rev-0.6, mp3-24k"
        )
    return name


def snr_value(snr: str) -> int | float | None:
    """The number of :func:`split_condition`'s SNR text (an integer when it is one);
    ``None`` for the clean condition's."""
    if snr == CLEAN:
        return None
    value = float(snr)
    return int(value) if value.is_integer() else value


def enhanced(condition: str) -> str:
    """The enhanced twin of a condition (``clean`` → ``clean_enh``)."""
    return f"{condition}{ENH_SUFFIX}"


def unenhanced(condition: str) -> str:
    """``esc50_0_enh`` → ``esc50_0``."""
    return condition[: -len(ENH_SUFFIX)]


NOISY, ENHANCED, BLEND = "noisy", "enhanced", "blend"
INPUT_KINDS = (NOISY, ENHANCED, BLEND)
"""What a SER system reads of a condition (``data.input``): its own features (``noisy``),
its enhanced twin's (``enhanced``) or both (``blend``, TRNet)."""


BOTH = "both"
FUNCTIONALS_INPUTS = (NOISY, ENHANCED, BLEND, BOTH)
"""Whose eGeMAPS functionals a hybrid's functionals branch gets (``model.functionals_input``):
the first input's (``noisy``: the noisy input of a blend system, a one-input system's own),
the enhanced twin's (``enhanced``), both blended by TRNet's s (``blend``) or both side by side
(``both``); every value but ``noisy`` needs ``data.input: blend``."""
FUNCTIONAL_HEADS = ("mlp", "kernel")
"""How a hybrid's model takes the functionals (``model.functionals_head``): an MLP beside the
embedding, or an RBF kernel machine (:class:`trnet.models.ser.KernelFeatures`)."""

S_GRADIENTS = ("hardtanh", "inward")
"""``model.s_gradient``: the paper's hardtanh, or :class:`trnet.models.ser.InwardClamp`."""
S_FEATURES = ("cmvn", "raw")
"""What the cosine features of s are taken on: the CMVN-normalised features (the default)
or the raw log-Mel (dominated by each bin's mean level, so close to 1 unless noise moves it)."""
CONV_INPUT_GRADS = ("native", "forward")
"""How the CNN's convolutions get their input's gradient in training (``model.conv_input_grad``):
torch's own convolution backward (``native``), or a forward convolution of the output's
gradient with the flipped kernel (``forward``), which on a CPU without oneDNN (deterministic
mode) runs NNPACK's fast forward path instead of ATen's per-sample col2im loop: the same
gradient up to float rounding, a training step about a quarter shorter
(:class:`trnet.models.ser.ForwardGradConv`)."""
S_CLAMPS = ("hardtanh", "sigmoid")
"""How ``w^T c + b`` becomes s in [0, 1]: the paper's hardtanh, or a sigmoid (never exactly
0 or 1, so s always has a gradient).

These lists live here, torch-free, so that loading and checking a config (``trnet plan``, a
training that finds its work done) does not import torch."""


def needs_se(input_kind: str) -> bool:
    """Whether a system of ``input_kind`` reads the enhanced twins the SE front end writes."""
    return input_kind in (ENHANCED, BLEND)


def stable_seed(*parts: object) -> int:
    """A 63-bit seed from any values, stable across processes and Python runs (unlike ``hash``)."""
    text = "\x1f".join(str(p) for p in parts)
    return int.from_bytes(hashlib.sha256(text.encode("utf-8")).digest()[:8], "little") >> 1


def utt_feats_seed(seed: int, utt: str) -> int:
    """The dither seed of one utterance: from ``(seed, utt)`` only, never from the job split."""
    return stable_seed("fbank", seed, utt)


_NO_RATE = -1


@dataclass(frozen=True)
class CorpusInfo:
    """``corpus.json`` of a data dir: which corpus, from where, and whether it is generated.

    ``sample_rate`` is the rate every file has, ``None`` when the rates differ; a dir that
    does not record it (IEMOCAP's prep) is expected at :data:`SAMPLE_RATE`
    (``records_rate`` is False).
    """

    corpus: str
    root: str
    generated: bool = False
    sample_rate: int | None = _NO_RATE

    @property
    def records_rate(self) -> bool:
        return self.sample_rate != _NO_RATE

    def as_dict(self) -> dict:
        meta = asdict(self)
        if not self.records_rate:
            del meta["sample_rate"]
        return meta

    def write(self, data_dir: Path) -> None:
        write_corpus_json(data_dir, self.as_dict())

    @staticmethod
    def read_dict(data_dir: Path) -> dict:
        """The raw json of ``data_dir/corpus.json``; a missing or broken file is a user error."""
        path = Path(data_dir) / CORPUS_JSON
        if not path.is_file():
            raise TrnetError(f"{path}: not found (the data dir must carry corpus.json)")
        return read_json_object(path)


def write_corpus_json(data_dir: Path, meta: dict) -> None:
    """``data_dir/corpus.json``, atomically, in :class:`CorpusInfo`'s layout."""
    with atomic_write(Path(data_dir) / CORPUS_JSON) as f:
        json.dump(meta, f, indent=2)
        f.write("\n")


def mark_noise_generated(data_dir: Path) -> None:
    """Add ``noise_generated: true`` to ``data_dir/corpus.json`` (made when there is none),
    the rest of it kept as it is."""
    path = Path(data_dir) / CORPUS_JSON
    meta = read_json_object(path) if path.is_file() else {}
    write_corpus_json(data_dir, {**meta, NOISE_GENERATED: True})


def read_json_object(path: Path) -> dict:
    """The JSON object in ``path``; invalid JSON or another type is a user error."""
    try:
        meta = json.loads(read_text(path))
    except json.JSONDecodeError as err:
        raise TrnetError(f"{path}: invalid JSON: {err}") from None
    if not isinstance(meta, dict):
        raise TrnetError(f"{path}: expected a JSON object, got {type(meta).__name__}")
    return meta


def is_generated(data_dir: Path) -> bool:
    """Whether ``data_dir/corpus.json`` says generated (False when there is none)."""
    return _corpus_flag(data_dir, "generated")


def is_noise_generated(data_dir: Path) -> bool:
    """Whether ``data_dir/corpus.json`` says its noise is generated (False when there is none)."""
    return _corpus_flag(data_dir, NOISE_GENERATED)


def _corpus_flag(data_dir: Path, key: str) -> bool:
    path = Path(data_dir) / CORPUS_JSON
    return path.is_file() and bool(CorpusInfo.read_dict(data_dir).get(key))


def generated_what(speech: bool, noise: bool) -> str:
    """What a table of results must say is generated: ``GENERATED corpus`` (the speech),
    else ``GENERATED noise``, else ``""`` (all real)."""
    if speech:
        return "GENERATED corpus"
    return "GENERATED noise" if noise else ""


def is_noise_set_generated(noise_dir: Path) -> bool:
    """Whether the noise set's ``noise.json`` says generated (False without one: a real
    set, or one indexed before noise.json existed)."""
    path = Path(noise_dir) / NOISE_JSON
    return path.is_file() and bool(read_json_object(path).get("generated"))


def made_by_make_corpus(root: Path) -> bool:
    """Whether the corpus folder ``root`` was generated: ``trnet make-corpus`` writes
    :data:`GENERATED_MARKER` beside the folders it makes."""
    return (Path(root).parent / GENERATED_MARKER).exists()
