"""A noise set (Kaldi-style dir: ``wav.scp``, ``utt2category``, ``utt2dur``) as used for mixing.

Clips are drawn per utterance from a seeded generator: a random order of all clips, taking
the first usable one (non-empty, not all zero, and non-silent over the chosen segment), so
the choice depends only on the seed, never on which process reads which clip. Clips are
cached per process.
"""

from __future__ import annotations

import os
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from trnet.contract import is_noise_set_generated
from trnet.errors import TrnetError
from trnet.io import read_kv

REQUIRED_FILES = ("wav.scp", "utt2category", "utt2dur")
CACHE_BYTES = 512 * 2**20
"""Per-process clip cache: holds all of esc50_train (1200 × 5 s at 16 kHz float32)."""


def resolve_noise_dir(name_or_path: str, noise_root: Path) -> Path:
    """A noise-set name (``esc50_train``, ``musan``...) under ``noise_root``, or a directory."""
    from trnet.noise.index import resolve_noise_set

    try:
        return Path(resolve_noise_set(name_or_path, noise_root))
    except TrnetError as err:
        raise TrnetError(f"--noise: {err}") from None


@dataclass
class NoiseSet:
    """The usable clips of a noise set (ids in Kaldi order) and their wav.scp values;
    ``generated``: indexed from a generated corpus (``noise.json`` says so)."""

    path: Path
    clips: dict[str, str]
    skipped: list[str] = field(default_factory=list)
    generated: bool = False

    @property
    def name(self) -> str:
        return self.path.name

    @classmethod
    def load(cls, path: str | os.PathLike) -> NoiseSet:
        """Read and check the metadata; clips with ``utt2dur`` 0 are left out (in ``skipped``)."""
        from trnet.data.datadir import kaldi_sorted

        path = Path(path)
        for name in REQUIRED_FILES:
            if not (path / name).is_file():
                raise TrnetError(f"{path}: not a noise set (no {name}; run trnet noise-index)")
        wav = read_kv(path / "wav.scp")
        dur = read_kv(path / "utt2dur")
        missing = sorted(set(wav) - set(dur))
        if missing:
            raise TrnetError(f"{path / 'utt2dur'}: no duration for clip {missing[0]!r}")
        skipped = [c for c in kaldi_sorted(wav) if _duration(path, c, dur[c]) <= 0]
        clips = {c: wav[c] for c in kaldi_sorted(wav) if c not in skipped}
        if not clips:
            raise TrnetError(f"{path}: no usable noise clip (all have zero length)")
        return cls(path=path, clips=clips, skipped=skipped, generated=is_noise_set_generated(path))


def _duration(path: Path, clip: str, value: str) -> float:
    try:
        return float(value)
    except ValueError:
        raise TrnetError(f"{path / 'utt2dur'}: bad duration {value!r} for {clip!r}") from None


class ClipDrawer:
    """Draws ``(clip_id, offset, noise of the utterance's length)`` for one process."""

    def __init__(self, noise: NoiseSet) -> None:
        self.noise = noise
        self.ids = list(noise.clips)
        self.cache: OrderedDict[str, np.ndarray] = OrderedDict()
        self.cached_bytes = 0
        self.unusable: set[str] = set()

    def clip(self, clip_id: str) -> np.ndarray:
        from trnet.audio import read_audio

        if clip_id in self.cache:
            self.cache.move_to_end(clip_id)
            return self.cache[clip_id]
        wave = read_audio(self.noise.clips[clip_id], allow_empty=True)
        if not np.any(wave):
            self.unusable.add(clip_id)
        self.cache[clip_id] = wave
        self.cached_bytes += wave.nbytes
        while self.cached_bytes > CACHE_BYTES and len(self.cache) > 1:
            self.cached_bytes -= self.cache.popitem(last=False)[1].nbytes
        return wave

    def draw(self, rng: np.random.Generator, length: int) -> tuple[str, int, np.ndarray]:
        from trnet.mix.mixing import fit_noise_to_length

        for index in rng.permutation(len(self.ids)):
            clip_id = self.ids[index]
            wave = self.clip(clip_id)
            if clip_id in self.unusable:
                continue
            offset = int(rng.integers(wave.size))
            segment = fit_noise_to_length(wave, length, offset)
            if np.any(segment):
                return clip_id, offset, segment
        raise TrnetError(f"{self.noise.path}: no usable noise clip (all empty or silent)")
