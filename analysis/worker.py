"""The in-process Dramatiq workers of the embedded mode (no Redis configured).

Jobs live in Postgres, not in the stub broker's memory: at start the worker re-sends every
analysis, export and description job that is still queued or running, so a restart of the app
resumes them. The description service's queue has a worker thread of its own: a slow download
never holds the thread that runs analyses.
"""

from __future__ import annotations

import logging
import threading

import dramatiq
from django.conf import settings

logger = logging.getLogger(__name__)
_started = threading.Event()
_worker: dramatiq.Worker | None = None


def start_embedded_worker() -> dramatiq.Worker:
    global _worker
    if _started.is_set() and _worker is not None:
        return _worker
    _started.set()
    from analysis import actors  # noqa: F401  (registers the actors on the broker)
    from analysis.services import analyses_resume_unfinished
    from describe import actors as describe_actors
    from exports import actors as export_actors  # noqa: F401

    broker = dramatiq.get_broker()
    describe_queue = describe_actors.DESCRIBE_QUEUE
    # Every other queue actors use (dramatiq's own default included).
    others = {"default", "cpu", "gpu"}
    _worker = dramatiq.Worker(
        broker, queues=others, worker_threads=settings.EMBEDDED_WORKER_THREADS, worker_timeout=100
    )
    _worker.start()
    describer = dramatiq.Worker(
        broker, queues={describe_queue}, worker_threads=1, worker_timeout=100
    )
    describer.start()
    threading.Thread(target=_resume, args=(analyses_resume_unfinished,), daemon=True).start()
    logger.info("embedded worker started (%d thread(s))", settings.EMBEDDED_WORKER_THREADS)
    return _worker


def _resume(resume: object) -> None:
    from videoanalyzer.jobs import resume_all

    try:
        count = resume() + resume_all()  # type: ignore[operator]
        if count:
            logger.info("re-queued %d unfinished jobs", count)
    except Exception:  # the app must come up even if the database is not ready yet
        logger.exception("could not re-queue unfinished analyses")
