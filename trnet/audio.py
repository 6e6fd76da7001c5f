"""Audio reading and writing: the one place where any sample rate / channel count becomes
16 kHz mono float32.

``wav.scp`` values may be a file path, a Kaldi ark entry (``file.ark:offset``, read with
kaldiio), or a command ending in ``|`` is *not* supported (we never spawn shells).
Audio I/O uses soundfile; resampling uses torchaudio.
"""

from __future__ import annotations

import io
import os
from pathlib import Path

import numpy as np
import soundfile as sf

from trnet.contract import SAMPLE_RATE
from trnet.errors import TrnetError


def _resample(wave: np.ndarray, orig_sr: int, target_sr: int) -> np.ndarray:
    import torch
    import torchaudio.functional as AF

    out = AF.resample(torch.from_numpy(np.ascontiguousarray(wave)), orig_sr, target_sr)
    return out.numpy().astype(np.float32)


def to_mono_16k(wave: np.ndarray, sr: int, target_sr: int = SAMPLE_RATE) -> np.ndarray:
    """Down-mix ``(samples,)`` or ``(samples, channels)`` audio to mono and resample."""
    wave = np.asarray(wave, dtype=np.float32)
    if wave.ndim == 2:
        wave = wave.mean(axis=1)
    if sr != target_sr:
        wave = _resample(wave, sr, target_sr)
    return wave.astype(np.float32, copy=False)


def read_audio(
    spec: str | os.PathLike, target_sr: int = SAMPLE_RATE, allow_empty: bool = False
) -> np.ndarray:
    """Read a wav.scp value (path or ``ark:offset``) as mono float32 in [-1, 1] at ``target_sr``.

    An empty file is an error unless ``allow_empty`` (then: an empty array).
    """
    spec = str(spec)
    if spec.endswith("|"):
        raise TrnetError(f"{spec}: piped wav.scp commands are not supported; give a file path")
    try:
        if _is_ark_spec(spec):
            import kaldiio

            sr, data = kaldiio.load_mat(spec)
            data = np.asarray(data)
            wave = data.astype(np.float32) / 32768.0 if data.dtype == np.int16 else data
        else:
            wave, sr = sf.read(spec, dtype="float32", always_2d=False)
    except TrnetError:
        raise
    except Exception as err:  # soundfile / kaldiio raise many types for bad files
        raise TrnetError(f"{spec}: cannot read audio ({err})") from None
    if wave.size == 0:
        if allow_empty:
            return np.zeros(0, np.float32)
        raise TrnetError(f"{spec}: audio file is empty")
    if not np.isfinite(wave).all():
        raise TrnetError(f"{spec}: audio has NaN or infinite samples")
    return to_mono_16k(wave, int(sr), target_sr)


def _is_ark_spec(spec: str) -> bool:
    path, sep, offset = spec.rpartition(":")
    return bool(sep) and offset.isdigit() and ".ark" in Path(path).name


def audio_info(path: str | os.PathLike) -> tuple[int, int, int]:
    """``(sample_rate, channels, frames)`` of an audio file, without reading it."""
    try:
        info = sf.info(str(path))
    except Exception as err:
        raise TrnetError(f"{path}: cannot read audio header ({err})") from None
    return info.samplerate, info.channels, info.frames


def write_audio(
    path: str | os.PathLike, wave: np.ndarray, sr: int = SAMPLE_RATE, subtype: str = "PCM_16"
) -> None:
    """Write audio atomically (tmp file, then rename); format from the suffix (wav, flac)."""
    from trnet.io import atomic_write

    path = Path(path)
    fmt = path.suffix.lstrip(".").upper() or "WAV"
    data = encode(np.asarray(wave, dtype=np.float32), sr, fmt, subtype)
    with atomic_write(path, "wb") as f:
        f.write(data)


def encode(wave: np.ndarray, sr: int, fmt: str, subtype: str = "PCM_16") -> bytes:
    """An audio file's bytes, made in memory: a full disk is then a plain OSError of the
    write that follows, not an error inside libsndfile's write callback (which Python
    prints as an ignored exception before the real one)."""
    buf = io.BytesIO()
    sf.write(buf, wave, sr, format=fmt, subtype=subtype)
    return buf.getvalue()


def to_int16(wave: np.ndarray) -> np.ndarray:
    """Kaldi's int16 scale: round(x * 32768), clipped."""
    scaled = np.asarray(wave, dtype=np.float64) * 32768
    return np.clip(np.round(scaled, out=scaled), -32768, 32767, out=scaled).astype(np.int16)
