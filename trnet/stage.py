"""Claiming a stage's output dir: one resume and overwrite policy for every stage.

A stage's *signature* is what decides its output (inputs, options, seeds). :func:`claim`
compares it with the one the dir records:

- same signature and the done file present: the dir is complete, the stage is skipped;
- another signature (or, for stages that sign the dir when they start, foreign content):
  refused with :func:`refusal` unless ``overwrite``, then cleared: never ``/``, ``$HOME``,
  the cwd or a parent of it, and emptied (:func:`clear_all`) only when it carries the
  stage's marker (:func:`check_replaceable`); a signature left alone by a run that failed
  before it wrote anything does not count as another signature;
- otherwise (new dir, or a killed run of the same job): the done file is removed and the
  stage runs; :func:`finish` writes the done file last.

Stages keep their own record layout (:class:`Record`): prep, folds and the trainings sign
the dir in a separate file when they start; mix, enhance, feats and decode keep the
signature in the done file. A signature records each dir the stage reads by
:func:`input_digest`: the records of the stage that made it (which hold *its* inputs'
digests, a chain), or the contents of a dir no stage made; so a re-mixed condition, a
retrained model or another source reaches every stage downstream without reading audio.
A refusal names what changed (:func:`changes`).

:func:`lock` keeps a second run off a dir while one writes it (``<dir>/.lock``: pid, host,
start time, made atomically); every stage that writes a dir holds it around its claim and
finish. A lock left by a dead process on this host is taken over with a notice.
"""

from __future__ import annotations

import atexit
import contextlib
import errno
import hashlib
import json
import os
import socket
import sys
import time
from collections.abc import Callable, Collection, Iterator
from dataclasses import dataclass
from pathlib import Path

from trnet.errors import TrnetError, overwrite_hint
from trnet.io import atomic_write

DONE = ".done"
LOCK = ".lock"
FORMAT_VERSION = 1
"""Goes into the signatures that name it; raised when a stage's output format changes, so
dirs written in the old format are refused instead of kept."""
_MADE: set[Path] = set()
_HELD: dict[Path, int] = {}
"""Locks this process holds (resolved lock path → nesting depth: a stage may call another
on its own dir, as ``trnet mix`` calls the features stage)."""


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's live process
        return True
    return True


def _holder(path: Path) -> dict | None:
    try:
        meta = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, ValueError):
        return {}
    return meta if isinstance(meta, dict) else {}


def _describe(meta: dict) -> str:
    if not meta:
        return "an unknown process (unreadable lock file)"
    return f"pid {meta.get('pid')} on {meta.get('host')} since {meta.get('start')}"


def _create(path: Path) -> bool:
    """Write the lock file under ``path`` all at once (link of a finished temporary file:
    never a half-written lock); False if it exists."""
    meta = {
        "pid": os.getpid(),
        "host": socket.gethostname(),
        "start": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "argv": sys.argv,
    }
    tmp = path.with_name(f"{LOCK}.{os.getpid()}.tmp")
    try:
        tmp.write_text(json.dumps(meta) + "\n", encoding="utf-8")
    except OSError as err:  # a full disk, a read-only dir: name the lock, leave no tmp
        with contextlib.suppress(OSError):
            tmp.unlink(missing_ok=True)
        err.filename = str(path)
        raise
    try:
        os.link(tmp, path)
    except FileExistsError:
        return False
    except OSError as err:  # a file system without hard links: O_EXCL
        if err.errno not in (errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP):
            raise
        try:
            fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
        except FileExistsError:
            return False
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(tmp.read_text(encoding="utf-8"))
    finally:
        tmp.unlink(missing_ok=True)
    return True


def acquire(dest: Path, wait: float = 0.0) -> None:
    """Lock ``dest`` (made if missing) for this process, or refuse in one line naming the
    holder; a lock of a dead process of this host is taken over with a notice. ``wait``:
    seconds to wait for a live holder first (for locks that are held only briefly: the
    members of an ensemble fold claim the fold each in turn)."""
    deadline = time.monotonic() + wait
    while True:
        try:
            return _acquire(dest)
        except TrnetError:
            if time.monotonic() >= deadline:
                raise
        time.sleep(0.1)


