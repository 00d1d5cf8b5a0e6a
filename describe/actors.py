"""Dramatiq actors of the description service: thin, take ids, safe to run twice.

They have a queue of their own: a slow download or callback never holds the workers that run
analyses and exports (``rundramatiq --queues describe``; the embedded mode runs a worker for it).
"""

from __future__ import annotations

import dramatiq

from describe import conf
from describe.callbacks import flush
from describe.processing import job_execute

DESCRIBE_QUEUE = "describe"


@dramatiq.actor(
    queue_name=DESCRIBE_QUEUE,
    max_retries=3,
    min_backoff=2_000,
    max_backoff=60_000,
    time_limit=int(conf.get("DESCRIBE_JOB_TIME_LIMIT_SECONDS")) * 1000,
)
def run_describe_job(job_id: str) -> None:
    job_execute(job_id=job_id)


@dramatiq.actor(
    queue_name=DESCRIBE_QUEUE,
    max_retries=int(conf.get("DESCRIBE_CALLBACK_RETRIES")),
    min_backoff=5_000,
    max_backoff=600_000,
)
def deliver_callbacks(job_id: str) -> None:
    """Send the job's undelivered callbacks; the broker retries later while some remain."""
    if not flush(job_id, attempts=1):
        raise dramatiq.Retry(f"callbacks of job {job_id} still pending")
