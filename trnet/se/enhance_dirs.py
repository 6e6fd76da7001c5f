"""``trnet enhance``: every condition of a dump enhanced, whole (:mod:`trnet.se.enhance`) or
as array-job parts and their merge (:mod:`trnet.se.enhance_splits`). Above both, so neither
imports the other's caller."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import torch

from trnet.contract import enhanced
from trnet.data.datadir import confined
from trnet.errors import TrnetError
from trnet.se.enhance import enhance_condition, find_conditions, model_digest, source_digest
from trnet.se.enhance_splits import enhance_part, merge_condition
from trnet.se.enhancer import Enhancer


def enhance_dump(
    dump_root: Path,
    model: Path,
    conditions: list[str] | None = None,
    nj: int = 1,
    batch_size: int = 8,
    dither: float = 0.0,
    seed: int = 0,
    device: str = "auto",
    overwrite: bool = False,
    split: tuple[int, int] | None = None,
    split_root: Path | None = None,
    from_splits: Path | None = None,
) -> Iterator[tuple[Path, str]]:
    """``trnet enhance``: each condition of ``dump_root`` → ``<condition>_enh``; yields
    ``(dir, "skipped" | "written")`` as each is done. With ``split`` (job K of N), job K's
    part of each into ``split_root``; with ``from_splits``, each merged from the parts there
    (:mod:`trnet.se.enhance_splits`)."""
    from trnet.devices import resolve_device
    from trnet.se.model import load_model, model_file
    from trnet.se.onnx_model import cpu_only

    if nj < 1 or batch_size < 1:
        raise TrnetError("--nj and --batch-size must be at least 1")
    net, _ = load_model(model)
    dev = cpu_only(net) or resolve_device(device)
    net.to(dev)
    path = model_file(model)
    settings = {
        "model": str(path),
        "model_sha256": model_digest(path),
        "dither": dither,
        "seed": seed,
    }
    for cond in find_conditions(dump_root, conditions):
        dst = confined(dump_root, enhanced(cond))
        signature = {**settings, "source": source_digest(dump_root / cond)}
        if split is not None or from_splits is not None:
            yield _split_or_merge(
                net, signature, dump_root / cond, dst, split, split_root, from_splits,
                batch_size, nj, dither, seed, dev, overwrite,
            )  # fmt: skip
            continue
        status = enhance_condition(
            net, signature, dump_root / cond, dst, batch_size, nj, dither, seed, dev, overwrite
        )
        yield dst, status


def _split_or_merge(
    net: Enhancer,
    settings: dict,
    src: Path,
    dst: Path,
    split: tuple[int, int] | None,
    split_root: Path | None,
    from_splits: Path | None,
    batch_size: int,
    nj: int,
    dither: float,
    seed: int,
    device: torch.device,
    overwrite: bool,
) -> tuple[Path, str]:
    """One condition's array-job part (``split``), or its merge (``from_splits``)."""
    if from_splits is not None:
        status = merge_condition(
            settings, src, dst, from_splits, batch_size, dither, seed, overwrite
        )
        return dst, status
    return enhance_part(
        net, settings, src, dst, split_root, split, batch_size, nj, dither, seed, device,
        overwrite,
    )  # fmt: skip