def _acquire(dest: Path) -> None:
    dest = Path(dest)
    if dest.exists() and not dest.is_dir():
        raise TrnetError(f"{dest}: exists and is not a directory")
    made = not dest.exists()
    dest.mkdir(parents=True, exist_ok=True)
    path = (dest / LOCK).resolve()
    if made:
        _MADE.add(path)
    if path in _HELD:
        _HELD[path] += 1
        return
    for _ in range(2):
        if _create(path):
            _HELD[path] = 1
            return
        meta = _holder(path)
        if meta is None:  # released meanwhile
            continue
        pid = meta.get("pid")
        if (
            meta.get("host") == socket.gethostname()
            and isinstance(pid, int)
            and not _pid_alive(pid)
        ):
            print(
                f"warning: {dest}: taking over the lock of {_describe(meta)} "
                f"(that process is gone)",
                file=sys.stderr,
            )
            path.unlink(missing_ok=True)
            continue
        break
    raise TrnetError(
        f"{dest}: in use by {_describe(meta or {})} ({dest / LOCK}); "
        f"wait for that run, or remove the lock file if it is gone"
    )


def release(dest: Path) -> None:
    path = (Path(dest) / LOCK).resolve()
    depth = _HELD.get(path, 0)
    if depth > 1:
        _HELD[path] = depth - 1
        return
    _HELD.pop(path, None)
    if depth and (_holder(path) or {}).get("pid") == os.getpid():
        path.unlink(missing_ok=True)
    if path in _MADE:  # a dir made only to hold the lock of a run that wrote nothing
        _MADE.discard(path)
        with contextlib.suppress(OSError):
            path.parent.rmdir()


@contextlib.contextmanager
def lock(dest: Path, wait: float = 0.0) -> Iterator[None]:
    """Hold ``dest``'s lock for the block (see :func:`acquire`); reentrant in one process."""
    acquire(dest, wait)
    try:
        yield
    finally:
        release(dest)


@atexit.register
def release_all() -> None:
    """Remove every lock this process holds (at exit, and on Ctrl-C)."""
    while _HELD:
        path, _ = _HELD.popitem()
        if (_holder(path) or {}).get("pid") == os.getpid():
            path.unlink(missing_ok=True)


def _is_lock(name: str) -> bool:
    """The lock, or another process's lock being written (``.lock.<pid>.tmp``): a job
    waiting for the lock makes one each try, so it must not count as the dir's content."""
    return name == LOCK or (name.startswith(f"{LOCK}.") and name.endswith(".tmp"))


def clear_all(dest: Path) -> None:
    """A ``clear`` for :func:`claim`: remove everything in ``dest`` but its lock (claim
    calls it only on a dir that :func:`check_replaceable` lets go)."""
    import shutil

    for path in Path(dest).iterdir():
        if _is_lock(path.name):
            continue
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path)
        else:
            path.unlink()


def _has_content(dest: Path) -> bool:
    """Whether ``dest`` holds anything but its lock."""
    return dest.is_dir() and any(not _is_lock(p.name) for p in dest.iterdir())


def _protected(real: Path) -> str | None:
    """Why the resolved dir ``real`` may never be cleared or replaced, or None."""
    cwd = Path.cwd().resolve()
    try:
        home = Path.home().resolve()
    except (KeyError, RuntimeError):  # no $HOME and no passwd entry
        home = None
    if real == Path(real.anchor):
        return "the root directory"
    if real == home:
        return "your home directory"
    if real == cwd:
        return "the current directory"
    if real in cwd.parents:
        return "a parent of the current directory"
    return None


def check_replaceable(dest: Path, ours: Callable[[Path], bool] | None, what: str = "") -> None:
    """Refuse, in one line, to clear or replace ``dest``: when it resolves to ``/``,
    ``$HOME``, the current directory or one of its parents, or (given ``ours``) when it
    holds anything and ``ours(dest)`` says trnet did not make it (``what``: what it is
    not, with the marker).

    Every place that deletes an output dir or its content on ``--overwrite``/``--force``
    calls this first: a dir trnet made may be cleared whole, any other dir never.
    """
    dest = Path(dest)
    why = _protected(dest.resolve())
    if why is not None:
        raise TrnetError(f"{dest}: is {why}; refusing to clear or replace it, choose another dir")
    if ours is not None and _has_content(dest) and not ours(dest):
        raise TrnetError(
            f"{dest}: holds files and is not {what}; trnet clears or replaces only its own "
            "output (even with --overwrite or --force): choose a new or empty dir"
        )


def dir_digest(path: Path, recursive: bool = False, skip: Collection[str] = ()) -> str:
    """sha256 of the names and contents of ``path``'s files (dot files and the names in
    ``skip`` left out; sub-dirs too unless ``recursive``): a signature's record of a data
    dir or noise set it reads."""
    path = Path(path)
    digest = hashlib.sha256()
    files = path.rglob("*") if recursive else path.iterdir()
    for file in sorted(p for p in files if p.is_file()):
        rel = file.relative_to(path)
        if any(part.startswith(".") for part in rel.parts) or rel.as_posix() in skip:
            continue
        digest.update(rel.as_posix().encode() + b"\0" + file.read_bytes() + b"\0")
    return digest.hexdigest()


