"""Batched inference of a SER model (dev scoring, embeddings, decoding)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from trnet.models.ser import SerModel
from trnet.train.data import ExampleSet


def split_inputs(
    inputs: torch.Tensor, device: torch.device
) -> tuple[torch.Tensor, torch.Tensor | None]:
    """(B, K, T, F) with K = 1 (one input) or 2 (noisy, enhanced) → model arguments."""
    inputs = inputs.to(device)
    return inputs[:, 0], (inputs[:, 1] if inputs.shape[1] > 1 else None)


def extra_inputs(batch: dict[str, torch.Tensor], device: torch.device) -> dict:
    """The optional model arguments a batch carries: ``lengths`` (whole utterances) and
    ``func`` (a hybrid's functionals)."""
    extra = {}
    if "length" in batch:
        extra["lengths"] = batch["length"].to(device)
    if "func" in batch:
        extra["func"] = batch["func"].to(device)
    return extra


@dataclass
class Outputs:
    """Per-example results, rows in the order of the dataset's examples."""

    posteriors: np.ndarray
    z: np.ndarray
    s: np.ndarray | None


@torch.no_grad()
def predict(model: SerModel, dataset: ExampleSet, batch_size: int, device: torch.device) -> Outputs:
    """Posteriors, z and s of every example, rows in the dataset's order.

    A whole-utterance set (``dataset.full``) is batched by length (sorted, so that little
    is padded) and the rows are put back in the dataset's order.
    """
    from trnet.train.data import pad_collate

    model.eval()
    full = getattr(dataset, "full", False)
    if full:
        order = sorted(range(len(dataset)), key=lambda i: (dataset.length(i), i))
        loader = torch.utils.data.DataLoader(
            torch.utils.data.Subset(dataset, order),
            batch_size=batch_size,
            shuffle=False,
            collate_fn=pad_collate,
        )
    else:
        loader = torch.utils.data.DataLoader(dataset, batch_size=batch_size, shuffle=False)
    post, zs, ss = [], [], []
    for batch in loader:
        out = model(*split_inputs(batch["inputs"], device), **extra_inputs(batch, device))
        post.append(torch.softmax(out["logits"], dim=-1).cpu())
        zs.append(out["z"].cpu())
        if "s" in out:
            ss.append(out["s"].cpu())
    res = Outputs(
        posteriors=torch.cat(post).numpy(),
        z=torch.cat(zs).numpy(),
        s=torch.cat(ss).numpy() if ss else None,
    )
    if full:
        back = np.argsort(np.asarray(order))
        res = Outputs(res.posteriors[back], res.z[back], None if res.s is None else res.s[back])
    return res
