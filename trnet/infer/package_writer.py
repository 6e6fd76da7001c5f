"""Writing a model package (:mod:`.package_format`): its files from what a kind's export
hook gives (:class:`trnet.systems.base.PackageParts`), an SE dir and a card, built beside the
destination under its lock and put in place in one step.
"""

from __future__ import annotations

import errno
import glob
import os
import shutil
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

from trnet.errors import TrnetError
from trnet.infer.card import write_card
from trnet.infer.package_format import (
    CONFIG,
    DEFAULT_HOP_S,
    DEFAULT_WINDOW_S,
    FRONTEND,
    FUNCTIONALS,
    MANIFEST,
    SE_DIR,
    is_package,
    se_files,
    write_json,
    write_manifest,
)
from trnet.stage import LOCK, check_replaceable, lock

if TYPE_CHECKING:
    from trnet.systems.base import PackageParts


def frontend_info(parts: PackageParts) -> dict:
    """frontend.json: the model type, what turns audio into its input (the kind's entries)
    and what every package says (rate, classes, windows)."""
    from trnet.contract import CLASSES, SAMPLE_RATE

    return {
        "model": parts.model,
        "input": parts.input,
        "sample_rate": SAMPLE_RATE,
        "classes": list(CLASSES),
        "window_s": DEFAULT_WINDOW_S,
        "hop_s": DEFAULT_HOP_S,
        **parts.frontend,
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
    parts: PackageParts,
    se_dir: Path | None,
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
            _build(tmp, parts, se_dir, card, onnx)
            _exchange(tmp, real)
        except OSError as err:  # a full disk reports no file name: name the package
            if err.filename is None:
                err.filename = str(dest)
            raise
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    return dest


def _build(tmp: Path, parts: PackageParts, se_dir: Path | None, card: dict, onnx: bool) -> None:
    """Write every file of a package into the empty dir ``tmp``, the manifest last."""
    import torch

    (tmp / CONFIG).write_text(parts.config_text, encoding="utf-8")
    for name, state in parts.states.items():
        with open(tmp / name, "wb") as f:
            torch.save({k: v.detach().cpu() for k, v in state.items()}, f)
    for name, src in parts.files.items():
        shutil.copyfile(src, tmp / name)
    write_json(tmp / FRONTEND, frontend_info(parts))
    if parts.functionals is not None:
        write_json(tmp / FUNCTIONALS, parts.functionals)
    if se_dir is not None:
        copy_se(se_dir, tmp / SE_DIR)
    if onnx:
        from trnet.infer.onnx_backend import export_onnx

        card = {**card, "onnx": export_onnx(tmp, parts, se_dir is not None)}
    write_card(tmp, card)
    write_manifest(tmp)
    tmp.chmod(0o755)  # mkdtemp makes it 0700


def copy_se(se_dir: Path, dest: Path) -> None:
    """The SE dir's files into ``dest``; a pretrained front end's ONNX file goes along
    (:func:`trnet.se.pretrained.copy_portable`), so the package runs without it."""
    from trnet.se.pretrained import copy_portable, is_package

    dest.mkdir()
    if is_package(se_dir):
        copy_portable(se_dir, dest)
        return
    for src in se_files(se_dir):
        shutil.copyfile(src, dest / src.name)