def is_record(name: str) -> bool:
    """Whether a dir's top-level file ``name`` is one of its stages' records: the done file,
    ``.<what>.done`` (``.feats.done``) or ``.<what>.json`` (``.signature.json``); locks,
    temporary files and caches are not."""
    return name == DONE or (name.startswith(".") and name.endswith((".done", ".json")))


def input_digest(path: Path, skip: Collection[str] = ()) -> str | None:
    """What a signature records of a dir its stage reads (None: missing).

    A dir a stage made (its done file is there) by its records (:func:`is_record`): they
    hold that stage's signature, which holds the digests of *its* inputs, so the digest
    covers the whole chain (a condition re-mixed with another seed, features made with
    other settings, a retrained model) without reading audio or arks. Any other dir (a
    user's data dir, a noise set, a fold's lists) by its contents (:func:`dir_digest`).
    The names in ``skip`` are left out: what the reading stage does not read (the feature
    marker, for a stage that reads the audio) or itself adds there (a cache).
    """
    path = Path(path)
    if not path.is_dir():
        return None
    if not (path / DONE).is_file():
        return dir_digest(path, skip=skip)
    digest = hashlib.sha256()
    records = (p for p in path.iterdir() if is_record(p.name) and p.name not in skip)
    for file in sorted(p for p in records if p.is_file()):
        digest.update(file.name.encode() + b"\0" + file.read_bytes() + b"\0")
    return digest.hexdigest()


def refusal(dest: Path, detail: str = "") -> TrnetError:
    """The one message of every stage that finds its output dir made otherwise (``detail``:
    what differs, :func:`changes`)."""
    tail = f"; {detail}" if detail else ""
    return TrnetError(f"{dest}: exists with other settings; {overwrite_hint()}{tail}")


def changes(previous: object, signature: dict, most: int = 4) -> str:
    """What differs between the signature a dir records and the one wanted, in words: the
    keys whose values differ, down to the innermost (``config optim lr``, ``inputs dump
    esc50_train_0``), or that the dir is signed by another version of trnet, or not at all."""
    if previous is None:
        return "it records no signature (made by hand, or by an older trnet)"
    if not isinstance(previous, dict) or previous.keys() != signature.keys():
        return "it was signed by another version of trnet"
    found = _differing(previous, signature)
    shown = ", ".join(found[:most]) + (", ..." if len(found) > most else "")
    return f"changed: {shown}"


def _differing(old: object, new: object, where: str = "") -> list[str]:
    if old == new:
        return []
    if not (isinstance(old, dict) and isinstance(new, dict)):
        return [where]
    found: list[str] = []
    for key in sorted(old.keys() | new.keys(), key=str):
        found += _differing(old.get(key), new.get(key), f"{where} {key}".strip())
    return found


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

    def owns(self, dest: Path) -> bool:
        """Whether ``dest`` carries this stage's marker (its signature or done file)."""
        return (dest / self.file).is_file() or (dest / self.done).is_file()

    @property
    def marker(self) -> str:
        """The marker as :func:`check_replaceable` names it."""
        names = sorted({self.file, self.done})
        return f"a trnet output dir (no {' or '.join(names)})"

    def unstarted(self, dest: Path) -> bool:
        """Whether ``dest`` holds nothing but a signature written at the start (and the
        lock, and temporary files): a run that failed before it wrote anything."""
        return self.signs_at_start and all(
            p.name in (LOCK, self.file) or (p.name.startswith(".") and p.name.endswith(".tmp"))
            for p in dest.iterdir()
        )

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
"""The signature is the done file's json (mix, enhance, decode)."""
SIGNATURE_RECORD = Record(file=".signature.json", done=DONE, indent=1, newline=True)
"""The signature in ``.signature.json``, written when the stage starts; the done file (the
stage's own summary: best epoch, dev UAR...) last (training: SER, SE, SVM)."""


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
        foreign = not record.unstarted(dest)  # a failed run's signature blocks nothing
    else:
        foreign = previous is None and record.signs_at_start and _has_content(dest)
    if foreign and not overwrite:
        raise refusal(dest, changes(previous, signature))
    if clear is not None and _has_content(dest):
        # never /, $HOME or the cwd; and clear_all, which empties the dir, only a dir of
        # this stage (a stage's own clear removes only its own outputs, as prep's does)
        check_replaceable(dest, record.owns if clear is clear_all else None, record.marker)
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
