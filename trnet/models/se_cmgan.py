"""A CMGAN-style two-stage conformer generator (Cao et al., 2022), sizes from the config.

Input: the compressed complex spectrum ``(B, 2, T, F)``; the encoder sees three channels
(compressed magnitude, real, imaginary). A dense encoder (dilated dense block, then a
stride-2 conv over frequency) feeds ``n_blocks`` two-stage conformer blocks (a conformer
over time for every frequency bin, then one over frequency for every frame). Two decoders
follow: a magnitude-mask decoder (mask times the noisy magnitude, noisy phase) and a
complex-refinement decoder whose real/imaginary output is added to the masked spectrum.
"""

from __future__ import annotations

import torch
from torch import nn

from trnet.models.stft import N_FFT, magnitude

CMGAN_DEFAULTS = {
    "channels": 64,
    "n_blocks": 4,
    "heads": 4,
    "ff_mult": 4,
    "conv_kernel": 31,
    "dense_depth": 4,
    "dropout": 0.0,
}


class DilatedDenseBlock(nn.Module):
    """``depth`` 2-D convs, each on the concatenation of all earlier outputs, dilated in time."""

    def __init__(self, channels: int, depth: int) -> None:
        super().__init__()
        self.layers = nn.ModuleList()
        for i in range(depth):
            dil = 2**i
            self.layers.append(
                nn.Sequential(
                    nn.Conv2d(
                        channels * (i + 1),
                        channels,
                        (3, 3),
                        dilation=(dil, 1),
                        padding=(dil, 1),
                    ),
                    nn.InstanceNorm2d(channels, affine=True),
                    nn.PReLU(channels),
                )
            )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        feats = x
        out = x
        for layer in self.layers:
            out = layer(feats)
            feats = torch.cat([out, feats], dim=1)
        return out


