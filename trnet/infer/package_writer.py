"""Writing a model package (:mod:`.package_format`): its files from a config, a state
dict, an SE dir, fbank settings and a card, built beside the destination under its lock
and put in place in one step.
"""

from __future__ import annotations

import errno
import glob
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

from trnet.errors import TrnetError
from trnet.infer.card import write_card
from trnet.infer.package_format import (
    CONFIG,
    DEFAULT_HOP_S,
    DEFAULT_WINDOW_S,
    FRONTEND,
    MANIFEST,
    SE_DIR,
    SER_WEIGHTS,
    is_package,
    se_files,
    write_json,
    write_manifest,
)
from trnet.stage import LOCK, check_replaceable, lock


def frontend_info(cfg: Any, state: dict, fbank: dict) -> dict:
    """frontend.json: what turns audio into the model's input (CMVN also sits in ser.pt)."""
    from trnet.contract import CLASSES, SAMPLE_RATE

    return {
        "sample_rate": SAMPLE_RATE,
        "fbank": fbank,
        "int16_scale": True,
        "enhanced_int16": True,
        "input": cfg.data.input,
        "max_len": cfg.data.max_len,
        "classes": list(CLASSES),
        "window_s": DEFAULT_WINDOW_S,
        "hop_s": DEFAULT_HOP_S,
        "cmvn": {
            "mean": [round(float(v), 7) for v in state["cmvn_mean"]],
            "std": [round(float(v), 7) for v in state["cmvn_std"]],
        },
    }


def _check_dest(dest: Path, real: Path, force: bool) -> None:
    """``dest`` may receive a package: new or empty, or a package and ``force``."""
    if real.exists() and not real.is_dir():
        raise TrnetError(f"{dest}: exists and is not a directory")
    check_replaceable(dest, is_package, f"a trnet model package (no valid {MANIFEST})")
    if real.is_dir() and not force and any(p.name != LOCK for p in real.iterdir()):
        raise TrnetError(f"{dest}: exists; remove it or pass --force")


def _exchange(new: Path, dest: Path) -> None:
    """Put the dir ``new`` at ``dest`` in one step; ``new`` then holds what ``dest`` held.

    Linux swaps the two atomically (renameat2 RENAME_EXCHANGE): no moment without
    ``dest``, in which another run could lock a new empty dir there. Elsewhere (or on a
    file system without it): ``dest`` is moved aside to ``new``'s sibling, then ``new``
    into place, and the old content into ``new``'s path.
    """
    import ctypes

    libc = ctypes.CDLL(None, use_errno=True)
    renameat2 = getattr(libc, "renameat2", None)
    if renameat2 is not None:
        at_fdcwd, rename_exchange = -100, 2
        done = renameat2(at_fdcwd, bytes(new), at_fdcwd, bytes(dest), rename_exchange)
        if done == 0:
            return
        code = ctypes.get_errno()
        if code not in (errno.EINVAL, errno.ENOSYS, errno.ENOTSUP, errno.EOPNOTSUPP):
            raise OSError(code, os.strerror(code), str(dest))
    aside = new.with_name(new.name + ".old")
    os.rename(dest, aside)
    os.rename(new, dest)
    os.rename(aside, new)


def write_package(
    dest: Path,
    cfg: Any,
    state: dict,
    se_dir: Path | None,
    fbank: dict,
    card: dict,
    onnx: bool = False,
    force: bool = False,
) -> Path:
    """Write a package into ``dest``: under ``dest``'s lock, built in a private dir beside
    it, then put in place in one step. An existing ``dest`` is replaced only with ``force``
    and only if it is a package (:func:`trnet.stage.check_replaceable`)."""
    dest = Path(dest)
    real = Path(os.path.realpath(dest))  # "pkg/..", a symlink: the dir they name
    _check_dest(dest, real, force)  # before the lock: nothing is written into a refused dir
    with lock(real):
        _check_dest(dest, real, force)
        for stale in real.parent.glob(f".{glob.escape(real.name)}.{'?' * 8}.partial*"):
            shutil.rmtree(stale, ignore_errors=True)  # of a killed export (we hold the lock)
        tmp = Path(tempfile.mkdtemp(prefix=f".{real.name}.", suffix=".partial", dir=real.parent))
        try:
            _build(tmp, cfg, state, se_dir, fbank, card, onnx)
            _exchange(tmp, real)
        except OSError as err:  # a full disk reports no file name: name the package
            if err.filename is None:
                err.filename = str(dest)
            raise
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    return dest


def _build(
    tmp: Path, cfg: Any, state: dict, se_dir: Path | None, fbank: dict, card: dict, onnx: bool
) -> None:
    """Write every file of a package into the empty dir ``tmp``, the manifest last."""
    import torch

    from trnet.train.config import dump_config

    (tmp / CONFIG).write_text(dump_config(cfg), encoding="utf-8")
    with open(tmp / SER_WEIGHTS, "wb") as f:
        torch.save({k: v.detach().cpu() for k, v in state.items()}, f)
    write_json(tmp / FRONTEND, frontend_info(cfg, state, fbank))
    if se_dir is not None:
        (tmp / SE_DIR).mkdir()
        for src in se_files(se_dir):
            shutil.copyfile(src, tmp / SE_DIR / src.name)
    if onnx:
        from trnet.infer.onnx_backend import export_onnx

        card = {**card, "onnx": export_onnx(tmp, cfg, state, se_dir is not None)}
    write_card(tmp, card)
    write_manifest(tmp)
    tmp.chmod(0o755)  # mkdtemp makes it 0700
