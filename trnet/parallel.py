"""``ordered_map``: a function over items in ``nj`` worker processes, results in input order.

Workers are spawned (never forked: torch's thread pools do not survive a fork) and each
imports torch once, which costs seconds. So a process keeps one pool per ``nj`` alive
and reuses it for every later map: ``trnet mix`` over 6 SNRs, or ``trnet enhance`` over
21 conditions, starts its workers once. A map's ``init(*initargs)`` (per-job state, such
as the noise set being mixed) travels with each chunk of items and runs in a worker the
first time that worker sees the map.

Workers (and this process while it runs a ``nj == 1`` map) use one torch thread, so
results do not depend on ``nj``.
"""

from __future__ import annotations

import atexit
import itertools
import multiprocessing
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
    """Worker side: run the map's init once per worker, then ``fn`` over one chunk."""
    map_id, init, initargs, fn, chunk = task
    if _WORKER_STATE["map_id"] != map_id:
        if init is not None:
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
            return
        map_id = next(_MAP_IDS)
        tasks = [(map_id, init, initargs, fn, chunk) for chunk in chunked(items, nj)]
        for results in _shared_pool(nj).imap(_run_chunk, tasks):
            yield from results
            bar.update(len(results))
    finally:
        bar.close()


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
