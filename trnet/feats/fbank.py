"""80-bin log-Mel fbank as Kaldi's ``compute-fbank-feats`` (torchaudio.compliance.kaldi's maths).

Kaldi works on the int16 sample scale, so float audio in [-1, 1] is multiplied by 32768
before the call; otherwise most log-Mel values sit on the energy floor. Dither (Gaussian,
added per frame by torchaudio) draws from torch's global generator, so it is made
reproducible by seeding a forked generator with a per-utterance seed.

:class:`KaldiFbank` runs the same tensor operations as ``torchaudio.compliance.kaldi.fbank``
in the same order, so its output is bit-identical (tests compare the two over many
settings), but it builds the window and the Mel matrix once instead of per call and skips
the frame log-energy, which fbank without ``use_energy`` computes and throws away (hence
``trnet feats`` outrunning the bare read + fbank loop of ``trnet bench mix-feats``).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from functools import lru_cache
from typing import TYPE_CHECKING

import numpy as np

from trnet.contract import SAMPLE_RATE

if TYPE_CHECKING:
    import torch

INT16_SCALE = 32768.0
BLACKMAN_COEFF = 0.42
"""torchaudio's default ``blackman_coeff`` (FbankConfig does not change it)."""


class TooShortError(ValueError):
    """Audio shorter than one analysis frame (no fbank row to compute)."""


@dataclass(frozen=True)
class FbankConfig:
    """Options passed to ``torchaudio.compliance.kaldi.fbank`` (Kaldi's names and defaults)."""

    num_mel_bins: int = 80
    frame_length: float = 25.0
    frame_shift: float = 10.0
    window_type: str = "hamming"
    sample_frequency: int = SAMPLE_RATE
    dither: float = 0.0
    preemphasis_coefficient: float = 0.97
    remove_dc_offset: bool = True
    low_freq: float = 20.0
    high_freq: float = 0.0
    energy_floor: float = 0.0
    snip_edges: bool = True

    def as_dict(self) -> dict:
        return asdict(self)


class KaldiFbank:
    """``kaldi.fbank(x, **conf)`` for one configuration, with its constant tensors built once."""

    def __init__(self, conf: FbankConfig) -> None:
        import torch
        from torchaudio.compliance import kaldi

        self.conf = conf
        rate = float(conf.sample_frequency)
        self.shift = int(rate * conf.frame_shift * 0.001)
        self.size = int(rate * conf.frame_length * 0.001)
        self.padded = kaldi._next_power_of_2(self.size)
        if self.size < 2 or self.shift <= 0 or not 0 <= conf.preemphasis_coefficient <= 1:
            raise ValueError(f"fbank: unusable frame settings {conf}")
        dtype = torch.float32
        window = kaldi._feature_window_function(
            conf.window_type, self.size, BLACKMAN_COEFF, torch.device("cpu"), dtype
        )
        self.window = window.unsqueeze(0)
        mel, _ = kaldi.get_mel_banks(
            conf.num_mel_bins, self.padded, rate, conf.low_freq, conf.high_freq, 100.0, -500.0, 1.0
        )
        self.mel = torch.nn.functional.pad(mel.to(dtype=dtype), (0, 1), mode="constant", value=0)
        self.epsilon = kaldi._get_epsilon(torch.device("cpu"), dtype)

    def __call__(self, samples: torch.Tensor) -> torch.Tensor:
        """Log-Mel energies ``(frames, num_mel_bins)`` of a 1-D float32 tensor (int16 scale)."""
        import torch
        from torchaudio.compliance import kaldi

        conf = self.conf
        if samples.numel() < self.size:
            n = samples.numel()
            raise TooShortError(f"audio shorter than one frame ({n} < {self.size} samples)")
        frames = kaldi._get_strided(samples, self.size, self.shift, conf.snip_edges)
        if conf.dither != 0.0:
            frames = frames + torch.randn(frames.shape, dtype=frames.dtype) * conf.dither
        if conf.remove_dc_offset:
            frames = frames - torch.mean(frames, dim=1).unsqueeze(1)
        if conf.preemphasis_coefficient != 0.0:
            previous = torch.cat((frames[:, :1], frames[:, :-1]), dim=1)
            frames = frames - conf.preemphasis_coefficient * previous
        windowed = torch.zeros((frames.shape[0], self.padded), dtype=frames.dtype)
        torch.mul(frames, self.window, out=windowed[:, : self.size])
        spectrum = torch.fft.rfft(windowed).abs().pow(2.0)
        return torch.max(torch.mm(spectrum, self.mel.T), self.epsilon).log()


@lru_cache(maxsize=8)
def kaldi_fbank(conf: FbankConfig) -> KaldiFbank:
    """The per-process :class:`KaldiFbank` of ``conf``."""
    return KaldiFbank(conf)


def compute_fbank(wave: np.ndarray, conf: FbankConfig, seed: int | None = None) -> np.ndarray:
    """Log-Mel fbank ``(frames, num_mel_bins)`` float32 of float audio in [-1, 1].

    ``seed`` fixes the dither noise (needed only when ``conf.dither > 0``). Raises
    :class:`TooShortError` for audio shorter than one frame.
    """
    import torch

    samples = torch.from_numpy(np.ascontiguousarray(wave, dtype=np.float32) * INT16_SCALE)
    fbank = kaldi_fbank(conf)
    if conf.dither == 0:
        feats = fbank(samples)
    else:
        with torch.random.fork_rng(devices=[]):
            if seed is not None:
                torch.default_generator.manual_seed(seed)
            feats = fbank(samples)
    return feats.numpy().astype(np.float32, copy=False)
