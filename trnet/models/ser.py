"""The SER model of every system: CNN6 backbone, SNR-aware compensation, FiLM bridge.

One class, :class:`SerModel`; the systems differ only by its flags and by what the trainer
feeds it (see ``trnet.train.config``):

* no compensation: one feature input (noisy, clean or enhanced log-Mel);
* compensation: noisy ``Xn`` and enhanced ``Xe`` are blended per utterance,
  ``c_f = cos_t(Xn[:, :, f], Xe[:, :, f])``, ``s = hardtanh_[0,1](w^T c + b)``,
  ``X~ = s Xn + (1 - s) Xe``; the ablation knobs of s (issue 25; each default is the
  paper's): ``s_features`` (``cmvn``: the cosine of the CMVN-normalised features, ``raw``:
  of the raw log-Mel), ``s_clamp`` (``hardtanh`` or ``sigmoid``, which never saturates) and
  ``s_window`` (0: one s per utterance; an odd K: a per-frame ``s(t)`` from each bin's
  cosine over the K frames centred on t, the blend taken frame by frame and the utterance's
  s, which drives the bridge and is reported, the mean of s(t) over its real frames);
* bridge (needs compensation): ``z~ = (W_g s + b_g) * z + (W_b s + b_b)``;
* a hybrid (``functionals``): standardised eGeMAPS functionals into an MLP or kernel head;
  with compensation and ``functionals_input: blend`` the noisy and enhanced inputs' vectors
  are blended by the same s, ``f~ = s f_n + (1 - s) f_e`` (:meth:`SerModel.functionals_vector`).

Global CMVN (from the clean training features) is a buffer of the model, so a checkpoint
alone decodes; the cosine similarity is taken on the normalised features, where it is
not dominated by the mean log energy of each bin. Deltas and delta-deltas are computed
after blending and stacked as 3 channels. The compensation starts at an even blend
(``w = 0, b = 0.5``) and the bridge at the identity (``W_g = W_b = 0, b_g = 1, b_b = 0``).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from trnet.contract import (
    BLEND,
    BOTH,
    CONV_INPUT_GRADS,
    FUNCTIONAL_HEADS,
    FUNCTIONALS_INPUTS,
    NOISY,
    S_CLAMPS,
    S_FEATURES,
    S_GRADIENTS,
)

N_MELS = 80


class ForwardGradConv(torch.autograd.Function):
    """A stride-1 "same" convolution without bias whose input gradient is itself a forward
    convolution: of the output's gradient with the kernel flipped in both axes and its
    channels swapped (``model.conv_input_grad: forward``).

    Why: in deterministic mode oneDNN is off (:mod:`trnet.determinism`), and ATen's CPU
    convolution backward then computes the input gradient one sample at a time (a matrix
    product, then col2im), 40-50 % of a conf/cpu training step; the forward path runs NNPACK
    (a batch of at least 16) or im2col with one matrix product, several times faster. The
    weight gradient stays ATen's. The forward is the same call as ``nn.Conv2d``'s (the same
    bytes); the input gradient equals ATen's up to float rounding (the sums run in another
    order), so a model trained with it is another model, not a worse one.
    """

    @staticmethod
    def forward(ctx, x: torch.Tensor, weight: torch.Tensor, padding: int) -> torch.Tensor:  # noqa: ANN001
        ctx.save_for_backward(x, weight)
        ctx.padding = padding
        return F.conv2d(x, weight, padding=padding)

    @staticmethod
    def backward(ctx, grad: torch.Tensor) -> tuple:  # noqa: ANN001
        x, weight = ctx.saved_tensors
        pad = ctx.padding
        grad_x = grad_w = None
        if ctx.needs_input_grad[0]:
            flipped = weight.flip(2, 3).transpose(0, 1)
            grad_x = F.conv2d(grad, flipped, padding=weight.shape[-1] - 1 - pad)
        if ctx.needs_input_grad[1]:
            grad_w = torch.ops.aten.convolution_backward(
                grad,
                x,
                weight,
                None,
                [1, 1],
                [pad, pad],
                [1, 1],
                False,
                [0, 0],
                1,
                [False, True, False],
            )[1]
        return grad_x, grad_w, None


class ConvBlock(nn.Module):
    """5x5 conv (no bias), BN, ReLU, 2x2 max-pool, dropout. ``input_grad``: how the conv's
    input gradient is computed in training (``native`` | ``forward``: :class:`ForwardGradConv`)."""

    def __init__(self, c_in: int, c_out: int, dropout: float, input_grad: str = "native") -> None:
        super().__init__()
        if input_grad not in CONV_INPUT_GRADS:
            raise ValueError(f"conv_input_grad must be one of {', '.join(CONV_INPUT_GRADS)}")
        self.conv = nn.Conv2d(c_in, c_out, kernel_size=5, padding=2, bias=False)
        self.bn = nn.BatchNorm2d(c_out)
        self.dropout = nn.Dropout(dropout)
        self.input_grad = input_grad

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.input_grad == "forward" and self.training and torch.is_grad_enabled():
            # (training only; in evaluation and export the plain module: the same output)
            y = ForwardGradConv.apply(x, self.conv.weight, 2)
        else:
            y = self.conv(x)
        x = F.max_pool2d(F.relu(self.bn(y)), kernel_size=2)
        return self.dropout(x)


class AttentionPool(nn.Module):
    """Attention pooling over time: two 1x1 Conv1d, softmax over time of clamp(att)."""

    def __init__(self, c_in: int, emb_dim: int) -> None:
        super().__init__()
        self.att = nn.Conv1d(c_in, emb_dim, kernel_size=1)
        self.val = nn.Conv1d(c_in, emb_dim, kernel_size=1)

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        """``mask`` (B, T) True on real frames: padded frames get no attention weight."""
        att = torch.clamp(self.att(x), -10.0, 10.0)
        if mask is not None:
            att = att.masked_fill(~mask[:, None, :], float("-inf"))
        weights = torch.softmax(att, dim=-1)
        return (weights * self.val(x)).sum(dim=-1)


class Cnn6(nn.Module):
    """(B, 3, T, 80) → z (B, emb_dim): BN over bins, conv blocks, mean over freq, pooling."""

    def __init__(
        self, channels: Sequence[int], emb_dim: int, dropout: float, input_grad: str = "native"
    ) -> None:
        super().__init__()
        self.bn0 = nn.BatchNorm2d(N_MELS)
        widths = [3, *channels]
        self.blocks = nn.Sequential(
            *(
                ConvBlock(a, b, dropout, input_grad)
                for a, b in zip(widths[:-1], widths[1:], strict=True)
            )
        )
        self.pool = AttentionPool(widths[-1], emb_dim)

    def forward(self, x: torch.Tensor, lengths: torch.Tensor | None = None) -> torch.Tensor:
        """``lengths`` (B,): real frames of a zero-padded batch; the padded frames are set to
        0 after every layer (as the convolutions' own zero padding) and get no attention."""
        x = self.bn0(x.transpose(1, 3)).transpose(1, 3)
        if lengths is None:
            return self.pool(self.blocks(x).mean(dim=3))
        x = x * padding_mask(lengths, x.shape[2])[:, None, :, None]
        for block in self.blocks:  # each halves the frames (floor), at least one kept
            x = block(x)
            lengths = torch.clamp(lengths // 2, min=1)
            x = x * padding_mask(lengths, x.shape[2])[:, None, :, None]
        return self.pool(x.mean(dim=3), padding_mask(lengths, x.shape[2]) > 0)


class InwardClamp(torch.autograd.Function):
    """clamp(x, 0, 1) whose gradient also passes outside [0, 1] where a descent step moves
    x back towards the range (never further out).

    With hardtanh's own gradient (zero outside the range), once ``w·c + b`` is below 0 for
    every utterance, s is 0 for good: no example can pull it back, even one (clean speech)
    whose loss wants the noisy input. Here such an example still moves w and b.
    """

    @staticmethod
    def forward(ctx, x: torch.Tensor) -> torch.Tensor:  # noqa: ANN001 (autograd's ctx)
        ctx.save_for_backward(x)
        return x.clamp(0.0, 1.0)

    @staticmethod
    def backward(ctx, grad: torch.Tensor) -> torch.Tensor:  # noqa: ANN001
        (x,) = ctx.saved_tensors
        inside = (x >= 0) & (x <= 1)
        inward = ((x < 0) & (grad < 0)) | ((x > 1) & (grad > 0))
        return grad * (inside | inward)


class Compensation(nn.Module):
    """SNR-aware blend of noisy and enhanced features; returns (X~, s).

    ``s_gradient``: ``hardtanh`` (the paper's) or ``inward`` (:class:`InwardClamp` while
    training; the forward value is the same clamp either way). ``s_clamp``: ``hardtanh`` or
    ``sigmoid`` (:data:`S_CLAMPS`); either starts at s = 0.5. ``s_window``: 0 (one s per
    utterance, (B,)) or an odd number of frames K (a per-frame s (B, T) from the per-bin
    cosine over the K frames centred on each frame, :func:`local_cosine`).
    """

    def __init__(
        self, s_gradient: str = "hardtanh", s_clamp: str = "hardtanh", s_window: int = 0
    ) -> None:
        super().__init__()
        if s_gradient not in S_GRADIENTS:
            raise ValueError(f"s_gradient must be one of {', '.join(S_GRADIENTS)}")
        if s_clamp not in S_CLAMPS:
            raise ValueError(f"s_clamp must be one of {', '.join(S_CLAMPS)}")
        if s_gradient == "inward" and s_clamp != "hardtanh":
            raise ValueError("s_gradient inward is a gradient of the hardtanh clamp")
        if s_window < 0 or (s_window and s_window % 2 == 0):
            raise ValueError("s_window must be 0 or an odd number of frames")
        self.s_gradient, self.s_clamp, self.s_window = s_gradient, s_clamp, s_window
        self.linear = nn.Linear(N_MELS, 1)
        nn.init.zeros_(self.linear.weight)
        nn.init.constant_(self.linear.bias, 0.5 if s_clamp == "hardtanh" else 0.0)

    def coefficient(self, xn: torch.Tensor, xe: torch.Tensor) -> torch.Tensor:
        """s in [0, 1] from the per-bin cosine similarity over time: (B,) over the whole
        utterance, or (B, T) over each frame's window (``s_window``)."""
        if self.s_window:
            c = local_cosine(xn, xe, self.s_window)
        else:
            c = F.cosine_similarity(xn, xe, dim=1, eps=1e-8)
        raw = self.linear(c).squeeze(-1)
        if self.s_clamp == "sigmoid":
            return torch.sigmoid(raw)
        if self.s_gradient == "inward" and torch.is_grad_enabled():
            return InwardClamp.apply(raw)
        return F.hardtanh(raw, 0.0, 1.0)

    def forward(
        self,
        xn: torch.Tensor,
        xe: torch.Tensor,
        cos_inputs: tuple[torch.Tensor, torch.Tensor] | None = None,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """``cos_inputs``: the pair the cosine features are taken on, when not (xn, xe)
        (``s_features: raw``)."""
        s = self.coefficient(*(cos_inputs or (xn, xe)))
        w = s[:, None, None] if s.dim() == 1 else s[:, :, None]
        return w * xn + (1.0 - w) * xe, s


def local_cosine(a: torch.Tensor, b: torch.Tensor, window: int) -> torch.Tensor:
    """(B, T, F) × 2 → (B, T, F): each bin's cosine similarity of ``a`` and ``b`` over the
    ``window`` frames (odd) centred on each frame; frames beyond either end count as 0. A
    box sum by a grouped convolution (deterministic on GPUs, unlike cumsum's gradient)."""
    bins = a.shape[2]
    kernel = torch.ones(bins, 1, window, dtype=a.dtype, device=a.device)

    def box(x: torch.Tensor) -> torch.Tensor:
        return F.conv1d(x.transpose(1, 2), kernel, padding=window // 2, groups=bins).transpose(1, 2)

    norms = torch.sqrt(box(a * a).clamp_min(0.0) * box(b * b).clamp_min(0.0))
    return box(a * b) / norms.clamp_min(1e-8)


def frame_mean(s: torch.Tensor, lengths: torch.Tensor | None) -> torch.Tensor:
    """(B, T) per-frame values → (B,) their mean over each example's real frames."""
    if lengths is None:
        return s.mean(dim=1)
    mask = padding_mask(lengths, s.shape[1])
    return (s * mask).sum(dim=1) / mask.sum(dim=1).clamp_min(1.0)


class Bridge(nn.Module):
    """FiLM on the embedding, conditioned on s: z~ = gamma(s) * z + beta(s)."""

    def __init__(self, emb_dim: int) -> None:
        super().__init__()
        self.gamma = nn.Linear(1, emb_dim)
        self.beta = nn.Linear(1, emb_dim)
        for lin, bias in ((self.gamma, 1.0), (self.beta, 0.0)):
            nn.init.zeros_(lin.weight)
            nn.init.constant_(lin.bias, bias)

    def forward(self, z: torch.Tensor, s: torch.Tensor) -> torch.Tensor:
        s = s[:, None]
        return self.gamma(s) * z + self.beta(s)


class KernelFeatures(nn.Module):
    """Fixed random Fourier features of standardised functionals (Rahimi & Recht, 2007):
    ``phi(f) = sqrt(2 / D) cos(f W + b)``, ``W ~ N(0, 2 gamma)``, ``b ~ U(0, 2 pi)``, so that
    ``phi(f) . phi(g)`` approximates the RBF kernel ``exp(-gamma |f - g|^2)``. A linear layer
    on phi is then an RBF kernel machine trained with the network: the eGeMAPS + SVM
    reference's classifier inside the hybrid. W and b are buffers drawn from ``seed``, so a
    checkpoint carries them and training never changes them.
    """

    def __init__(self, n_in: int, dim: int, gamma: float, seed: int) -> None:
        super().__init__()
        gen = torch.Generator().manual_seed(seed)
        self.register_buffer("weight", torch.randn(n_in, dim, generator=gen) * (2 * gamma) ** 0.5)
        self.register_buffer("phase", torch.rand(dim, generator=gen) * (2 * torch.pi))
        self.scale = (2.0 / dim) ** 0.5

    def forward(self, f: torch.Tensor) -> torch.Tensor:
        return self.scale * torch.cos(f @ self.weight + self.phase)


class SerModel(nn.Module):
    """CNN6 emotion classifier with optional compensation and bridge.

    ``forward(x, xe=None)`` takes raw log-Mel (B, T, 80): ``x`` is the single input, or
    the noisy input when ``compensation`` is on (then ``xe`` is the enhanced twin).
    Returns a dict: ``logits`` (B, C), ``z`` (B, emb; after the bridge), ``x`` (the
    normalised, blended features (B, T, 80)) and ``s`` (B,) when compensation is on (with a
    per-frame s, ``s_window``, its mean over the real frames, and ``s_t`` (B, T) too).
    """

    def __init__(
        self,
        channels: Sequence[int] = (64, 128, 256, 512),
        emb_dim: int = 256,
        hidden: int = 128,
        num_classes: int = 4,
        conv_dropout: float = 0.2,
        head_dropout: float = 0.3,
        compensation: bool = False,
        bridge: bool = False,
        s_gradient: str = "hardtanh",
        s_features: str = "cmvn",
        s_clamp: str = "hardtanh",
        s_window: int = 0,
        functionals: int = 0,
        functionals_head: str = "mlp",
        kernel_dim: int = 2048,
        kernel_gamma: float = 0.0,
        kernel_seed: int = 0,
        functionals_input: str = NOISY,
        conv_input_grad: str = "native",
    ) -> None:
        super().__init__()
        if functionals_head not in FUNCTIONAL_HEADS:
            raise ValueError(f"functionals_head must be one of {', '.join(FUNCTIONAL_HEADS)}")
        if functionals_input not in FUNCTIONALS_INPUTS:
            raise ValueError(f"functionals_input must be one of {', '.join(FUNCTIONALS_INPUTS)}")
        if functionals_input == BLEND and not compensation:
            raise ValueError("functionals_input blend needs the compensation (it is blended by s)")
        if bridge and not compensation:
            raise ValueError("the bridge needs the compensation (it is driven by s)")
        if s_features not in S_FEATURES:
            raise ValueError(f"s_features must be one of {', '.join(S_FEATURES)}")
        self.s_features = s_features
        self.register_buffer("cmvn_mean", torch.zeros(N_MELS))
        self.register_buffer("cmvn_std", torch.ones(N_MELS))
        self.compensation = Compensation(s_gradient, s_clamp, s_window) if compensation else None
        self.backbone = Cnn6(channels, emb_dim, conv_dropout, conv_input_grad)
        self.bridge = Bridge(emb_dim) if bridge else None
        self.functionals = functionals
        self.functionals_input = functionals_input
        self.func_kernel: KernelFeatures | None = None
        self.func_linear: nn.Linear | None = None
        if functionals:  # hybrid: standardised utterance functionals (one set for each input)
            self.register_buffer("func_mean", torch.zeros(functionals))
            self.register_buffer("func_std", torch.ones(functionals))
        branch_in = 2 * functionals if functionals_input == BOTH else functionals
        concat = branch_in if functionals_head == "mlp" else 0
        if functionals and functionals_head == "kernel":
            gamma = kernel_gamma or 1.0 / branch_in  # sklearn's "scale" on standardised input
            self.func_kernel = KernelFeatures(branch_in, kernel_dim, gamma, kernel_seed)
            self.func_linear = nn.Linear(kernel_dim, num_classes)
        self.classifier = nn.Sequential(
            nn.Linear(emb_dim + concat, hidden),
            nn.BatchNorm1d(hidden),
            nn.ReLU(),
            nn.Dropout(head_dropout),
            nn.Linear(hidden, num_classes),
        )

    def set_cmvn(self, mean: torch.Tensor, std: torch.Tensor) -> None:
        self.cmvn_mean.copy_(mean)
        self.cmvn_std.copy_(std)

    def normalize(self, x: torch.Tensor) -> torch.Tensor:
        return (x - self.cmvn_mean) / self.cmvn_std

    def set_functional_stats(self, mean: torch.Tensor, std: torch.Tensor) -> None:
        """A hybrid's standardising statistics of the functionals (buffers: a checkpoint
        carries them)."""
        self.func_mean.copy_(mean)
        self.func_std.copy_(std)

    def functionals_vector(self, func: torch.Tensor, s: torch.Tensor | None = None) -> torch.Tensor:
        """What the functionals branch takes: ``func`` standardised, then combined as
        ``functionals_input`` says. ``func`` is (B, functionals) for ``noisy``/``enhanced``
        (one input's vector) and (B, 2, functionals) for ``blend``/``both`` (the noisy,
        then the enhanced input's; :func:`trnet.train.data.functionals_sources`); ``blend``
        returns ``s f_n + (1 - s) f_e`` with ``s`` (B,) the compensation's coefficient (the
        spectrograms' blend), ``both`` the two side by side (B, 2 functionals)."""
        f = (func - self.func_mean) / self.func_std
        if self.functionals_input not in (BLEND, BOTH):
            return f
        if f.dim() != 3 or f.shape[1] != 2:
            raise ValueError(
                f"functionals_input {self.functionals_input} needs func (B, 2, functionals)"
            )
        if self.functionals_input == BOTH:
            return f.flatten(1)
        if s is None:
            raise ValueError("functionals_input blend needs s")
        w = s[:, None]
        return w * f[:, 0] + (1.0 - w) * f[:, 1]

    def fit_functionals(
        self,
        func: torch.Tensor,
        labels: torch.Tensor,
        *,
        epochs: int,
        lr: float,
        batch_size: int,
        seed: int,
        class_weight: torch.Tensor | None = None,
        s: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """Fit a kernel hybrid's functionals branch alone (its linear layer on the fixed
        random features): ``epochs`` of (class-weighted) cross-entropy with Adam at ``lr``
        on the raw functionals ``func`` (N, functionals), or (N, 2, functionals) with
        ``blend``/``both`` (and ``s`` (N,) the blend of each row:
        :meth:`functionals_vector`), and their ``labels`` (N,), in an order drawn on the
        CPU from ``seed``. Returns the branch's training predictions (N,) after the fit."""
        if self.func_kernel is None or self.func_linear is None:
            raise ValueError("fit_functionals needs a kernel hybrid (functionals_head kernel)")
        with torch.no_grad():
            phi = self.func_kernel(self.functionals_vector(func, s))
        layer = self.func_linear
        optim = torch.optim.Adam(layer.parameters(), lr=lr)
        gen = torch.Generator().manual_seed(seed)
        for _ in range(epochs):
            order = torch.randperm(len(labels), generator=gen).to(labels.device)
            for i in range(0, len(order), batch_size):
                idx = order[i : i + batch_size]
                loss = F.cross_entropy(layer(phi[idx]), labels[idx], weight=class_weight)
                optim.zero_grad(set_to_none=True)
                loss.backward()
                optim.step()
        with torch.no_grad():
            return layer(phi).argmax(1)

    def embed(self, x: torch.Tensor, lengths: torch.Tensor | None = None) -> torch.Tensor:
        """z (B, emb) of a one-input model (no compensation), as :meth:`forward` gives it,
        without the classifiers: a frozen Baseline-c's embedding of the clean frames TRNet
        is fed (``loss.z_clean_on: crop``)."""
        if self.compensation is not None:
            raise ValueError("embed is for a one-input model (no compensation)")
        x = self.normalize(x)
        if lengths is not None:
            x = x * padding_mask(lengths, x.shape[1])[:, :, None]
        return self.backbone(with_deltas(x, lengths), lengths)

    def forward(
        self,
        x: torch.Tensor,
        xe: torch.Tensor | None = None,
        lengths: torch.Tensor | None = None,
        func: torch.Tensor | None = None,
    ) -> dict[str, torch.Tensor]:
        """``lengths`` (B,): real frames of a zero-padded batch (None: every frame is real);
        padded frames are 0 after CMVN and masked in the attention pooling. ``func``:
        the utterance functionals of a hybrid model (:meth:`functionals_vector`)."""
        out: dict[str, torch.Tensor] = {}
        mask = None if lengths is None else padding_mask(lengths, x.shape[1])[:, :, None]
        raw = (x, xe)
        x = self.normalize(x)
        if mask is not None:
            x = x * mask
        if self.compensation is not None:
            if xe is None:
                raise ValueError("a model with compensation needs the enhanced input xe")
            xe = self.normalize(xe)
            if mask is not None:
                xe = xe * mask
            cos_inputs = None
            if self.s_features == "raw":  # the raw log-Mel, its padded frames 0 as well
                cos_inputs = raw if mask is None else (raw[0] * mask, raw[1] * mask)
            x, s = self.compensation(x, xe, cos_inputs)
            if s.dim() == 2:  # per-frame s(t): the utterance's s is its mean
                out["s_t"], s = s, frame_mean(s, lengths)
            out["s"] = s
        out["x"] = x
        z = self.backbone(with_deltas(x, lengths), lengths)
        if self.bridge is not None:
            z = self.bridge(z, out["s"])
        out["z"] = z
        if not self.functionals:
            out["logits"] = self.classifier(z)
            return out
        if func is None:
            raise ValueError("a hybrid model (functionals) needs the functionals func")
        f = self.functionals_vector(func, out.get("s"))
        if self.func_kernel is None:  # mlp: the functionals concatenated to z
            out["logits"] = self.classifier(torch.cat([z, f], dim=1))
        else:  # kernel: the embedding's classifier plus a kernel machine on the functionals
            out["logits_z"] = self.classifier(z)
            out["logits_f"] = self.func_linear(self.func_kernel(f))
            out["logits"] = out["logits_z"] + out["logits_f"]
        return out


def padding_mask(lengths: torch.Tensor, frames: int) -> torch.Tensor:
    """(B, frames) float mask: 1 on the first ``lengths[b]`` frames, 0 after."""
    steps = torch.arange(frames, device=lengths.device)[None, :]
    return (steps < lengths[:, None]).to(torch.float32)


def with_deltas(x: torch.Tensor, lengths: torch.Tensor | None = None) -> torch.Tensor:
    """(B, T, F) → (B, 3, T, F): features, deltas, delta-deltas (over time).

    With ``lengths`` (a zero-padded batch), each utterance's deltas are those of the
    utterance alone: its last real frame (and then its last delta) is held over the padded
    frames before each difference, as the replicate padding at the end of an unpadded
    utterance does. A whole-utterance decode's posteriors then do not depend on which
    utterances share its batch (``trnet infer`` runs one window at a time)."""
    import torchaudio.functional as AF

    xt = x.transpose(1, 2)
    if lengths is None:
        d1 = AF.compute_deltas(xt)
        d2 = AF.compute_deltas(d1)
    else:
        d1 = AF.compute_deltas(_hold_last(xt, lengths))
        d2 = AF.compute_deltas(_hold_last(d1, lengths))
    return torch.stack([xt, d1, d2], dim=1).transpose(2, 3)


def _hold_last(x: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
    """(B, F, T) with every frame from ``lengths[b]`` on replaced by frame ``lengths[b] - 1``."""
    steps = torch.arange(x.shape[-1], device=x.device)[None, :]
    last = torch.clamp(lengths.to(x.device) - 1, min=0)[:, None]
    index = torch.minimum(steps, last)[:, None, :].expand(-1, x.shape[1], -1)
    return torch.gather(x, 2, index)
