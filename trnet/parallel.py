"""``ordered_map``: a function over items in ``nj`` worker processes, results in input order.

Workers are spawned (never forked: torch's thread pools do not survive a fork) and each
imports torch once, which costs seconds. So a process keeps one pool per ``nj`` alive
and reuses it for every later map: ``trnet mix`` over 6 SNRs, or ``trnet enhance`` over
21 conditions, starts its workers once.

A map's ``init(*initargs)`` (per-map state, such as the noise set being mixed or the SE
model) is pickled once into a temporary file; each chunk of items carries only its path
and the caller's working directory, and a worker loads and runs the init the first time
it sees the map. (Pickling the initargs into every chunk would send a model's tensors
again and again, through one file descriptor per tensor.)

Faults (``concurrent.futures.ProcessPoolExecutor``, not ``multiprocessing.Pool``, whose
``terminate()`` can block for good and which waits forever on a worker killed by the OOM
killer):

- a worker that dies (a signal, the OOM killer) is one :class:`TrnetError`;
- workers ignore SIGINT (it is blocked while they start, so they inherit it blocked): a
  Ctrl-C reaches this process alone, which kills its workers (SIGKILL) on the way out;
- a map that is left before its end (an error, Ctrl-C, or a consumer that stops reading)
  kills the pool, so no stale work delays the next map or the exit; the next map starts a
  fresh pool.
- workers die with this process, even of a SIGKILL (:func:`_die_with`).

Workers (and this process while it runs a ``nj == 1`` map) use one torch thread, so
results do not depend on ``nj``.
"""

from __future__ import annotations

import atexit
import contextlib
import itertools
import multiprocessing
import os
import pickle
import signal
import tempfile
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool

from trnet.errors import TrnetError

_POOLS: dict[int, ProcessPoolExecutor] = {}
_MAP_IDS = itertools.count()
_WORKER_STATE: dict = {"map_id": None}
MAX_CHUNK = 16
IN_FLIGHT_PER_WORKER = 4
"""Chunks submitted ahead per worker: enough to keep workers busy, few results held."""


def _worker_start(parent: int) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle
    _die_with(parent)
    import torch

    from trnet import determinism

    torch.set_num_threads(1)
    determinism.apply_torch()  # the parent's numerics (no oneDNN in deterministic mode)


PR_SET_PDEATHSIG = 1
WATCH_S = 0.5
"""How often a worker without PR_SET_PDEATHSIG checks that its parent lives."""


def _die_with(parent: int) -> None:
    """End this worker when ``parent`` (the process that maps) dies, also of a SIGKILL
    (the OOM killer) that runs none of its clean-up: otherwise the workers, and the
    resource tracker whose pipe they hold, stay alive for good, blocked on the task queue.

    Linux: the kernel sends SIGKILL at the parent's death (``PR_SET_PDEATHSIG``; pools
    are started by the thread that maps, trnet's main thread). Elsewhere: a daemon thread
    sees the parent change."""
    import ctypes
    import sys

    if sys.platform.startswith("linux"):
        with contextlib.suppress(OSError, AttributeError):
            libc = ctypes.CDLL(None, use_errno=True)
            if libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0) == 0:
                if os.getppid() != parent:  # it died before the request
                    os._exit(1)
                return

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(WATCH_S)
        os._exit(1)

    threading.Thread(target=watch, name="trnet-parent-watch", daemon=True).start()


def _run_chunk(task: tuple) -> list:
    """Worker side: enter the map (cwd, init) once per worker, then ``fn`` over one chunk."""
    map_id, cwd, init_file, fn, chunk = task
    if _WORKER_STATE["map_id"] != map_id:
        os.chdir(cwd)
        if init_file is not None:
            with open(init_file, "rb") as f:
                init, initargs = pickle.load(f)
            init(*initargs)
        _WORKER_STATE["map_id"] = map_id
    return [fn(item) for item in chunk]


def _shared_pool(nj: int) -> ProcessPoolExecutor:
    if nj not in _POOLS:
        _POOLS[nj] = ProcessPoolExecutor(
            nj,
            mp_context=multiprocessing.get_context("spawn"),
            initializer=_worker_start,
            initargs=(os.getpid(),),
        )
    return _POOLS[nj]


