"""Seed ensembles (``train.ensemble: K``): K models per fold, their log-posteriors averaged.

An ensemble fold ``exp/<system>/fold<F>`` holds ``member0`` .. ``member<K-1>``, each an
ordinary training dir (member k trained with seed ``seed + k``), and a ``.done`` of its own
(``ensemble K``, the members' mean dev UAR) written after the last member's. Decoding runs
every member and writes one decode dir: posteriors ``softmax(mean_k log p_k)`` (a
normalised geometric mean), s the members' mean, z the first member's (the members'
embedding spaces are not aligned, so an average of them would mean nothing).
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from trnet.errors import TrnetError

if TYPE_CHECKING:
    from trnet.train.config import Config
    from trnet.train.predict import Outputs


def member_config(cfg: Config, k: int) -> Config:
    """Member ``k`` of an ensemble: the config with seed ``seed + k`` and no ensemble, so
    the member is exactly the model ``trnet train --seed <seed+k>`` trains."""
    member = copy.deepcopy(cfg)
    member.train.seed += k
    member.train.ensemble = 1
    return member


def member_dirs(exp_fold: Path, k: int) -> list[Path]:
    """``<exp_fold>/member0`` .. ``member<k-1>``: the training dirs of an ensemble's members."""
    return [Path(exp_fold) / f"member{i}" for i in range(k)]


def read_done(exp_fold: Path) -> dict[str, str]:
    """A finished training dir's ``.done`` as fields (``best_epoch``/``dev_uar``, or
    ``ensemble``/``dev_uar``); a dir without one is a one-line error."""
    path = Path(exp_fold) / ".done"
    if not path.is_file():
        raise TrnetError(f"{exp_fold}: training not finished (no .done)")
    lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
    return dict(line.split(None, 1) for line in lines if len(line.split(None, 1)) == 2)


def is_ensemble(exp_fold: Path) -> bool:
    """Whether ``exp_fold`` is a finished ensemble fold (its ``.done`` says ``ensemble``)."""
    return (Path(exp_fold) / ".done").is_file() and "ensemble" in read_done(exp_fold)


def fold_models(exp_fold: Path) -> list[Path]:
    """The ``best.pt`` files a finished fold decodes with: its own, or each member's."""
    exp_fold = Path(exp_fold)
    fields = read_done(exp_fold)
    if "ensemble" not in fields:
        return [exp_fold / "best.pt"]
    k = int(fields["ensemble"]) if fields["ensemble"].isdigit() else 0
    if k < 1:
        raise TrnetError(f"{exp_fold / '.done'}: ensemble {fields['ensemble']!r} is not a count")
    models = [d / "best.pt" for d in member_dirs(exp_fold, k)]
    missing = [str(m) for m in models if not m.is_file()]
    if missing:
        raise TrnetError(
            f"{missing[0]}: ensemble member missing ({len(missing)} of {k}); retrain the fold "
            "(trnet train --overwrite)"
        )
    return models


def check_members(exp_fold: Path, configs: list[dict]) -> None:
    """Refuse an ensemble fold whose members are not the models its ``config.yaml`` makes
    (say one retrained by hand with another seed or config): it would be mixed in unasked,
    and decoded with the first member's settings."""
    from trnet.train.config import config_to_dict, load_config

    fold_cfg = load_config(Path(exp_fold) / "config.yaml")
    for k, got in enumerate(configs):
        if got != config_to_dict(member_config(fold_cfg, k)):
            raise TrnetError(
                f"{Path(exp_fold) / f'member{k}'}: not member {k} of this ensemble (its config "
                f"or seed differs from {Path(exp_fold) / 'config.yaml'}); retrain the fold "
                "(trnet train --overwrite)"
            )


def combine(outputs: list[Outputs]) -> Outputs:
    """One result from the members' (same examples, same order): see the module docstring."""
    from trnet.train.predict import Outputs

    if len(outputs) == 1:
        return outputs[0]
    post = average_posteriors([o.posteriors for o in outputs])
    s = None if outputs[0].s is None else np.mean([o.s for o in outputs], 0)
    return Outputs(posteriors=post, z=outputs[0].z, s=s)


def average_posteriors(posteriors: list[np.ndarray]) -> np.ndarray:
    """The members' (N, C) posteriors as one: ``softmax(mean_k log p_k)`` (float32, as a
    decode dir holds them); decoding and model packages average with this."""
    logp = np.mean([np.log(np.maximum(p.astype(np.float64), 1e-30)) for p in posteriors], 0)
    logp -= logp.max(1, keepdims=True)
    post = np.exp(logp)
    post /= post.sum(1, keepdims=True)
    return post.astype(np.float32)
