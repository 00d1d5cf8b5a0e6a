"""Dramatiq actors: thin, take ids, safe to run twice (the runner claims and resumes)."""

from __future__ import annotations

import dramatiq

from analysis.conf import setting
from analysis.pipeline.runner import analysis_execute


@dramatiq.actor(
    queue_name="cpu",
    max_retries=5,
    min_backoff=2_000,
    max_backoff=60_000,
    time_limit=setting("ANALYSIS_TIME_LIMIT_SECONDS") * 1000,
)
def run_analysis(analysis_id: str) -> None:
    analysis_execute(analysis_id=analysis_id)


@dramatiq.actor(
    queue_name="gpu",
    max_retries=5,
    min_backoff=2_000,
    max_backoff=60_000,
    time_limit=setting("ANALYSIS_TIME_LIMIT_SECONDS") * 1000,
)
def run_analysis_gpu(analysis_id: str) -> None:
    """The same job for workers on GPU machines (``rundramatiq --queues gpu``)."""
    analysis_execute(analysis_id=analysis_id)
