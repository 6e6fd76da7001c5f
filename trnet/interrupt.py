"""Ctrl-C for the ``trnet`` command: exit status 130, the one line ``interrupted``, within
about a second, whatever the process is doing (issue 15).

:func:`install` (called by the CLI before its slow imports) sets a SIGINT handler that
raises KeyboardInterrupt as usual, so ``finally`` blocks remove temporary files, and also
starts a deadline: a way out that blocks (C code, a worker that will not stop, torch's
interpreter teardown, which can take seconds) is cut short by :func:`interrupted`. Inside an
import nothing is raised (torch's C++ import code aborts the process on an exception); the
deadline ends the process. Only the standard library is imported here.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import threading
import time
from pathlib import Path
from types import FrameType

GRACE_S = 0.5
"""After Ctrl-C, how long the normal way out may take before the process is ended."""
_EXITING = threading.Lock()


def launched_as_command() -> bool:
    """True in the ``trnet`` console script and ``python -m trnet`` (not under pytest)."""
    argv0 = Path(sys.argv[0]) if sys.argv and sys.argv[0] else Path()
    return argv0.name == "trnet" or (argv0.name == "__main__.py" and argv0.parent.name == "trnet")


def install() -> None:
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGINT, _on_sigint)


def _on_sigint(signum: int, frame: FrameType | None) -> None:
    threading.Thread(target=_exit_after, args=(GRACE_S,), daemon=True).start()
    while frame is not None:
        if frame.f_code.co_filename.startswith("<frozen importlib"):
            signal.signal(signal.SIGINT, signal.SIG_IGN)
            return
        frame = frame.f_back
    raise KeyboardInterrupt


def _exit_after(seconds: float) -> None:
    time.sleep(seconds)
    interrupted()


def in_progress() -> bool:
    """True once :func:`interrupted` runs: errors its worker kills cause are not to be shown."""
    return _EXITING.locked()


def interrupted() -> None:
    """Kill the workers, say ``interrupted``, exit 130 now (no interpreter teardown)."""
    if not _EXITING.acquire(blocking=False):  # the other thread is already on its way out
        threading.Event().wait()
    if "trnet.parallel" in sys.modules:
        sys.modules["trnet.parallel"].close_pools()
    if "trnet.stage" in sys.modules:  # stage locks of this process (os._exit skips atexit)
        sys.modules["trnet.stage"].release_all()
    if "multiprocessing.util" in sys.modules:  # unlink the pools' semaphores (else the
        with contextlib.suppress(Exception):  # resource tracker warns about leaked ones)
            sys.modules["multiprocessing.util"]._run_finalizers(0)
    with contextlib.suppress(Exception):
        sys.stdout.flush()
    with contextlib.suppress(Exception):
        print("interrupted", file=sys.stderr, flush=True)
    os._exit(130)
