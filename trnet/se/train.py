"""Training the SE front-end on on-the-fly (noisy, clean) pairs (recipe stage 3).

``out/`` receives ``config.yaml`` (resolved), ``checkpoints/epoch<N>.pt`` (model,
optimiser, history; atomic), ``train.log``, ``best.pt`` (lowest dev loss, loadable with
:func:`trnet.se.model.load_model`) and ``.done`` last. ``.signature.json`` (the config and
the speech and noise sources by content, :func:`se_signature`) is written when
it starts: a finished dir with the same signature is kept, one with another is refused
unless ``overwrite`` (:mod:`trnet.stage`).
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import numpy as np
import torch

from trnet import checkpoint
from trnet.devices import resolve_device
from trnet.errors import TrnetError
from trnet.io import atomic_write, file_sha256
from trnet.models.stft import SpectralEnhancer, magnitude
from trnet.se.config import SeConfig, SeLossConfig
from trnet.se.model import build_model, save_model
from trnet.se.pairs import ClipPool, PairMaker, resolve_source, segment_samples, split_dev_ids
from trnet.stage import (
    FORMAT_VERSION,
    SIGNATURE_RECORD,
    claim,
    clear_all,
    input_digest,
    lock,
)


def si_sdr_torch(est: torch.Tensor, ref: torch.Tensor, eps: float = 1e-8) -> torch.Tensor:
    """Per-row SI-SDR in dB of ``(B, N)`` signals (zero-meaned)."""
    est = est - est.mean(dim=1, keepdim=True)
    ref = ref - ref.mean(dim=1, keepdim=True)
    scale = (est * ref).sum(1, keepdim=True) / (ref.pow(2).sum(1, keepdim=True) + eps)
    target = scale * ref
    return 10 * torch.log10(target.pow(2).sum(1) / ((est - target).pow(2).sum(1) + eps) + eps)


def se_loss(
    model: SpectralEnhancer, noisy: torch.Tensor, clean: torch.Tensor, weights: SeLossConfig
) -> torch.Tensor:
    """Weighted compressed-magnitude MSE + compressed complex MSE − SI-SDR (dB)."""
    out, est, c = model.enhance_with_spec(noisy)
    length = clean.shape[1]
    padded = torch.nn.functional.pad(clean * c, (0, model.stft.padded_length(length) - length))
    ref = model.stft(padded)
    loss = weights.mag * torch.mean((magnitude(est) - magnitude(ref)) ** 2)
    loss = loss + weights.ri * torch.mean((est - ref) ** 2)
    if weights.sisdr:
        loss = loss - weights.sisdr * si_sdr_torch(out, clean).mean()
    return loss


def _latest_checkpoint(ckpt_dir: Path) -> Path | None:
    found = checkpoint.epochs(ckpt_dir)
    return ckpt_dir / f"epoch{found[-1]}.pt" if found else None


class DevSet:
    """A fixed, seeded set of dev pairs (epoch 0 of the stream; training epochs start at 1)."""

    def __init__(self, maker: PairMaker, size: int, seed: int, batch: int) -> None:
        self.batches = [
            maker.batch(seed, 0, i, min(batch, size - i * batch))
            for i in range((size + batch - 1) // batch)
        ]

    @torch.no_grad()
    def evaluate(
        self, model: SpectralEnhancer, weights: SeLossConfig, device: torch.device
    ) -> dict:
        model.eval()
        losses, gains = [], []
        for noisy, clean in self.batches:
            noisy_t, clean_t = (
                torch.from_numpy(noisy).to(device),
                torch.from_numpy(clean).to(device),
            )
            losses.append(se_loss(model, noisy_t, clean_t, weights).item() * len(noisy))
            out = model(noisy_t)
            gain = si_sdr_torch(out, clean_t) - si_sdr_torch(noisy_t, clean_t)
            gains += gain.tolist()
        n = sum(len(b[0]) for b in self.batches)
        return {"dev_loss": sum(losses) / n, "dev_sisdr_gain": float(np.mean(gains))}


def train_se(
    conf: SeConfig,
    speech: str,
    noise: str,
    out: str | os.PathLike,
    dev_noise: str = "esc50_dev",
    noise_root: str | os.PathLike = "data/noise",
    resume: bool = False,
    device: str = "auto",
    progress: bool = True,
    overwrite: bool = False,
) -> Path:
    """Train (or resume) the SE model of a resolved ``conf``; returns ``out/best.pt`` (a
    pretrained model is not trained: returns its package, ``out/pretrained.json``, and the
    training arguments are not used)."""
    from trnet.se.pretrained import write_package

    out = Path(out)
    with lock(out):
        if conf.pretrained:  # frozen: write the package that names the weights
            return write_package(conf, out, overwrite)
        sources = {
            "speech": resolve_source(speech, noise_root),
            "noise": resolve_source(noise, noise_root),
            "dev_noise": resolve_source(dev_noise, noise_root),
        }
        signature = se_signature(conf, sources)
        if claim(out, signature, overwrite, SIGNATURE_RECORD, clear_all if overwrite else None):
            print(f"{out}: already trained with these settings and inputs, skipping")
            return out / "best.pt"
        return _train_se(conf, sources, out, resume, device, progress)


def se_signature(conf: SeConfig, sources: dict[str, Path]) -> dict:
    """What decides an SE training: the resolved config (seed, lr... and the content of an
    ``init_checkpoint``), the speech, noise and dev-noise dirs by content (not by path: a
    recipe folder moved or copied elsewhere keeps its trained SE)."""
    init = conf.init_checkpoint
    return {
        "format_version": FORMAT_VERSION,
        "config": conf.to_dict(),
        "init_sha256": file_sha256(init) if init and Path(init).is_file() else None,
        "inputs": {role: input_digest(path) for role, path in sources.items()},
    }


def _train_se(
    conf: SeConfig,
    sources: dict[str, Path],
    out: Path,
    resume: bool,
    device: str,
    progress: bool,
) -> Path:
    from tqdm import tqdm

    ckpt_dir = out / "checkpoints"
    latest = _latest_checkpoint(ckpt_dir)
    if latest is not None and not resume:
        raise TrnetError(f"{ckpt_dir}: checkpoints exist; pass --resume to continue them")
    tc, weights = conf.train, conf.loss
    assert tc is not None and weights is not None  # a trainable kind
    dev = resolve_device(device)
    speech_dir, noise_dir = sources["speech"], sources["noise"]
    train_ids, dev_ids = split_dev_ids(speech_dir)
    segment = segment_samples(tc.segment_s)
    snr = (float(tc.snr_range[0]), float(tc.snr_range[1]))
    maker = PairMaker(ClipPool(speech_dir, train_ids), ClipPool(noise_dir), segment, snr)
    dev_maker = PairMaker(
        ClipPool(speech_dir, dev_ids), ClipPool(sources["dev_noise"]), segment, snr
    )
    dev_set = DevSet(dev_maker, tc.dev_size, tc.seed, tc.batch_size)

    torch.manual_seed(tc.seed)
    model = build_model(conf).to(dev)
    opt = torch.optim.Adam(model.parameters(), lr=tc.lr)
    state = {"epoch": 0, "history": [], "best": None}
    if latest is not None:
        blob = checkpoint.load(latest)  # on the CPU: load_state_dict copies to the device
        model.net.load_state_dict(blob["model"])
        opt.load_state_dict(blob["optimizer"])
        state = json.loads(blob["state"])
    else:
        out.mkdir(parents=True, exist_ok=True)
        _write_text(out / "config.yaml", _yaml(conf.to_dict()))
        _write_text(out / "train.log", f"speech {speech_dir}\nnoise {noise_dir}\n")

    for epoch in range(state["epoch"] + 1, tc.epochs + 1):
        t0 = time.time()
        model.train()
        total = 0.0
        quiet = None if progress else True  # None: no bar where stderr is not a terminal
        bar = tqdm(range(tc.steps_per_epoch), desc=f"SE epoch {epoch}", disable=quiet)
        for step in bar:
            noisy, clean = maker.batch(tc.seed, epoch, step, tc.batch_size)
            loss = se_loss(
                model, torch.from_numpy(noisy).to(dev), torch.from_numpy(clean).to(dev), weights
            )
            opt.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), tc.grad_clip)
            opt.step()
            total += loss.item()
            bar.set_postfix(loss=f"{total / (step + 1):.4f}")
        row = {"epoch": epoch, "train_loss": total / tc.steps_per_epoch}
        row |= dev_set.evaluate(model, weights, dev)
        row["seconds"] = round(time.time() - t0, 1)
        state["history"].append(row)
        if state["best"] is None or row["dev_loss"] < state["best"]["dev_loss"]:
            state["best"] = row
            save_model(out / "best.pt", model, conf)
        state["epoch"] = epoch
        _save_checkpoint(ckpt_dir / f"epoch{epoch}.pt", model, opt, state)
        _append_log(out / "train.log", row)
    _write_text(out / ".done", json.dumps(state["best"]) + "\n")
    return out / "best.pt"


def _save_checkpoint(path: Path, model: SpectralEnhancer, opt, state: dict) -> None:
    checkpoint.save(
        path,
        {
            "model": model.net.state_dict(),
            "optimizer": opt.state_dict(),
            "state": json.dumps(state),
        },
    )


def _append_log(path: Path, row: dict) -> None:
    line = " ".join(f"{k} {v:.4f}" if isinstance(v, float) else f"{k} {v}" for k, v in row.items())
    old = path.read_text(encoding="utf-8") if path.is_file() else ""
    _write_text(path, old + line + "\n")


def _write_text(path: Path, text: str) -> None:
    with atomic_write(path) as f:
        f.write(text)


def _yaml(conf: dict) -> str:
    import yaml

    return yaml.safe_dump(conf, sort_keys=False)
