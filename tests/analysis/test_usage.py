"""The run's CPU seconds shared among its stages, read while they run."""

from __future__ import annotations

import time

from analysis.pipeline.usage import CpuLedger


def busy(seconds: float) -> None:
    """Keep this thread on the CPU for about ``seconds`` of CPU time."""
    until = time.thread_time() + seconds
    while time.thread_time() < until:
        pass


def test_the_running_stages_cpu_so_far_is_read_while_they_run() -> None:
    ledger = CpuLedger()
    ledger.start("shots")
    busy(0.2)
    run, running = ledger.so_far()
    assert set(running) == {"shots"}
    assert 0.2 <= running["shots"] <= run + 0.01
    ledger.start("audio")  # both share what the run spends from now on
    busy(0.2)
    later, running = ledger.so_far()
    assert later >= run + 0.2
    assert running["audio"] > 0.05 and running["shots"] > running["audio"]
    assert ledger.finish("shots") >= running["shots"]
    assert set(ledger.so_far()[1]) == {"audio"}
