"""One fold's training run (``trnet train`` of a deep system): the verdict on ``out`` (train,
skip or refuse, by its signature), then one model (:class:`trnet.train.loop.Trainer`) or an
ensemble's members, one after the other (:mod:`trnet.train.ensemble`)."""

from __future__ import annotations

from pathlib import Path

import torch.distributed as dist

from trnet.ddp import Dist, setup_dist, teardown_dist
from trnet.errors import TrnetError
from trnet.io import atomic_write
from trnet.stage import SIGNATURE_RECORD, acquire, claim, clear_all, release
from trnet.train.config import Config, dump_config
from trnet.train.ensemble import member_config, member_dirs, read_done
from trnet.train.loop import Trainer
from trnet.train.signature import train_signature

TRAIN_RECORD = SIGNATURE_RECORD
"""The trainer signs ``out`` when it starts; its ``.done`` (best epoch, dev UAR) comes last."""


def train_fold(
    cfg: Config,
    fold: int,
    data_root: str | Path,
    dump: str | Path,
    out: str | Path,
    resume: bool = False,
    device: str = "auto",
    overwrite: bool = False,
) -> Path:
    """Train one fold into ``out`` (skipped when done with the same signature); returns ``out``.

    ``out`` is locked for the run; a dir made with another signature (config, seed, fold,
    data) is refused unless ``overwrite``. Under torchrun rank 0 decides and tells the rest.
    """
    out = Path(out)
    env = setup_dist(device)
    verdict, locked = "run", False
    if env.main:
        try:
            acquire(out)
            locked = True
            signature = train_signature(cfg, fold, Path(data_root), Path(dump))
            # a killed run of this job keeps its checkpoints for --resume; --overwrite clears
            if claim(out, signature, overwrite, TRAIN_RECORD, clear_all if overwrite else None):
                verdict = "skip"
        except TrnetError as err:
            verdict = f"error {err}"
    if env.world > 1:
        box = [verdict]
        dist.broadcast_object_list(box, 0)
        verdict = box[0]
    try:
        if verdict.startswith("error "):
            raise TrnetError(verdict[len("error ") :])
        if verdict == "skip":
            if env.main:
                print(f"{out}: already trained with these settings and inputs, skipping")
            return out
        if cfg.train.ensemble > 1:
            train_members(cfg, fold, Path(data_root), Path(dump), out, env, resume)
        else:
            Trainer(cfg, fold, Path(data_root), Path(dump), out, env).run(resume)
        return out
    finally:
        if locked:
            release(out)
        teardown_dist(env)


def train_members(
    cfg: Config, fold: int, data_root: Path, dump: Path, out: Path, env: Dist, resume: bool
) -> None:
    """Train an ensemble fold (``train.ensemble`` > 1): each member in its own dir, one after
    the other; a member with ``.done`` is kept (the fold's signature already matched), an
    unfinished one continues from its checkpoints with ``--resume``. ``.done`` comes last."""
    dirs = member_dirs(out, cfg.train.ensemble)
    todo = None
    if env.main:  # rank 0 decides which members to train, as train_fold decides for the fold
        with atomic_write(out / "config.yaml") as f:
            f.write(dump_config(cfg))
        todo = [k for k, d in enumerate(dirs) if not (d / ".done").is_file()]
    if env.world > 1:
        box = [todo]
        dist.broadcast_object_list(box, 0)
        todo = box[0]
    for k in todo:
        Trainer(member_config(cfg, k), fold, data_root, dump, dirs[k], env).run(resume)
    if env.main:
        dev = [float(read_done(d).get("dev_uar", "nan")) for d in dirs]
        with atomic_write(out / ".done") as f:
            f.write(f"ensemble {len(dirs)}\ndev_uar {sum(dev) / len(dev):.6f}\n")
    if env.world > 1:
        dist.barrier()
