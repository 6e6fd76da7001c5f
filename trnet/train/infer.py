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


@dataclass
class Outputs:
    """Per-example results, rows in the order of the dataset's examples."""

    posteriors: np.ndarray
    z: np.ndarray
    s: np.ndarray | None


@torch.no_grad()
def predict(model: SerModel, dataset: ExampleSet, batch_size: int, device: torch.device) -> Outputs:
    model.eval()
    loader = torch.utils.data.DataLoader(dataset, batch_size=batch_size, shuffle=False)
    post, zs, ss = [], [], []
    for batch in loader:
        out = model(*split_inputs(batch["inputs"], device))
        post.append(torch.softmax(out["logits"], dim=-1).cpu())
        zs.append(out["z"].cpu())
        if "s" in out:
            ss.append(out["s"].cpu())
    return Outputs(
        posteriors=torch.cat(post).numpy(),
        z=torch.cat(zs).numpy(),
        s=torch.cat(ss).numpy() if ss else None,
    )
