"""Where a training run spends its time: wall and CPU seconds per named phase.

The trainer calls :meth:`PhaseTimer.phase` around each of its steps and
:meth:`PhaseTimer.iterate` around its batch loader. By default it holds :data:`NO_TIMER`,
whose methods hand back a shared no-op context and the loader itself, so an ordinary
``trnet train`` pays a method call per step and reads no clock. Timing changes nothing
the run computes (it only reads clocks), so a timed run trains the same model bit for bit;
``trnet bench train`` uses it (:mod:`trnet.bench`).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from typing import TypeVar

T = TypeVar("T")

_NOTHING = nullcontext()


class NoTimer:
    """Times nothing (the trainer's default)."""

    def phase(self, name: str, count: bool = True) -> AbstractContextManager:
        return _NOTHING

    def iterate(self, name: str, items: Iterable[T]) -> Iterable[T]:
        return items


NO_TIMER = NoTimer()


class PhaseTimer(NoTimer):
    """Wall (``time.perf_counter``) and process CPU (``time.process_time``, every thread)
    seconds and the number of entries of each phase. Phases may nest (an epoch around its
    steps); each is summed on its own, so nested times also count in the enclosing phase.
    ``sync`` (e.g. ``torch.cuda.synchronize``) runs before each clock reading, so that
    the time of queued device work lands in the phase that queued it."""

    def __init__(self, sync: Callable[[], None] | None = None) -> None:
        self.wall: dict[str, float] = {}
        self.cpu: dict[str, float] = {}
        self.count: dict[str, int] = {}
        self.sync = sync

    def _clocks(self) -> tuple[float, float]:
        if self.sync is not None:
            self.sync()
        return time.perf_counter(), time.process_time()

    def add(self, name: str, wall: float, cpu: float, count: bool = True) -> None:
        self.wall[name] = self.wall.get(name, 0.0) + wall
        self.cpu[name] = self.cpu.get(name, 0.0) + cpu
        self.count[name] = self.count.get(name, 0) + count

    @contextmanager
    def phase(self, name: str, count: bool = True) -> Iterator[None]:
        """Time the block as ``name``; ``count`` False adds its time to the last entry."""
        wall, cpu = self._clocks()
        try:
            yield
        finally:
            end_wall, end_cpu = self._clocks()
            self.add(name, end_wall - wall, end_cpu - cpu, count)

    def iterate(self, name: str, items: Iterable[T]) -> Iterator[T]:
        """``items``, each fetch (e.g. a DataLoader's loading and collating of one batch)
        timed as one entry of ``name``; the final, empty fetch adds its time to the last."""
        it = iter(items)
        while True:
            wall, cpu = self._clocks()
            try:
                item = next(it)
            except StopIteration:
                end_wall, end_cpu = self._clocks()
                self.add(name, end_wall - wall, end_cpu - cpu, count=False)
                return
            end_wall, end_cpu = self._clocks()
            self.add(name, end_wall - wall, end_cpu - cpu)
            yield item
