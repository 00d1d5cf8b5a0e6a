"""Dramatiq middleware of our workers. Imported while settings load: no models at module top."""

from __future__ import annotations

import logging
import os
import threading

import dramatiq
from django.conf import settings
from django.db import DatabaseError, close_old_connections, connection

from analysis.conf import setting

logger = logging.getLogger(__name__)


class RecoveryMiddleware(dramatiq.Middleware):
    """Runs recovery of every kind of job every ``RECOVERY_INTERVAL_SECONDS`` in each worker
    process."""

    def __init__(self) -> None:
        self._stop = threading.Event()

    def after_worker_boot(self, broker: dramatiq.Broker, worker: dramatiq.Worker) -> None:
        self._stop.clear()
        threading.Thread(target=self._loop, name="analysis-recovery", daemon=True).start()

    def before_worker_shutdown(self, broker: dramatiq.Broker, worker: dramatiq.Worker) -> None:
        self._stop.set()

    def _loop(self) -> None:
        try:
            while not self._stop.wait(setting("RECOVERY_INTERVAL_SECONDS")):
                try:
                    close_old_connections()
                    from analysis.recovery import analyses_recover
                    from videoanalyzer.jobs import recover_all

                    analyses_recover()
                    recover_all()  # exports, descriptions
                except DatabaseError:
                    logger.warning("recovery skipped: the database is unavailable")
                except Exception:  # recovery must never kill the worker
                    logger.exception("recovery failed")
        finally:
            connection.close()


class PriorityMiddleware(dramatiq.Middleware):
    """Puts a worker process below the web processes' CPU priority when it boots.

    Analyses are long and batch-like; page loads and status polls are short and someone waits
    for each. ``WORKER_NICE`` lowers the worker's nice value; ``WORKER_IDLE_POLICY`` (on by
    default, Linux) also moves it to ``SCHED_IDLE``, where a waking web process always
    preempts it at once instead of waiting for the worker's time slice: nice alone left a
    300 ms p99 on status polls (bench/RESULTS.md, load). Threads and child processes the
    worker starts later (model threads, ffmpeg, tesseract) inherit both. Only processes that
    ``rundramatiq`` boots run this hook, never the web process's embedded worker.
    """

    def after_process_boot(self, broker: dramatiq.Broker) -> None:
        increment = int(getattr(settings, "WORKER_NICE", 0))
        if increment > 0:
            os.nice(increment)
        idle = getattr(settings, "WORKER_IDLE_POLICY", False) and hasattr(os, "SCHED_IDLE")
        if idle:
            os.sched_setscheduler(0, os.SCHED_IDLE, os.sched_param(0))
        logger.info(
            "worker process %d runs at nice %d%s",
            os.getpid(),
            os.nice(0),
            " under SCHED_IDLE" if idle else "",
        )
