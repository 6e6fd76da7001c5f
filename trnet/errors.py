"""The one exception type the CLI turns into a one-line message instead of a traceback,
and the one line of an operating-system error about a path (a full disk, a read-only dir)."""

import errno
import os

OVERWRITE_HINT_ENV = "TRNET_OVERWRITE_HINT"
"""A recipe (egs/*/path.sh) sets this: run.sh has no ``--overwrite`` to suggest."""


def overwrite_hint() -> str:
    """How to replace an output made with other settings, as the caller can do it."""
    return os.environ.get(OVERWRITE_HINT_ENV) or "use --overwrite"


class TrnetError(Exception):
    """A user-facing error: bad input, a missing file, a wrong path.

    The message must name the file (or option) and what is wrong with it.
    """


PATH_ERRNOS = frozenset(
    {
        errno.ENOSPC,  # no space left on device
        errno.EDQUOT,  # disk quota exceeded
        errno.EFBIG,  # file too large
        errno.EROFS,  # read-only file system
        errno.EACCES,  # permission denied
        errno.EPERM,  # operation not permitted
        errno.ENOTDIR,  # a path component is a regular file
        errno.EISDIR,  # a file's path is a dir
        errno.EEXIST,
        errno.ENOENT,
        errno.ENOTEMPTY,
        errno.ENAMETOOLONG,
        errno.ELOOP,
        errno.EIO,
    }
)
"""Errors of the machine or of the paths given, not of trnet: the CLI prints them in one
line (any other OSError is a bug and keeps its traceback)."""


def os_error_line(err: BaseException) -> str | None:
    """``PATH: reason`` for an OSError of :data:`PATH_ERRNOS` (or one that a library's
    exception was raised from), e.g. ``exp/x/best.pt: no space left on device``; None for
    anything else."""
    seen = set()
    while err is not None and id(err) not in seen:
        seen.add(id(err))
        if isinstance(err, OSError) and err.errno in PATH_ERRNOS:
            reason = err.strerror or os.strerror(err.errno)
            reason = reason[:1].lower() + reason[1:]
            paths = [str(p) for p in (err.filename, err.filename2) if p is not None]
            return f"{' -> '.join(paths)}: {reason}" if paths else reason
        err = err.__cause__ or err.__context__
    return None