class DenseEncoder(nn.Module):
    def __init__(self, in_ch: int, channels: int, depth: int) -> None:
        super().__init__()
        self.inp = nn.Sequential(
            nn.Conv2d(in_ch, channels, 1), nn.InstanceNorm2d(channels, affine=True), nn.PReLU()
        )
        self.dense = DilatedDenseBlock(channels, depth)
        self.down = nn.Sequential(
            nn.Conv2d(channels, channels, (1, 3), stride=(1, 2), padding=(0, 1)),
            nn.InstanceNorm2d(channels, affine=True),
            nn.PReLU(channels),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.down(self.dense(self.inp(x)))


class FeedForward(nn.Sequential):
    def __init__(self, dim: int, mult: int, dropout: float) -> None:
        super().__init__(
            nn.LayerNorm(dim),
            nn.Linear(dim, dim * mult),
            nn.SiLU(),
            nn.Dropout(dropout),
            nn.Linear(dim * mult, dim),
            nn.Dropout(dropout),
        )


class ConvModule(nn.Module):
    """Pointwise conv + GLU, depthwise conv, batch norm, SiLU, pointwise conv."""

    def __init__(self, dim: int, kernel: int, dropout: float) -> None:
        super().__init__()
        self.norm = nn.LayerNorm(dim)
        self.body = nn.Sequential(
            nn.Conv1d(dim, 2 * dim, 1),
            nn.GLU(dim=1),
            nn.Conv1d(dim, dim, kernel, padding=kernel // 2, groups=dim),
            nn.BatchNorm1d(dim),
            nn.SiLU(),
            nn.Conv1d(dim, dim, 1),
            nn.Dropout(dropout),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(self.norm(x).transpose(1, 2)).transpose(1, 2)


class ConformerBlock(nn.Module):
    """Half-step FF, self-attention, conv module, half-step FF, final layer norm."""

    def __init__(self, dim: int, heads: int, ff_mult: int, kernel: int, dropout: float) -> None:
        super().__init__()
        self.ff1 = FeedForward(dim, ff_mult, dropout)
        self.att_norm = nn.LayerNorm(dim)
        self.att = nn.MultiheadAttention(dim, heads, dropout=dropout, batch_first=True)
        self.conv = ConvModule(dim, kernel, dropout)
        self.ff2 = FeedForward(dim, ff_mult, dropout)
        self.norm = nn.LayerNorm(dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x + 0.5 * self.ff1(x)
        h = self.att_norm(x)
        x = x + self.att(h, h, h, need_weights=False)[0]
        x = x + self.conv(x)
        x = x + 0.5 * self.ff2(x)
        return self.norm(x)


class TwoStageConformer(nn.Module):
    """A conformer over time (per frequency bin), then one over frequency (per frame)."""

    def __init__(self, dim: int, heads: int, ff_mult: int, kernel: int, dropout: float) -> None:
        super().__init__()
        self.time = ConformerBlock(dim, heads, ff_mult, kernel, dropout)
        self.freq = ConformerBlock(dim, heads, ff_mult, kernel, dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, c, t, f = x.shape
        x = x.permute(0, 3, 2, 1).reshape(b * f, t, c)
        x = self.time(x)
        x = x.reshape(b, f, t, c).permute(0, 2, 1, 3).reshape(b * t, f, c)
        x = self.freq(x)
        return x.reshape(b, t, f, c).permute(0, 3, 1, 2)


class SubPixelUp(nn.Module):
    """Doubles the frequency axis: a conv to ``2C`` channels, reshaped onto frequency."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.conv = nn.Conv2d(channels, channels * 2, (1, 3), padding=(0, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, c, t, f = x.shape
        y = self.conv(x).reshape(b, 2, c, t, f)
        return y.permute(0, 2, 3, 4, 1).reshape(b, c, t, 2 * f)


class Decoder(nn.Module):
    """Dense block, sub-pixel up-sampling, conv back to ``out_ch`` channels on F bins."""

    def __init__(self, channels: int, depth: int, out_ch: int) -> None:
        super().__init__()
        self.dense = DilatedDenseBlock(channels, depth)
        self.up = SubPixelUp(channels)
        self.post = nn.Sequential(nn.InstanceNorm2d(channels, affine=True), nn.PReLU(channels))
        self.out = nn.Conv2d(channels, out_ch, (1, 2))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.out(self.post(self.up(self.dense(x))))


class LearnableSigmoid(nn.Module):
    """``beta * sigmoid(slope_f * x)`` with one slope per frequency bin (mask up to beta)."""

    def __init__(self, n_bins: int, beta: float = 2.0) -> None:
        super().__init__()
        self.slope = nn.Parameter(torch.ones(n_bins))
        self.beta = beta

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.beta * torch.sigmoid(self.slope * x)


class CMGANGenerator(nn.Module):
    """Maps a ``(B, 2, T, F)`` compressed spectrum to its enhanced estimate."""

    def __init__(
        self,
        channels: int = CMGAN_DEFAULTS["channels"],
        n_blocks: int = CMGAN_DEFAULTS["n_blocks"],
        heads: int = CMGAN_DEFAULTS["heads"],
        ff_mult: int = CMGAN_DEFAULTS["ff_mult"],
        conv_kernel: int = CMGAN_DEFAULTS["conv_kernel"],
        dense_depth: int = CMGAN_DEFAULTS["dense_depth"],
        dropout: float = CMGAN_DEFAULTS["dropout"],
        n_bins: int = N_FFT // 2 + 1,
    ) -> None:
        super().__init__()
        self.encoder = DenseEncoder(3, channels, dense_depth)
        self.blocks = nn.Sequential(
            *[
                TwoStageConformer(channels, heads, ff_mult, conv_kernel, dropout)
                for _ in range(n_blocks)
            ]
        )
        self.mask_decoder = Decoder(channels, dense_depth, 1)
        self.mask_act = LearnableSigmoid(n_bins)
        self.complex_decoder = Decoder(channels, dense_depth, 2)

    def forward(self, spec: torch.Tensor) -> torch.Tensor:
        mag = magnitude(spec)
        feats = self.blocks(self.encoder(torch.cat([mag.unsqueeze(1), spec], dim=1)))
        mask = self.mask_act(self.mask_decoder(feats).squeeze(1))
        masked = spec / mag.unsqueeze(1) * (mask * mag).unsqueeze(1)
        return masked + self.complex_decoder(feats)
