"""``ordered_map``: a function over items in ``nj`` worker processes, results in input order.

Workers are spawned (never forked: torch's thread pools do not survive a fork) and each
imports torch once, which costs seconds. So a process keeps one pool per ``nj`` alive
and reuses it for every later map: ``trnet mix`` over 6 SNRs, or ``trnet enhance`` over
21 conditions, starts its workers once.

A map's ``init(*initargs)`` (per-map state, such as the noise set being mixed or the SE
model) is pickled once into a temporary file; each chunk of items carries only its path
and the caller's working directory, and a worker loads and runs the init the first time
it sees the map. (Pickling the initargs into every chunk would send a model's tensors
again and again, through one file descriptor per tensor.) A map that is left before its
end (an error, or a consumer that stops reading) terminates the pool, so no stale work
delays the next map; the next map starts a fresh one.

Workers (and this process while it runs a ``nj == 1`` map) use one torch thread, so
results do not depend on ``nj``.
"""

from __future__ import annotations

import atexit
import itertools
import multiprocessing
import os
import pickle
import tempfile
from collections.abc import Callable, Iterator, Sequence
from multiprocessing.pool import Pool

_POOLS: dict[int, Pool] = {}
_MAP_IDS = itertools.count()
_WORKER_STATE: dict = {"map_id": None}
MAX_CHUNK = 16


def _one_thread() -> None:
    import torch

    torch.set_num_threads(1)


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


def _shared_pool(nj: int) -> Pool:
    if nj not in _POOLS:
        _POOLS[nj] = multiprocessing.get_context("spawn").Pool(nj, initializer=_one_thread)
    return _POOLS[nj]


@atexit.register
def close_pools() -> None:
    """Stop every worker this process started (also run at exit)."""
    while _POOLS:
        _POOLS.popitem()[1].terminate()


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
            yield from _in_pool(fn, items, nj, init, initargs, bar)
    finally:
        bar.close()


def _in_pool(fn: Callable, items: Sequence, nj: int, init, initargs: tuple, bar) -> Iterator:  # noqa: ANN001
    init_file = None
    if init is not None:
        fd, init_file = tempfile.mkstemp(prefix="trnet-map-", suffix=".pkl")
        with os.fdopen(fd, "wb") as f:
            pickle.dump((init, initargs), f, protocol=pickle.HIGHEST_PROTOCOL)
    map_id = next(_MAP_IDS)
    tasks = [(map_id, os.getcwd(), init_file, fn, chunk) for chunk in chunked(items, nj)]
    finished = False
    try:
        for results in _shared_pool(nj).imap(_run_chunk, tasks):
            yield from results
            bar.update(len(results))
        finished = True
    finally:
        pool = None if finished else _POOLS.pop(nj, None)
        if pool is not None:  # left early: stop the workers still busy with this map
            pool.terminate()
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
