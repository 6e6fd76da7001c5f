"""A tiny data dir and noise set for `trnet mix` (and the stages after it), and `trnet mix`
through the CLI."""

from __future__ import annotations

import numpy as np
import soundfile as sf
from typer.testing import CliRunner

from trnet.cli import app
from trnet.io import write_kv

SR = 16000


def speech_like(rng: np.random.Generator, seconds: float, peak: float) -> np.ndarray:
    """A voiced-like signal with pauses: harmonics of a wobbling F0 under an on/off envelope."""
    t = np.arange(int(seconds * SR)) / SR
    f0 = 140 + 30 * np.sin(2 * np.pi * 3 * t + rng.uniform(0, 6))
    phase = 2 * np.pi * np.cumsum(f0) / SR
    x = sum(np.sin(k * phase) / k for k in range(1, 8)) * (np.sin(2 * np.pi * 2 * t) > -0.3)
    x = x + 0.02 * rng.standard_normal(t.size)
    return (x / np.max(np.abs(x)) * peak).astype(np.float32)


def make_data_dir(root, silent: bool = False):
    """Four utterances (one loud: peak protection; one quiet: int16 at 20 dB) + labels."""
    rng = np.random.default_rng(1)
    peaks = {"spkA-u1": 0.5, "spkA-u2": 0.98, "spkB-u3": 0.01, "spkB-u4": 0.3}
    if silent:
        peaks["spkB-u5"] = 0.0
    wav = {}
    for i, (utt, peak) in enumerate(peaks.items()):
        path = root / "wav" / f"{utt}.wav"
        path.parent.mkdir(parents=True, exist_ok=True)
        sf.write(path, speech_like(rng, 0.8 + 0.3 * i, peak), SR, subtype="PCM_16")
        wav[utt] = str(path)
    data = root / "data"
    write_kv(data / "wav.scp", wav)
    write_kv(data / "utt2spk", {u: u.split("-")[0] for u in wav})
    write_kv(data / "utt2emo", {u: "neu" for u in wav})
    write_kv(data / "utt2dur", {u: "1.0" for u in wav})
    (data / "corpus.json").write_text('{"corpus": "iemocap", "generated": true}\n')
    return data


def make_noise_set(root):
    """A 16 kHz clip, a 44.1 kHz stereo clip, a zero-length clip and an all-zero clip."""
    rng = np.random.default_rng(2)
    noise = root / "noise"
    (noise / "clips").mkdir(parents=True)
    clips = {
        "white": (0.1 * rng.standard_normal(SR // 2), SR),
        "stereo44k": (0.2 * rng.standard_normal((44100, 2)), 44100),
        "empty": (np.zeros(0), SR),
        "zeros": (np.zeros(SR), SR),
    }
    for name, (wave, sr) in clips.items():
        sf.write(noise / "clips" / f"{name}.wav", wave.astype(np.float32), sr, subtype="PCM_16")
    write_kv(noise / "wav.scp", {c: str(noise / "clips" / f"{c}.wav") for c in clips})
    write_kv(noise / "utt2category", {c: "noise" for c in clips})
    durs = {c: f"{len(w) / sr:.3f}" for c, (w, sr) in clips.items()}
    write_kv(noise / "utt2dur", durs)
    return noise


def run_mix(*args):
    result = CliRunner().invoke(app, ["mix", *map(str, args)])
    return result
