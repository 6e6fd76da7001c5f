"""80-bin log-Mel fbank as Kaldi's ``compute-fbank-feats`` (via torchaudio.compliance.kaldi).

Kaldi works on the int16 sample scale, so float audio in [-1, 1] is multiplied by 32768
before the call; otherwise most log-Mel values sit on the energy floor. Dither (Gaussian,
added per frame by torchaudio) draws from torch's global generator, so it is made
reproducible by seeding a forked generator with a per-utterance seed.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

INT16_SCALE = 32768.0


@dataclass(frozen=True)
class FbankConfig:
    """Options passed to ``torchaudio.compliance.kaldi.fbank`` (Kaldi's names and defaults)."""

    num_mel_bins: int = 80
    frame_length: float = 25.0
    frame_shift: float = 10.0
    window_type: str = "hamming"
    sample_frequency: int = 16000
    dither: float = 0.0
    preemphasis_coefficient: float = 0.97
    remove_dc_offset: bool = True
    low_freq: float = 20.0
    high_freq: float = 0.0
    energy_floor: float = 0.0
    snip_edges: bool = True

    def as_dict(self) -> dict:
        return asdict(self)


def compute_fbank(wave: np.ndarray, conf: FbankConfig, seed: int | None = None) -> np.ndarray:
    """Log-Mel fbank ``(frames, num_mel_bins)`` float32 of float audio in [-1, 1].

    ``seed`` fixes the dither noise (needed only when ``conf.dither > 0``).
    """
    import torch
    from torchaudio.compliance import kaldi

    samples = torch.from_numpy(np.ascontiguousarray(wave, dtype=np.float32) * INT16_SCALE)
    kwargs = conf.as_dict()
    kwargs["sample_frequency"] = float(kwargs["sample_frequency"])
    if conf.dither == 0:
        feats = kaldi.fbank(samples.unsqueeze(0), **kwargs)
    else:
        with torch.random.fork_rng(devices=[]):
            if seed is not None:
                torch.default_generator.manual_seed(seed)
            feats = kaldi.fbank(samples.unsqueeze(0), **kwargs)
    return feats.numpy().astype(np.float32, copy=False)
