"""The STFT path shared by every SE model (as in CMGAN / TRNet).

waveform → normalise by ``c = sqrt(N / sum x^2)`` → STFT (n_fft 400, hop 100, Hamming)
→ magnitude compressed ``|X|^0.3`` (phase kept) → network → inverse compression → iSTFT
back to the input length → divide by ``c``.

Networks see and return the *compressed complex* spectrum ``(B, 2, T, F)`` (real and
imaginary parts of ``|X|^0.3 e^{j angle X}``), ``F = n_fft // 2 + 1``.
"""

from __future__ import annotations

import torch
from torch import nn

N_FFT = 400
HOP = 100
POWER = 0.3


def norm_factor(wave: torch.Tensor, lengths: torch.Tensor | None = None) -> torch.Tensor:
    """Per-utterance ``c = sqrt(N / sum x^2)`` of ``(B, N)`` audio (zero padding excluded)."""
    n = torch.full((wave.shape[0],), wave.shape[1], device=wave.device, dtype=wave.dtype)
    if lengths is not None:
        n = lengths.to(wave.dtype)
    energy = wave.pow(2).sum(dim=1).clamp_min(1e-8)
    return torch.sqrt(n / energy).unsqueeze(1)


class CompressedSTFT(nn.Module):
    """Forward and inverse of the compressed-magnitude STFT."""

    def __init__(self, n_fft: int = N_FFT, hop: int = HOP, power: float = POWER) -> None:
        super().__init__()
        self.n_fft, self.hop, self.power = n_fft, hop, power
        self.register_buffer("window", torch.hamming_window(n_fft), persistent=False)

    def padded_length(self, length: int) -> int:
        """``length`` plus one frame of zeros: an utterance shorter than one frame still has
        frames, and the last frames do not depend on how much batch padding follows."""
        return length + self.n_fft

    def forward(self, wave: torch.Tensor) -> torch.Tensor:
        """``(B, N)`` audio → ``(B, 2, T, F)`` compressed complex spectrum."""
        spec = torch.stft(
            wave, self.n_fft, self.hop, window=self.window, onesided=True, return_complex=True
        )
        mag = spec.abs().clamp_min(1e-12)
        spec = spec / mag * mag.pow(self.power)
        return torch.stack([spec.real, spec.imag], dim=1).transpose(2, 3)

    def inverse(self, spec: torch.Tensor, length: int) -> torch.Tensor:
        """``(B, 2, T, F)`` compressed complex spectrum → ``(B, length)`` audio."""
        cplx = torch.complex(spec[:, 0], spec[:, 1]).transpose(1, 2)
        mag = cplx.abs().clamp_min(1e-12)
        cplx = cplx / mag * mag.pow(1.0 / self.power)
        return torch.istft(
            cplx, self.n_fft, self.hop, window=self.window, onesided=True, length=length
        )


def magnitude(spec: torch.Tensor) -> torch.Tensor:
    """Compressed magnitude ``(B, T, F)`` of a ``(B, 2, T, F)`` compressed spectrum."""
    return torch.sqrt(spec[:, 0] ** 2 + spec[:, 1] ** 2 + 1e-12)


class SpectralEnhancer(nn.Module):
    """Wraps a spectrum-to-spectrum ``net`` into waveform-to-waveform enhancement."""

    def __init__(self, net: nn.Module, kind: str | None = None) -> None:
        super().__init__()
        self.net = net
        self.kind = kind  # the SE kind that built it (crn, cmgan; None: a bare net)
        self.stft = CompressedSTFT()

    def forward(self, wave: torch.Tensor, lengths: torch.Tensor | None = None) -> torch.Tensor:
        """``(B, N)`` noisy audio (zero-padded to ``lengths``) → ``(B, N)`` enhanced audio."""
        return self.enhance_with_spec(wave, lengths)[0]

    def enhance(self, wave: torch.Tensor, lengths: torch.Tensor | None = None) -> torch.Tensor:
        """The :class:`~trnet.se.enhancer.Enhancer` call: :meth:`forward` without gradient."""
        with torch.no_grad():
            return self(wave, lengths)

    def describe(self) -> dict:
        """The kind, its network and how many parameters it has."""
        return {
            "kind": self.kind or type(self.net).__name__,
            "net": type(self.net).__name__,
            "parameters": sum(p.numel() for p in self.net.parameters()),
        }

    def enhance_with_spec(
        self, wave: torch.Tensor, lengths: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Enhanced audio, the estimated compressed spectrum and ``c`` (for the losses)."""
        length = wave.shape[1]
        c = norm_factor(wave, lengths)
        padded = nn.functional.pad(wave * c, (0, self.stft.padded_length(length) - length))
        est = self.net(self.stft(padded))
        out = self.stft.inverse(est, padded.shape[1])[:, :length] / c
        if lengths is not None:
            mask = torch.arange(length, device=wave.device)[None, :] < lengths[:, None]
            out = out * mask
        return out, est, c
