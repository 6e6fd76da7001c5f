"""Lossy codecs and the telephone band, as round trips through libsndfile (soundfile).

MP3 (MPEG-1/2 layer III, LAME inside libsndfile) and Opus (in Ogg) are encoded in memory
and decoded again. libsndfile takes a ``compression_level`` in [0, 1], not a bitrate, so
the level a round trip reports is the bitrate measured from the encoded size (``kbps``;
headers included, so it is a little above the nominal rate on a short utterance). MP3 is
encoded at a constant bitrate (the level picks it; 0.95 gives 16 kbps at 16 kHz); Opus
has libsndfile's one mode.

libsndfile removes the encoder's delay and padding itself for most settings, but not all
(an MP3 at 32 kbps or less comes back 1105 samples late and longer): the delay is *measured* on
every utterance, as the cross-correlation peak of the decoded signal against the input
within ±:data:`MAX_DELAY_S`, then removed, and the end cut or zero-padded to the input's
length, so the output is aligned at lag 0.

The telephone band resamples to 8 kHz and back (torchaudio, as everywhere in trnet),
optionally through G.711 mu-law (libsndfile's ``ULAW`` WAV subtype, the standard's
table) at 8 kHz.
"""

from __future__ import annotations

import io
import math

import numpy as np
import soundfile as sf

from trnet.audio import to_mono_16k
from trnet.contract import SAMPLE_RATE
from trnet.corrupt.corrupted import Corrupted, best_lag, fit_length, sdr_db
from trnet.errors import TrnetError

CODECS = {"mp3": ("MP3", "MPEG_LAYER_III", "CONSTANT"), "opus": ("OGG", "OPUS", None)}
"""Codec name → (libsndfile format, subtype, bitrate mode)."""
MAX_DELAY_S = 0.25
TELEPHONE_SR = 8000


def require_format(fmt: str, subtype: str) -> None:
    """A one-line :class:`TrnetError` when this libsndfile cannot write ``fmt``/``subtype``."""
    if fmt not in sf.available_formats() or subtype not in sf.available_subtypes(fmt):
        raise TrnetError(
            f"{fmt} {subtype}: not supported by this libsndfile ({sf.__libsndfile_version__}); "
            "soundfile>=0.13's wheels bundle one that is"
        )


def _round_trip(
    wave: np.ndarray, sr: int, fmt: str, subtype: str, **options: object
) -> tuple[np.ndarray, int]:
    """Encode ``wave`` in memory and decode it: (decoded float32, encoded size in bytes)."""
    require_format(fmt, subtype)
    buf = io.BytesIO()
    try:
        sf.write(buf, wave, sr, format=fmt, subtype=subtype, **options)
        size = buf.tell()
        buf.seek(0)
        decoded, _ = sf.read(buf, dtype="float32", always_2d=False)
    except sf.LibsndfileError as err:
        settings = ", ".join(f"{k}={v}" for k, v in options.items() if v is not None)
        raise TrnetError(f"{fmt} {subtype} at {sr} Hz ({settings}): {err}") from None
    return np.asarray(decoded, dtype=np.float32), size


def align(decoded: np.ndarray, reference: np.ndarray, sr: int) -> tuple[np.ndarray, int]:
    """``decoded`` shifted by its measured delay against ``reference`` and cut or padded to
    its length: (aligned float32, delay in samples; positive = ``decoded`` was late)."""
    delay = best_lag(decoded, reference, round(MAX_DELAY_S * sr))
    shifted = decoded[delay:] if delay >= 0 else np.concatenate([np.zeros(-delay), decoded])
    return fit_length(shifted, reference.size), delay


def codec_round_trip(
    speech: np.ndarray, codec: str, compression_level: float, sr: int = SAMPLE_RATE
) -> Corrupted:
    """``speech`` encoded with ``codec`` (``mp3`` or ``opus``) at libsndfile's
    ``compression_level`` and decoded, aligned. Levels: ``kbps`` (from the encoded size),
    ``delay`` (samples removed) and ``sdr`` (dB, the output against the input)."""
    if codec not in CODECS:
        raise TrnetError(f"unknown codec {codec!r}; known: {', '.join(CODECS)}")
    if not 0 <= compression_level <= 1:
        raise TrnetError(f"{codec}: compression level must be in [0, 1], got {compression_level}")
    x = np.asarray(speech, dtype=np.float32)
    fmt, subtype, mode = CODECS[codec]
    decoded, size = _round_trip(
        x, sr, fmt, subtype, compression_level=compression_level, bitrate_mode=mode
    )
    wave, delay = align(decoded, x, sr)
    kbps = size * 8 / (x.size / sr) / 1000 if x.size else math.nan
    return Corrupted(wave, {"kbps": kbps, "delay": float(delay), "sdr": sdr_db(x, wave)})


def telephone(speech: np.ndarray, mu_law: bool = False, sr: int = SAMPLE_RATE) -> Corrupted:
    """``speech`` through an 8 kHz channel: resampled to 8 kHz (band limit 4 kHz), optionally
    G.711 mu-law coded, and back to ``sr``. Levels: ``sdr`` (dB) and ``delay`` (samples;
    measured as for the codecs, 0 for the zero-phase resampler)."""
    x = np.asarray(speech, dtype=np.float32)
    narrow = to_mono_16k(x, sr, TELEPHONE_SR)
    if mu_law:
        narrow, _ = _round_trip(narrow, TELEPHONE_SR, "WAV", "ULAW")
    wave, delay = align(to_mono_16k(narrow, TELEPHONE_SR, sr), x, sr)
    return Corrupted(wave, {"sdr": sdr_db(x, wave), "delay": float(delay)})
