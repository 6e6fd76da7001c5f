"""(noisy, clean) training pairs made on the fly, reproducibly from ``(seed, epoch, step)``.

Clean segments come from a speech source (a noise-set dir such as ``musan_speech`` or a
SER data dir); noise from a noise set; the SNR is drawn uniformly from a range.
"""

from __future__ import annotations

import os
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from trnet.audio import read_audio
from trnet.contract import SAMPLE_RATE
from trnet.errors import TrnetError
from trnet.io import read_kv

MIN_RMS = 1e-4
"""Segments quieter than this (digital silence) are redrawn: they teach nothing."""


def resolve_source(name_or_path: str, noise_root: str | os.PathLike) -> Path:
    """A dir holding ``wav.scp`` (data dir or noise set), or a noise-set name."""
    path = Path(name_or_path)
    if (path / "wav.scp").is_file():
        return path
    from trnet.noise.index import resolve_noise_set

    return Path(resolve_noise_set(name_or_path, noise_root))


CACHE_SAMPLES = 100_000_000
"""Clips are kept in memory up to this many samples in all (400 MB); later ones are re-read."""


class ClipPool:
    """The audio of one source dir, read on first use and cached up to ``CACHE_SAMPLES``."""

    def __init__(self, directory: Path, ids: list[str] | None = None) -> None:
        scp = read_kv(directory / "wav.scp")
        self.directory = directory
        self.ids = sorted(ids if ids is not None else scp, key=lambda k: k.encode())
        if not self.ids:
            raise TrnetError(f"{directory}/wav.scp: no audio entries")
        self._scp = scp
        self._cache: dict[str, np.ndarray] = {}
        self._cached = 0

    def __len__(self) -> int:
        return len(self.ids)

    def get(self, index: int) -> np.ndarray:
        clip = self.ids[index]
        if clip in self._cache:
            return self._cache[clip]
        wave = read_audio(self._scp[clip])
        if self._cached + len(wave) <= CACHE_SAMPLES:
            self._cache[clip] = wave
            self._cached += len(wave)
        return wave


def split_dev_ids(directory: Path, every: int = 20) -> tuple[list[str], list[str]]:
    """Train and dev clip ids: a fixed 1-in-``every`` by id hash (at least one dev clip)."""
    ids = sorted(read_kv(directory / "wav.scp"), key=lambda k: k.encode())
    if len(ids) < 2:
        raise TrnetError(f"{directory}/wav.scp: need at least 2 clips for a train/dev split")
    dev = [u for u in ids if zlib.crc32(u.encode()) % every == 0] or ids[-1:]
    return [u for u in ids if u not in set(dev)], dev


@dataclass
class PairMaker:
    speech: ClipPool
    noise: ClipPool
    segment: int  # samples
    snr_range: tuple[float, float]

    def _crop(self, wave: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        if len(wave) <= self.segment:
            return np.pad(wave, (0, self.segment - len(wave)))
        start = int(rng.integers(0, len(wave) - self.segment + 1))
        return wave[start : start + self.segment]

    def pair(self, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        """One ``(noisy, clean)`` pair of ``segment`` samples."""
        from trnet.mix.mixing import fit_noise_to_length, scale_noise_to_snr

        for _ in range(20):
            clean = self._crop(self.speech.get(int(rng.integers(len(self.speech)))), rng)
            if np.sqrt(np.mean(clean**2)) > MIN_RMS:
                break
        for _ in range(20):  # a sparse clip (ticks, knocks) may be silent where it is cut
            noise = self.noise.get(int(rng.integers(len(self.noise))))
            noise = fit_noise_to_length(noise, self.segment, int(rng.integers(len(noise))))
            if np.sqrt(np.mean(noise**2)) > MIN_RMS:
                break
        else:
            raise TrnetError(f"{self.noise.directory}: noise clips are silent")
        snr = float(rng.uniform(*self.snr_range))
        noisy = clean + scale_noise_to_snr(clean, noise, snr)
        return noisy.astype(np.float32), clean.astype(np.float32)

    def batch(self, seed: int, epoch: int, step: int, size: int) -> tuple[np.ndarray, np.ndarray]:
        """``(size, segment)`` noisy and clean arrays; depends only on the four arguments."""
        rng = np.random.default_rng([seed, epoch, step])
        pairs = [self.pair(rng) for _ in range(size)]
        return np.stack([p[0] for p in pairs]), np.stack([p[1] for p in pairs])


def segment_samples(seconds: float) -> int:
    return int(round(seconds * SAMPLE_RATE))
