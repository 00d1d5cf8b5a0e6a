"""CPU seconds per stage and the cores' idle time of a run, for the analysis's metadata.

Stages may run at the same time in one process, and the CPU time of a process cannot be told
apart by stage: CTranslate2, torch and OpenCV run threads of their own, ffmpeg and Tesseract run
as child processes. So the run's CPU time (this process's, plus that of the child processes it
has waited for) is read whenever a stage starts or ends, and what was spent in between is shared
equally among the stages running then. The stages' figures add up to the run's.

The idle time is what the run left unused of the cores it may use: ``cores * wall - cpu``. On
a machine shared with other work those cores were not necessarily idle.
"""

from __future__ import annotations

import os
import resource
import threading
import time
from typing import Any, TypedDict


class RunUsage(TypedDict):
    """``metadata["usage"]``: the run's totals over all its attempts so far."""

    cores: int
    wall_seconds: float
    cpu_seconds: float
    idle_core_seconds: float


def cpu_seconds() -> float:
    """User and system CPU seconds of this process and of its children waited for."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def usable_cores() -> int:
    """The cores this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


class CpuLedger:
    """Shares the run's CPU seconds among its stages; safe to call from several threads."""

    def __init__(self, earlier: dict[str, Any] | None = None) -> None:
        """``earlier``: the ``metadata["usage"]`` of the run's earlier attempts, added on."""
        self._lock = threading.Lock()
        self._running: set[str] = set()
        self._spent: dict[str, float] = {}
        self._started = time.perf_counter()
        self._cpu_start = self._last = cpu_seconds()
        self._earlier = earlier or {}
        self.cores = usable_cores()

    def _settle(self) -> None:
        now = cpu_seconds()
        if self._running:
            share = (now - self._last) / len(self._running)
            for name in self._running:
                self._spent[name] = self._spent.get(name, 0.0) + share
        self._last = now

    def start(self, name: str) -> None:
        with self._lock:
            self._settle()
            self._running.add(name)
            self._spent[name] = 0.0

    def finish(self, name: str) -> float:
        """The stage's CPU seconds; it no longer shares what is spent from now on."""
        with self._lock:
            self._settle()
            self._running.discard(name)
            return round(self._spent.get(name, 0.0), 3)

    def so_far(self) -> tuple[float, dict[str, float]]:
        """(this attempt's CPU seconds, each running stage's CPU seconds so far): read at every
        progress report, for the time left (the CPU rate the run gets now)."""
        with self._lock:
            self._settle()
            running = {name: round(self._spent.get(name, 0.0), 3) for name in self._running}
            return round(self._last - self._cpu_start, 3), running

    def usage(self) -> RunUsage:
        """The run's totals: this attempt's so far plus the earlier attempts'."""
        wall = time.perf_counter() - self._started + float(self._earlier.get("wall_seconds", 0))
        cpu = cpu_seconds() - self._cpu_start + float(self._earlier.get("cpu_seconds", 0))
        return RunUsage(
            cores=self.cores,
            wall_seconds=round(wall, 3),
            cpu_seconds=round(cpu, 3),
            idle_core_seconds=round(max(0.0, self.cores * wall - cpu), 3),
        )
