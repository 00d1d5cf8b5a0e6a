"""Every kind of job survives a crash: exports and description jobs, like analyses, are leased,
and a worker killed with SIGKILL (or a job message lost with an in-memory queue) is recovered.

Workers are real ``manage.py rundramatiq`` processes against the test database and Redis,
with short leases and recovery intervals (``tests.fixtures_processes.FAST_RECOVERY``).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from analysis.conf import setting
from describe.models import DescribeJob
from describe.services import job_create
from exports import services as exports
from exports.models import ExportJob
from tests.fixtures_describe import DubbedClip, LoopbackServer
from tests.fixtures_processes import Worker, wait_until
from tests.fixtures_robustness import make_owned
from videoanalyzer import jobs

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]
DESCRIBE_ENV = {"DESCRIBE_ALLOW_PRIVATE_URLS": "true", "DESCRIBE_DESCRIBER": "fallback"}


def export_job(user: Any, *, enqueue: bool) -> ExportJob:
    from analysis.models import Analysis

    analysis = Analysis.objects.get(pk=make_owned(user).ids["analysis_id"])
    job, created = exports.export_request(analysis=analysis, kind="csv", enqueue=enqueue)
    assert created
    return job


def status_of(model: Any, pk: Any) -> str:
    return str(model.objects.get(pk=pk).status)


def test_an_export_whose_worker_is_killed_is_finished_by_another(
    workers: Callable[..., Worker], user: Any
) -> None:
    job = export_job(user, enqueue=True)
    first = workers(FAULT_PAUSE_STAGE="export")  # holds still inside the job
    wait_until(lambda: status_of(ExportJob, job.pk) == "running", 120, "the export to start")
    first.kill()
    workers()
    # Recovery puts it back in the queue, then the new worker finishes it.
    final = {"completed", "failed"}
    wait_until(lambda: status_of(ExportJob, job.pk) in final, 120, "the takeover")
    job.refresh_from_db()
    assert job.status == "completed", job.error
    assert job.attempts == 2 and job.lease_owner == ""
    assert job.file.storage.exists(job.file.name)


def test_an_export_whose_message_was_lost_is_sent_again(
    workers: Callable[..., Worker], user: Any
) -> None:
    """Queued in an embedded worker's memory when the process died: the row is all there is."""
    job = export_job(user, enqueue=False)
    workers()
    wait_until(lambda: status_of(ExportJob, job.pk) == "completed", 120, "the resent export")
    # Asking for the same export again now returns the finished job, not a stuck one.
    from analysis.models import Analysis

    again, created = exports.export_request(
        analysis=Analysis.objects.get(pk=job.analysis_id), kind="csv"
    )
    assert again.pk == job.pk and not created


def test_a_description_job_whose_worker_is_killed_is_finished_by_another(
    workers: Callable[..., Worker],
    describe_client: Any,
    loopback: LoopbackServer,
    dubbed_clip: DubbedClip,
) -> None:
    client, _token = describe_client
    url = loopback.serve_file("/film.mp4", dubbed_clip.path)
    job = job_create(client=client, data={"url": url}, allow_private_urls=True)
    first = workers(FAULT_PAUSE_STAGE="describe", **DESCRIBE_ENV)
    wait_until(lambda: status_of(DescribeJob, job.pk) == "PROCESSING", 120, "the job to start")
    first.kill()
    workers(**DESCRIBE_ENV)
    final = {"PROCESSED", "NOT_PROCESSED"}
    wait_until(lambda: status_of(DescribeJob, job.pk) in final, 180, "the takeover")
    job.refresh_from_db()
    assert job.status == "PROCESSED", job.error
    assert job.attempts == 2 and job.results.count() > 0


def test_a_job_whose_workers_keep_dying_is_given_up_with_a_reason(user: Any, settings: Any) -> None:
    from exports.jobs import EXPORT_JOBS

    job = export_job(user, enqueue=False)
    ExportJob.objects.filter(pk=job.pk).update(
        status="running",
        attempts=setting("ANALYSIS_MAX_ATTEMPTS"),
        lease_owner="dead-worker",
        lease_expires_at=timezone.now() - timedelta(seconds=1),
    )
    report = jobs.recover(EXPORT_JOBS)
    job.refresh_from_db()
    assert report.failed == [str(job.pk)]
    assert job.status == "failed" and "kept dying" in job.error


def test_a_live_lease_keeps_a_second_worker_out(user: Any) -> None:
    from exports.jobs import EXPORT_JOBS

    job = export_job(user, enqueue=False)
    assert jobs.claim(EXPORT_JOBS, job.pk, "first")
    assert not jobs.claim(EXPORT_JOBS, job.pk, "second")
    ExportJob.objects.filter(pk=job.pk).update(lease_expires_at=timezone.now())
    assert jobs.claim(EXPORT_JOBS, job.pk, "second")  # expired: taken over
    assert ExportJob.objects.get(pk=job.pk).attempts == 2
