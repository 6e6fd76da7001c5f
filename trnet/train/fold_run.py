"""One fold's training run (``trnet train`` of a deep system): the verdict on ``out`` (train,
skip or refuse, by its signature), then one model (:class:`trnet.train.loop.Trainer`) or an
ensemble's members, one after the other (:mod:`trnet.train.ensemble`)."""

from __future__ import annotations

from pathlib import Path

from trnet.ddp import Dist, setup_dist, teardown_dist, world_size
from trnet.errors import TrnetError
from trnet.io import atomic_write
from trnet.stage import SIGNATURE_RECORD, acquire, claim, clear_all, lock, release
from trnet.train.config import Config, dump_config
from trnet.train.ensemble import member_config, member_dirs, read_done
from trnet.train.signature import train_signature

TRAIN_RECORD = SIGNATURE_RECORD
"""The trainer signs ``out`` when it starts; its ``.done`` (best epoch, dev UAR) comes last."""


CLAIM_WAIT_S = 60.0
"""How long a member's job waits for the fold's lock: the jobs of one fold's members claim
it each in turn, for the moment of a signature check, and may start at the same time."""


def shared_verdict(env: Dist | None, verdict: str) -> str:
    """Rank 0's verdict on a dir, told to every rank (under torchrun; ``env`` None: one
    process, not set up yet); ``error <line>`` is raised on every rank, so all stop together."""
    if env is not None and env.world > 1:
        import torch.distributed as dist

        box = [verdict]
        dist.broadcast_object_list(box, 0)
        verdict = box[0]
    if verdict.startswith("error "):
        raise TrnetError(verdict[len("error ") :])
    return verdict


def train_fold(
    cfg: Config,
    fold: int,
    data_root: str | Path,
    dump: str | Path,
    out: str | Path,
    resume: bool = False,
    device: str = "auto",
    overwrite: bool = False,
    member: int | None = None,
) -> Path:
    """Train one fold into ``out`` (skipped when done with the same signature); returns ``out``.

    ``out`` is locked for the run; a dir made with another signature (config, seed, fold,
    data) is refused unless ``overwrite``. Under torchrun rank 0 decides and tells the rest.

    ``member``: train only that member of an ensemble fold (its own job, beside the jobs
    of the other members): the fold is signed and claimed as for the whole fold, under its
    lock for that moment only; the member trains under its own dir's lock, exactly as
    :func:`train_members` trains it; the job that finds every member done writes the fold's
    ``.done``.
    """
    out = Path(out)
    if member is not None:
        check_member(cfg, out, member, overwrite)
    env: Dist | None = None
    if world_size() == 1:  # one process: the verdict before torch loads (a done fold needs none)
        verdict, locked = fold_verdict(cfg, fold, data_root, dump, out, overwrite, member)
    else:
        env = setup_dist(device)
        verdict, locked = "run", False
        if env.main:
            verdict, locked = fold_verdict(cfg, fold, data_root, dump, out, overwrite, member)
    try:
        verdict = shared_verdict(env, verdict)
        if verdict == "skip":
            if env is None or env.main:
                print(f"{out}: already trained with these settings and inputs, skipping")
            return out
        env = env or setup_dist(device)
        if member is not None:
            train_member(cfg, fold, Path(data_root), Path(dump), out, member, env, resume)
        elif cfg.train.ensemble > 1:
            train_members(cfg, fold, Path(data_root), Path(dump), out, env, resume)
        else:
            from trnet.train.loop import Trainer

            Trainer(cfg, fold, Path(data_root), Path(dump), out, env).run(resume)
        return out
    finally:
        if locked:
            release(out)
        if env is not None:
            teardown_dist(env)


def fold_verdict(
    cfg: Config,
    fold: int,
    data_root: str | Path,
    dump: str | Path,
    out: Path,
    overwrite: bool,
    member: int | None,
) -> tuple[str, bool]:
    """Rank 0's verdict on ``out`` (``run``, ``skip`` or ``error <line>``) and whether it
    holds ``out``'s lock now: the whole fold is locked for the run; a member's job claims
    the fold under its lock for that moment only (its own dir is locked as it trains).
    Imports no torch."""
    verdict, locked = "run", False
    try:
        if member is None:  # the whole fold: locked for the run
            acquire(out)
            locked = True
        signature = train_signature(cfg, fold, Path(data_root), Path(dump))
        with lock(out, CLAIM_WAIT_S):  # a member's job: for the claim only
            # a killed run of this job keeps its checkpoints for --resume; --overwrite clears
            if claim(out, signature, overwrite, TRAIN_RECORD, clear_all if overwrite else None):
                verdict = "skip"
            elif member is not None:
                write_fold_config(cfg, out)
    except TrnetError as err:
        verdict = f"error {err}"
    return verdict, locked


