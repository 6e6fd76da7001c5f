"""Audio sources for inference: files read in blocks, in-memory arrays, wav.scp entries,
each turned into 16 kHz mono windows without holding a long file in memory.

A file is read :data:`BLOCK_S` seconds at a time with soundfile, down-mixed (channel mean,
as :func:`trnet.audio.to_mono_16k`) and resampled block by block. Blocks start on a
multiple of the resampler's period and carry :func:`_context` samples of the neighbouring
audio on each side, so the concatenated output equals the resampling of the whole file
(up to float rounding): the windows of a long file are those of the same file read whole.

Windows: ``window`` seconds every ``hop`` seconds; the last one ends at the end of the
audio (so every sample is covered); audio no longer than one window is one window of its
own length, which is what ``trnet decode`` sees for an utterance. :meth:`Source.blocks`
groups consecutive windows into blocks (the span from the first one's start to the last
one's end, at most a given length but always at least one window), each read as the
chunks arrive: the recognizer enhances a block once and cuts its windows from it.

``trnet infer``'s inputs (files, directories searched for audio files, ``*.scp`` tables)
become named sources with :func:`input_sources`.
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from trnet.audio import to_mono_16k
from trnet.contract import SAMPLE_RATE
from trnet.errors import TrnetError

BLOCK_S = 20.0
"""Seconds of input audio read at a time."""

NON_FINITE = "audio has NaN or infinite samples"
"""The error of an input with a non-finite sample (the words of :func:`trnet.audio.read_audio`):
its features and posteriors would be NaN, and the argmax of NaN is the first class."""


def window_starts(n: int, win: int, hop: int) -> list[tuple[int, int]]:
    """``(start, end)`` sample ranges of the windows of ``n`` samples."""
    if n <= win:
        return [(0, n)]
    starts = list(range(0, n - win + 1, hop))
    if starts[-1] + win < n:
        starts.append(n - win)
    return [(s, s + win) for s in starts]


def block_groups(spans: list[tuple[int, int]], block: int) -> list[list[int]]:
    """Consecutive windows (indices into ``spans``) grouped into blocks: a window joins the
    current block while the block, from its first window's start to this window's end,
    stays within ``block`` samples; a block always has at least one window."""
    groups: list[list[int]] = []
    for k, (_, end) in enumerate(spans):
        if groups and end - spans[groups[-1][0]][0] <= block:
            groups[-1].append(k)
        else:
            groups.append([k])
    return groups


@dataclass
class Block:
    """Consecutive windows of a source and the audio they span (``start`` to the last
    window's end); ``enhanced``: the SE's output of ``audio``, once computed."""

    start: int
    audio: np.ndarray
    first: int
    """Index of its first window among the source's windows."""
    spans: list[tuple[int, int]]
    """``(start, end)`` samples of its windows, in the source's time."""
    enhanced: np.ndarray | None = None

    def cut(self, audio: np.ndarray, span: tuple[int, int]) -> np.ndarray:
        """The part of ``audio`` (the block's audio or its enhanced twin) at ``span``."""
        return audio[span[0] - self.start : span[1] - self.start]


def _resample_period(sr: int) -> tuple[int, int]:
    g = math.gcd(sr, SAMPLE_RATE)
    return sr // g, SAMPLE_RATE // g


def _context(step_in: int) -> int:
    """Input samples of context each side of a block: more than the sinc kernel's reach
    (``lowpass_filter_width`` 6 periods of the lower rate, plus one period)."""
    return step_in * (2 + -(-4096 // step_in))


def resampled_length(frames: int, sr: int) -> int:
    """Length of ``frames`` samples at ``sr`` after resampling to 16 kHz (torchaudio's)."""
    return frames if sr == SAMPLE_RATE else math.ceil(SAMPLE_RATE * frames / sr)


def _stream_file(path: str, block_s: float = BLOCK_S) -> Iterator[np.ndarray]:
    """Mono 16 kHz chunks of an audio file, read in blocks (see the module docstring)."""
    import soundfile as sf

    try:
        f = sf.SoundFile(path)
    except Exception as err:
        raise TrnetError(f"{path}: cannot read audio ({err})") from None
    with f:
        sr, total = f.samplerate, f.frames

        def read(n: int) -> np.ndarray:
            try:
                data = f.read(n, dtype="float32", always_2d=True)
            except Exception as err:
                raise TrnetError(f"{path}: cannot read audio ({err})") from None
            if not np.isfinite(data).all():
                raise TrnetError(f"{path}: {NON_FINITE}")
            return data.mean(axis=1) if data.shape[1] > 1 else data[:, 0]

        if sr == SAMPLE_RATE:
            block = int(block_s * sr)
            while True:
                chunk = read(block)
                if not len(chunk):
                    return
                yield np.ascontiguousarray(chunk, dtype=np.float32)
        step_in, step_out = _resample_period(sr)
        block = step_in * max(1, round(block_s * sr / step_in))
        ctx = _context(step_in)
        buf, buf_start, pos, emitted = np.zeros(0, np.float32), 0, 0, 0
        target = resampled_length(total, sr)
        while pos < total:
            end = min(pos + block, total)
            want = min(end + ctx, total)
            while buf_start + len(buf) < want:
                more = read(want - buf_start - len(buf))
                if not len(more):
                    raise TrnetError(f"{path}: audio ends before its header says (truncated)")
                buf = np.concatenate([buf, more])
            lo = max(0, pos - ctx)
            out = to_mono_16k(buf[lo - buf_start : want - buf_start], sr)
            lead = (pos - lo) // step_in * step_out
            n_out = target - emitted if end == total else (end - pos) // step_in * step_out
            chunk = out[lead : lead + n_out]
            emitted += len(chunk)
            yield chunk
            keep = max(0, end - ctx)
            buf, buf_start, pos = buf[keep - buf_start :], keep, end


@dataclass
class Source:
    """One input: a name, its length at 16 kHz, and a factory of its 16 kHz chunks."""

    name: str
    samples: int
    chunks: object = field(repr=False)  # () -> Iterator[np.ndarray]

    @property
    def duration(self) -> float:
        return self.samples / SAMPLE_RATE

    def blocks(self, win: int, hop: int, block: int, timer: Any = None) -> Iterator[Block]:
        """The windows (:func:`window_starts`) in blocks of at most ``block`` samples
        (:func:`block_groups`; ``block`` 0: one window each), each yielded once the chunks
        read so far cover it; ``timer`` (:class:`trnet.train.phases.PhaseTimer`) times the
        reading of the chunks as ``read``."""
        from trnet.train.phases import NO_TIMER

        spans = window_starts(self.samples, win, hop)
        groups = block_groups(spans, block)
        buf, buf_start, g = np.zeros(0, np.float32), 0, 0
        for chunk in (timer or NO_TIMER).iterate("read", self.chunks()):
            buf = np.concatenate([buf, chunk]) if len(buf) else chunk
            while g < len(groups) and spans[groups[g][-1]][1] <= buf_start + len(buf):
                first = groups[g][0]
                start, end = spans[first][0], spans[groups[g][-1]][1]
                own = [spans[k] for k in groups[g]]
                yield Block(start, buf[start - buf_start : end - buf_start], first, own)
                g += 1
                if g < len(groups):  # keep from the next block's start (or what is read)
                    drop = min(spans[groups[g][0]][0] - buf_start, len(buf))
                    buf, buf_start = buf[drop:], buf_start + drop
        if g < len(groups):
            got = buf_start + len(buf)
            raise TrnetError(f"{self.name}: audio ends early ({got} of {self.samples} samples)")


def check_length(name: str, samples: int, min_samples: int) -> None:
    if samples == 0:
        raise TrnetError(f"{name}: audio file is empty (no samples)")
    if samples < min_samples:
        ms = 1000 * min_samples / SAMPLE_RATE
        raise TrnetError(
            f"{name}: audio shorter than one analysis frame ({samples} samples at 16 kHz "
            f"< {min_samples}, {ms:g} ms)"
        )


def file_source(path: str | os.PathLike, name: str | None = None) -> Source:
    """A file read in blocks; errors (missing, empty, not audio) name the file."""
    import soundfile as sf

    path = str(path)
    name = name or path
    p = Path(path)
    if not p.is_file():
        raise TrnetError(f"{path}: file not found")
    if p.stat().st_size == 0:
        raise TrnetError(f"{path}: audio file is empty (0 bytes)")
    try:
        info = sf.info(path)
    except Exception as err:
        reason = str(err).split("\n")[0]
        raise TrnetError(f"{path}: not a readable audio file ({reason})") from None
    samples = resampled_length(info.frames, info.samplerate)
    return Source(name, samples, lambda: _stream_file(path))


def array_source(name: str, wave: np.ndarray, sample_rate: int) -> Source:
    """An in-memory waveform ``(samples,)`` or ``(samples, channels)``, any rate."""
    wave = np.asarray(wave)
    if wave.ndim == 2 and wave.shape[0] < wave.shape[1] and wave.shape[0] <= 8:
        wave = wave.T  # (channels, samples) as torchaudio returns it
    if wave.ndim not in (1, 2):
        raise TrnetError(f"{name}: expected audio of shape (samples,) or (samples, channels)")
    if wave.dtype == np.int16:
        wave = wave.astype(np.float32) / 32768.0
    if wave.shape[0] == 0:
        raise TrnetError(f"{name}: audio is empty (no samples)")
    if not np.isfinite(wave).all():
        raise TrnetError(f"{name}: {NON_FINITE}")
    if int(sample_rate) <= 0:
        raise TrnetError(f"{name}: sample rate must be positive, got {sample_rate}")
    mono = to_mono_16k(wave, int(sample_rate))
    return Source(name, len(mono), lambda: iter([mono]))


def spec_source(name: str, spec: str) -> Source:
    """A wav.scp value: a file path (read in blocks) or a Kaldi ``ark:offset`` (read whole)."""
    from trnet.audio import _is_ark_spec, read_audio

    if _is_ark_spec(spec) or spec.endswith("|"):
        wave = read_audio(spec, allow_empty=True)
        return Source(name, len(wave), lambda: iter([wave]))
    return file_source(spec, name)


AUDIO_SUFFIXES = {".wav", ".flac", ".ogg", ".oga", ".opus", ".mp3", ".aif", ".aiff", ".au",
                  ".snd", ".caf", ".w64", ".rf64", ".sph", ".nist", ".voc", ".wv"}  # fmt: skip


def expand_inputs(inputs: list[str]) -> list[tuple[str, str] | TrnetError]:
    """``(name, wav.scp value)`` per input: a file, each audio file under a directory
    (sorted), or each entry of a ``*.scp`` (names are its keys); a bad input is an error."""
    from trnet.io import read_kv

    items: list[tuple[str, str] | TrnetError] = []
    for arg in inputs:
        path = Path(arg)
        if path.is_dir():
            found = sorted(
                p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in AUDIO_SUFFIXES
            )
            if not found:
                items.append(TrnetError(f"{arg}: no audio files in this directory"))
            items += [(str(p), str(p)) for p in found]
        elif path.suffix == ".scp" and path.is_file():
            try:
                items += list(read_kv(path).items())
            except TrnetError as err:
                items.append(err)
        elif not path.exists():
            items.append(TrnetError(f"{arg}: no such file or directory"))
        else:
            items.append((arg, arg))
    return items


def input_sources(inputs: list[str]) -> tuple[list[str], list[Source | TrnetError]]:
    """The names and sources of :func:`expand_inputs`; an input that cannot be opened is its
    error (named by the error's first field), so that the others still run."""
    items = expand_inputs(inputs)
    names = [str(i).split(":")[0] if isinstance(i, TrnetError) else i[0] for i in items]
    sources: list[Source | TrnetError] = []
    for item in items:
        if isinstance(item, TrnetError):
            sources.append(item)
            continue
        try:
            sources.append(spec_source(*item))
        except TrnetError as err:
            sources.append(err)
    return names, sources