@contextlib.contextmanager
def _sigint_blocked() -> Iterator[None]:
    """Block SIGINT while workers may be spawned: they start with it blocked (a Ctrl-C then
    is delivered here once unblocked, not lost)."""
    main = threading.current_thread() is threading.main_thread()
    if main:
        signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
    try:
        yield
    finally:
        if main:
            signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})


def _kill(pool: ProcessPoolExecutor) -> None:
    """Stop a pool now: SIGKILL its workers, drop its queued work, wait for nothing."""
    processes = list((getattr(pool, "_processes", None) or {}).values())
    for proc in processes:
        with contextlib.suppress(Exception):
            proc.kill()
    # A worker killed while it sent a result leaves half a message in the result pipe, and
    # the pool's manager thread would wait for the rest for good (this process holds the
    # pipe's write end too): exit would hang. Closing that end makes it an end of file.
    with contextlib.suppress(Exception):
        pool._result_queue._writer.close()  # type: ignore[attr-defined]
    pool.shutdown(wait=False, cancel_futures=True)
    for proc in processes:
        with contextlib.suppress(Exception):
            proc.join(1)


def close_pools() -> None:
    """Stop every worker this process started (also run at exit, and by the CLI on Ctrl-C)."""
    while _POOLS:
        _kill(_POOLS.popitem()[1])


atexit.register(close_pools)
with contextlib.suppress(AttributeError):  # before concurrent.futures joins its threads
    threading._register_atexit(close_pools)  # type: ignore[attr-defined]


def chunked(items: Sequence, nj: int) -> list[Sequence]:
    """About 8 chunks per worker (balance), at most ``MAX_CHUNK`` items each (progress)."""
    size = max(1, min(MAX_CHUNK, len(items) // (8 * nj)))
    return [items[i : i + size] for i in range(0, len(items), size)]


def ordered_map(
    fn: Callable,
    items: Sequence,
    nj: int = 1,
    init: Callable[..., None] | None = None,
    initargs: tuple = (),
    desc: str = "",
) -> Iterator:
    """``fn`` over ``items`` in ``nj`` processes (this one when 1); input order; a progress bar.

    ``fn`` and ``init`` must be module-level functions (they are pickled by name).
    """
    from tqdm import tqdm

    bar = tqdm(total=len(items), desc=desc, unit="utt", disable=None, leave=False)
    try:
        if nj <= 1:
            yield from _in_process(fn, items, init, initargs, bar)
        else:
            yield from _in_pool(fn, items, nj, init, initargs, bar, desc)
    finally:
        bar.close()


def _in_pool(
    fn: Callable, items: Sequence, nj: int, init, initargs: tuple, bar, desc: str
) -> Iterator:  # noqa: ANN001
    init_file = None
    if init is not None:
        fd, init_file = tempfile.mkstemp(prefix="trnet-map-", suffix=".pkl")
        with os.fdopen(fd, "wb") as f:
            pickle.dump((init, initargs), f, protocol=pickle.HIGHEST_PROTOCOL)
    map_id = next(_MAP_IDS)
    tasks = iter([(map_id, os.getcwd(), init_file, fn, chunk) for chunk in chunked(items, nj)])
    pending: deque[Future] = deque()
    finished = False
    try:
        pool = _shared_pool(nj)

        def submit_ahead() -> None:
            with _sigint_blocked():
                while len(pending) < IN_FLIGHT_PER_WORKER * nj:
                    task = next(tasks, None)
                    if task is None:
                        return
                    pending.append(pool.submit(_run_chunk, task))

        try:  # a dead worker breaks the pool: seen by result() or by the next submit()
            submit_ahead()
            while pending:
                results = pending.popleft().result()
                submit_ahead()
                yield from results
                bar.update(len(results))
        except BrokenProcessPool:
            raise TrnetError(
                f"{desc or 'parallel map'}: a worker process died (killed by a signal, or "
                f"out of memory?); rerun, or lower --nj"
            ) from None
        finished = True
    finally:
        pool_left = None if finished else _POOLS.pop(nj, None)
        if pool_left is not None:  # left early: stop the workers still busy with this map
            _kill(pool_left)
        if init_file is not None:
            os.unlink(init_file)


def _in_process(fn: Callable, items: Sequence, init, initargs: tuple, bar) -> Iterator:  # noqa: ANN001
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        if init is not None:
            init(*initargs)
        for item in items:
            yield fn(item)
            bar.update()
    finally:
        torch.set_num_threads(threads)