def check_member(cfg: Config, out: Path, member: int, overwrite: bool) -> None:
    """Refuse a ``--member`` that is not one of the fold's members, or given with
    ``--overwrite`` (which would clear the members the other jobs are training)."""
    k = cfg.train.ensemble
    if k < 2:
        raise TrnetError(
            f"--member {member}: {cfg.system} trains one model per fold (train.ensemble 1); "
            "train the fold without --member"
        )
    if not 0 <= member < k:
        raise TrnetError(f"--member {member}: the fold's members are 0 to {k - 1} (ensemble {k})")
    if overwrite:
        raise TrnetError(
            f"{out}: --member and --overwrite: replace the fold with trnet train --overwrite "
            "(without --member)"
        )


def write_fold_config(cfg: Config, out: Path) -> None:
    """An ensemble fold's own ``config.yaml`` (its members' are theirs)."""
    with atomic_write(out / "config.yaml") as f:
        f.write(dump_config(cfg))


def train_members(
    cfg: Config, fold: int, data_root: Path, dump: Path, out: Path, env: Dist, resume: bool
) -> None:
    """Train an ensemble fold (``train.ensemble`` > 1): each member in its own dir, one after
    the other; a member with ``.done`` is kept (the fold's signature already matched), an
    unfinished one continues from its checkpoints with ``--resume``. ``.done`` comes last."""
    dirs = member_dirs(out, cfg.train.ensemble)
    if env.main:
        write_fold_config(cfg, out)
    for k, member in enumerate(dirs):
        train_one(member_config(cfg, k), fold, data_root, dump, member, env, resume)
    if env.main:
        finish_members(out, dirs)
    if env.world > 1:
        import torch.distributed as dist

        dist.barrier()


def train_member(
    cfg: Config,
    fold: int,
    data_root: Path,
    dump: Path,
    out: Path,
    member: int,
    env: Dist,
    resume: bool,
) -> None:
    """Member ``member`` of the ensemble fold ``out`` (claimed), the model
    :func:`train_members` trains there; then the fold's ``.done`` when every member has
    one (under the fold's lock: of two members' jobs ending together, the second writes it)."""
    dirs = member_dirs(out, cfg.train.ensemble)
    if not train_one(member_config(cfg, member), fold, data_root, dump, dirs[member], env, resume):
        if env.main:
            print(f"{dirs[member]}: already trained, skipping")
    if env.main:
        with lock(out, CLAIM_WAIT_S):
            if all((d / ".done").is_file() for d in dirs):
                finish_members(out, dirs)
    if env.world > 1:
        import torch.distributed as dist

        dist.barrier()


def train_one(
    cfg: Config, fold: int, data_root: Path, dump: Path, out: Path, env: Dist, resume: bool
) -> bool:
    """Train an ensemble's member into ``out`` under its lock (a second job on the same
    member is refused), unless it has ``.done``; whether it trained. Rank 0 decides."""
    verdict, locked = "run", False
    if env.main:
        try:
            acquire(out)
            locked = True
            if (out / ".done").is_file():
                verdict = "done"
        except TrnetError as err:
            verdict = f"error {err}"
    try:
        verdict = shared_verdict(env, verdict)
        if verdict == "done":
            return False
        from trnet.train.loop import Trainer

        Trainer(cfg, fold, data_root, dump, out, env).run(resume)
        return True
    finally:
        if locked:
            release(out)


def finish_members(out: Path, dirs: list[Path]) -> None:
    """An ensemble fold's ``.done``, last: the member count and their mean dev UAR."""
    dev = [float(read_done(d).get("dev_uar", "nan")) for d in dirs]
    with atomic_write(out / ".done") as f:
        f.write(f"ensemble {len(dirs)}\ndev_uar {sum(dev) / len(dev):.6f}\n")
