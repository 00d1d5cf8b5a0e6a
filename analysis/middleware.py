"""Dramatiq middleware of our workers. Imported while settings load: no models at module top."""

from __future__ import annotations

import logging
import os
import threading

import dramatiq
from django.conf import settings
from django.db import DatabaseError, close_old_connections, connection

logger = logging.getLogger(__name__)


class RecoveryMiddleware(dramatiq.Middleware):
    """Runs recovery every ``RECOVERY_INTERVAL_SECONDS`` in each worker process."""

    def __init__(self) -> None:
        self._stop = threading.Event()

    def after_worker_boot(self, broker: dramatiq.Broker, worker: dramatiq.Worker) -> None:
        self._stop.clear()
        threading.Thread(target=self._loop, name="analysis-recovery", daemon=True).start()

    def before_worker_shutdown(self, broker: dramatiq.Broker, worker: dramatiq.Worker) -> None:
        self._stop.set()

    def _loop(self) -> None:
        try:
            while not self._stop.wait(settings.RECOVERY_INTERVAL_SECONDS):
                try:
                    close_old_connections()
                    from analysis.recovery import analyses_recover

                    analyses_recover()
                except DatabaseError:
                    logger.warning("recovery skipped: the database is unavailable")
                except Exception:  # recovery must never kill the worker
                    logger.exception("recovery failed")
        finally:
            connection.close()


class PriorityMiddleware(dramatiq.Middleware):
    """Lowers a worker process's CPU priority by ``WORKER_NICE`` when it boots.

    Analyses are long and batch-like; page loads and status polls are short and someone waits
    for each. On a machine that runs both, the kernel then gives the web processes the CPU
    first and the analysis the rest, instead of sharing it evenly. Only worker processes
    started by ``rundramatiq`` boot this way, never the web process's embedded worker.
    """

    def after_process_boot(self, broker: dramatiq.Broker) -> None:
        increment = int(getattr(settings, "WORKER_NICE", 0))
        if increment > 0:
            niceness = os.nice(increment)
            logger.info("worker process %d runs at nice %d", os.getpid(), niceness)
