"""Export jobs as a kind of leased job (``videoanalyzer.jobs``): recovered after a crash."""

from __future__ import annotations

from typing import Any

from django.db.models.functions import Now

from exports.models import ExportJob, ExportStatus
from videoanalyzer.jobs import JobKind


def _send(job_id: str) -> None:
    from exports.actors import run_export

    run_export.send(job_id)


def _give_up(job_id: Any, reason: str) -> None:
    from exports.services.jobs import export_fail

    job = ExportJob.objects.filter(pk=job_id).first()
    if job is not None and job.is_active:
        export_fail(job, reason)


EXPORT_JOBS = JobKind(
    name="export",
    model=ExportJob,
    waiting=ExportStatus.QUEUED,
    running=ExportStatus.RUNNING,
    send=_send,
    give_up=_give_up,
    running_fields={"started_at": Now(), "progress": 0.0, "message": "Starting", "error": ""},
)
