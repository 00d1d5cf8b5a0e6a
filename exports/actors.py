"""Dramatiq actor of the exports: thin, takes the job id, safe to run twice."""

from __future__ import annotations

import dramatiq

from exports.services import export_execute

EXPORT_TIME_LIMIT_MS = 6 * 3600 * 1000


@dramatiq.actor(queue_name="cpu", max_retries=2, min_backoff=2_000, time_limit=EXPORT_TIME_LIMIT_MS)
def run_export(job_id: str) -> None:
    export_execute(job_id=job_id)
