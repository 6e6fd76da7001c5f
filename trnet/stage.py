"""Claiming a stage's output dir: one resume and overwrite policy for every stage.

A stage's *signature* is what decides its output (inputs, options, seeds). :func:`claim`
compares it with the one the dir records:

- same signature and the done file present: the dir is complete, the stage is skipped;
- another signature (or, for stages that sign the dir when they start, foreign content):
  refused with :func:`refusal` unless ``overwrite``, then cleared;
- otherwise (new dir, or a killed run of the same job): the done file is removed and the
  stage runs; :func:`finish` writes the done file last.

Stages keep their own record layout (:class:`Record`): prep and folds sign the dir in a
separate file when they start; mix, enhance and feats keep the signature in the done file.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from trnet.errors import TrnetError, overwrite_hint
from trnet.io import atomic_write

DONE = ".done"


def refusal(dest: Path) -> TrnetError:
    """The one message of every stage that finds its output dir made otherwise."""
    return TrnetError(f"{dest}: exists with other settings; {overwrite_hint()}")


@dataclass(frozen=True)
class Record:
    """Where and how a stage records its signature.

    ``file``: the signature file, relative to the dir (the done file itself when equal to
    ``done``); ``key``: the json key the signature sits under (None: the whole file);
    ``indent``/``newline``: the json layout (kept as each stage always wrote it).
    """

    file: str = DONE
    done: str = DONE
    key: str | None = None
    indent: int = 1
    newline: bool = False

    @property
    def signs_at_start(self) -> bool:
        return self.file != self.done

    def read(self, dest: Path) -> object | None:
        try:
            meta = json.loads((dest / self.file).read_text(encoding="utf-8"))
            return meta[self.key] if self.key else meta
        except (OSError, ValueError, KeyError, TypeError):
            return None

    def write(self, dest: Path, signature: dict, extra: dict | None = None) -> None:
        meta = {self.key: signature, **(extra or {})} if self.key else signature
        with atomic_write(dest / self.file) as f:
            json.dump(meta, f, indent=self.indent, sort_keys=True)
            if self.newline:
                f.write("\n")


DONE_RECORD = Record()
"""The signature is the done file's json (mix, enhance)."""


def claim(
    dest: Path,
    signature: dict,
    overwrite: bool,
    record: Record = DONE_RECORD,
    clear: Callable[[Path], None] | None = None,
) -> bool:
    """True when ``dest`` is complete for ``signature`` (skip the stage); else prepare it.

    ``clear(dest)`` empties a non-empty dir that is not complete (made otherwise, once
    ``overwrite`` allows it, or left by a killed run); by default only the done file goes
    and the stage rewrites every output atomically.
    """
    dest = Path(dest)
    if dest.exists() and not dest.is_dir():
        raise TrnetError(f"{dest}: exists and is not a directory")
    previous = record.read(dest)
    if previous == signature and (dest / record.done).is_file():
        return True
    if previous is not None and previous != signature:
        foreign = True
    else:
        foreign = (
            previous is None and record.signs_at_start and dest.is_dir() and any(dest.iterdir())
        )
    if foreign and not overwrite:
        raise refusal(dest)
    if clear is not None and dest.is_dir() and any(dest.iterdir()):
        clear(dest)
    if dest.is_dir():  # temporary files of atomic writes a killed run left behind
        for stale in dest.glob(".*.tmp"):
            stale.unlink(missing_ok=True)
    (dest / record.done).unlink(missing_ok=True)
    if record.signs_at_start:
        dest.mkdir(parents=True, exist_ok=True)
        record.write(dest, signature)
    return False


def finish(
    dest: Path, signature: dict, record: Record = DONE_RECORD, extra: dict | None = None
) -> None:
    """Mark ``dest`` complete: the signature (with ``extra``, e.g. a summary), done file last."""
    dest = Path(dest)
    if record.signs_at_start:
        if extra:
            record.write(dest, signature, extra)
        with atomic_write(dest / record.done) as f:
            f.write("")
    else:
        record.write(dest, signature)
