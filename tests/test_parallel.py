"""ordered_map: input order, one pool of workers reused across maps, per-map init, errors."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from trnet.errors import TrnetError
from trnet.parallel import chunked, ordered_map

_STATE: dict = {}


def _set_offset(offset: int) -> None:
    _STATE["offset"] = offset


def _add_offset(x: int) -> tuple[int, int]:
    if x < 0:
        raise TrnetError(f"item {x}: negative")
    return x + _STATE["offset"], os.getpid()


@pytest.mark.parametrize("nj", [1, 2])
def test_results_in_input_order_with_each_maps_own_init(nj):
    items = list(range(37))
    first = list(ordered_map(_add_offset, items, nj, _set_offset, (100,)))
    second = list(ordered_map(_add_offset, items, nj, _set_offset, (1000,)))
    assert [r for r, _ in first] == [x + 100 for x in items]
    assert [r for r, _ in second] == [x + 1000 for x in items]
    pids = {p for _, p in first}
    if nj == 1:
        assert pids == {os.getpid()}
    else:  # both maps ran in the same nj workers (a new pool would add processes)
        assert os.getpid() not in pids
        assert len({p for _, p in first + second}) <= nj


def test_a_worker_error_reaches_the_caller():
    with pytest.raises(TrnetError, match="item -3: negative"):
        list(ordered_map(_add_offset, [1, 2, -3, 4], 2, _set_offset, (0,)))
    assert [r for r, _ in ordered_map(_add_offset, [5], 2, _set_offset, (1,))] == [6]


def test_chunks_cover_items_in_order():
    items = list(range(1000))
    chunks = chunked(items, 2)
    assert [x for c in chunks for x in c] == items
    assert max(len(c) for c in chunks) == 16 and len(chunked(items[:5], 2)) == 5


_INITS: dict = {"count": 0}


def _count_init(weights: list) -> None:
    _INITS["count"] += 1
    _STATE["n_weights"] = len(weights)


def _report(x: int) -> tuple[int, int, int, str]:
    import time

    time.sleep(0.01)
    return os.getpid(), _INITS["count"], _STATE["n_weights"], os.getcwd()


def test_heavy_init_runs_once_per_worker_in_the_callers_cwd(tmp_path, monkeypatch):
    import torch

    list(ordered_map(_add_offset, [1, 2], 2, _set_offset, (0,)))  # a pool already running
    monkeypatch.chdir(tmp_path)
    weights = [torch.zeros(4) for _ in range(400)]  # many tensors, shipped once per map
    rows = list(ordered_map(_report, list(range(300)), 2, _count_init, (weights,)))
    assert {n for _, _, n, _ in rows} == {400}
    assert {cwd for *_, cwd in rows} == {str(tmp_path)}
    first_count = {pid: count for pid, count, _, _ in reversed(rows)}
    assert all(count - first_count[pid] == 0 for pid, count, _, _ in rows)  # init once


def test_a_map_left_early_stops_its_workers():
    rows = ordered_map(_report, list(range(400)), 2, _count_init, ([],))
    busy = {next(rows)[0]}
    rows.close()  # the consumer stops reading
    after = {pid for pid, *_ in ordered_map(_report, list(range(8)), 2, _count_init, ([],))}
    assert not busy & after  # a fresh pool, not the one still busy with 398 items


_DIE = """
import os, signal, sys, time
from trnet.errors import TrnetError
from trnet.parallel import ordered_map

def work(x):
    if x == 3:
        os.kill(os.getpid(), signal.SIGKILL)  # as the OOM killer does
    time.sleep(0.05)
    return x

if __name__ == "__main__":
    try:
        list(ordered_map(work, list(range(40)), 2, desc="die"))
    except TrnetError as err:
        print("error:", err)
    print(list(ordered_map(work, [1, 2], 2)))
"""


def test_a_killed_worker_is_one_error_and_the_next_map_works(tmp_path):
    script = tmp_path / "die.py"
    script.write_text(_DIE)
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    try:  # a multiprocessing.Pool waits for the dead worker's chunk for good
        done = subprocess.run(
            [sys.executable, str(script)], capture_output=True, text=True, env=env, timeout=240
        )
    except subprocess.TimeoutExpired:
        pytest.fail("ordered_map hangs after a worker was killed")
    assert done.stdout.splitlines() == [
        "error: die: a worker process died (killed by a signal, or out of memory?); "
        "rerun, or lower --nj",
        "[1, 2]",
    ], done.stderr
