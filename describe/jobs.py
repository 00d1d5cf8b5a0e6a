"""Description jobs as a kind of leased job (``videoanalyzer.jobs``): recovered after a crash."""

from __future__ import annotations

from typing import Any

from django.db.models import F
from django.db.models.functions import Coalesce, Now

from describe.models import DescribeJob, JobStatus
from videoanalyzer.jobs import JobKind


def _send(job_id: str) -> None:
    from describe.actors import run_describe_job

    run_describe_job.send(job_id)


def _give_up(job_id: Any, reason: str) -> None:
    from describe.processing import job_give_up

    job_give_up(job_id, reason)


DESCRIBE_JOBS = JobKind(
    name="describe",
    model=DescribeJob,
    waiting=JobStatus.QUEUED,
    running=JobStatus.PROCESSING,
    send=_send,
    give_up=_give_up,
    running_fields={
        "started_at": Coalesce(F("started_at"), Now()),
        "updated_at": Now(),
        "message": "Starting",
    },
)
