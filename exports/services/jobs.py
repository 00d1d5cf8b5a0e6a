"""Running an export job: claim it, produce its file in a scratch folder, store it."""

from __future__ import annotations

import errno
import logging
import shutil
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.files import File
from django.db import transaction
from django.utils import timezone

from exports.errors import CANCELLED, ExportCancelled, ExportError, ExportNotReady
from exports.formats import get_format
from exports.models import ExportJob, ExportStatus
from exports.naming import download_name
from exports.production import ExportContext
from exports.selectors import analysis_fingerprint, export_fingerprint
from exports.services.publishing import Reporter, publish
from mediakit import cutting
from mediakit.probe import MediaError
from videoanalyzer import jobs

logger = logging.getLogger(__name__)


def export_execute(*, job_id: Any, listener: Callable[[float, str], None] | None = None) -> None:
    """Produce the job's file (the actor's body; a job another worker holds is left alone).

    The job is claimed under a lease that a heartbeat renews (``videoanalyzer.jobs``): a worker
    killed mid-export stops renewing it, and recovery sends the job again once it expires.
    ``listener`` hears the progress too (the command line's progress bar).
    """
    from exports.jobs import EXPORT_JOBS

    owner = jobs.new_owner()
    if not jobs.claim(EXPORT_JOBS, job_id, owner):
        return
    with jobs.Heartbeat(EXPORT_JOBS, job_id, owner):
        _execute(job_id, listener)


def _execute(job_id: Any, listener: Callable[[float, str], None] | None) -> None:
    job = ExportJob.objects.select_related("analysis__video", "storyline").get(pk=job_id)
    # The state the file really shows (the analysis may have changed since the request).
    job.fingerprint = export_fingerprint(analysis_fingerprint(job.analysis), job.kind)
    started = time.monotonic()
    try:
        _produce_and_store(job, Reporter(job, listener=listener))
    except ExportCancelled:
        return  # export_cancel has said so; the scratch folder is gone, nothing was stored
    except (cutting.CutError, ExportError, MediaError) as exc:
        export_fail(job, str(exc))
        return
    except OSError as exc:
        export_fail(job, _os_message(exc))
        return
    except Exception as exc:  # the user sees a message; the log keeps the traceback
        logger.exception("export %s failed", job.pk)
        export_fail(job, f"The export failed: {exc}")
        return
    _complete(job, time.monotonic() - started)


def _os_message(exc: OSError) -> str:
    if exc.errno == errno.ENOSPC:
        return "The export failed: the disk is full (no space left on device)."
    return f"The export failed: {exc.strerror or exc}"


def _complete(job: ExportJob, seconds: float) -> None:
    job.metadata = {**job.metadata, "seconds": round(seconds, 3)}
    done = "Ready to download"
    if job.metadata.get("fallback"):
        done = f"{done}. {job.metadata['fallback']}"[:300]
    job.status, job.progress, job.message = ExportStatus.COMPLETED, 1.0, done
    job.finished_at = timezone.now()
    job.lease_owner, job.lease_expires_at = "", None  # a finished job holds no lease
    fields = ["status", "progress", "message", "finished_at", "metadata", "fingerprint"]
    fields += ["file", "filename", "content_type", "size_bytes", "lease_owner", "lease_expires_at"]
    with transaction.atomic():
        if not _still_running(job):  # cancelled at the last moment: keep nothing
            job.file.delete(save=False)
            return
        job.save(update_fields=fields)
    publish(job)


def _still_running(job: ExportJob) -> bool:
    row = ExportJob.objects.select_for_update().filter(pk=job.pk).values("status").first()
    return bool(row and row["status"] == ExportStatus.RUNNING)


ACTIVE = (ExportStatus.QUEUED, ExportStatus.RUNNING)


def _finish_as_failed(job: ExportJob, error: str, message: str) -> bool:
    """Fail the job if it is still queued or running (not when it was cancelled meanwhile:
    that message stands); whether it did."""
    updated = ExportJob.objects.filter(pk=job.pk, status__in=ACTIVE).update(
        status=ExportStatus.FAILED,
        error=error,
        message=message,
        finished_at=timezone.now(),
        lease_owner="",  # a finished job holds no lease
        lease_expires_at=None,
    )
    if updated:
        job.refresh_from_db()
        publish(job)
    return bool(updated)


def export_fail(job: ExportJob, message: str) -> None:
    _finish_as_failed(job, message, "Failed")


def export_cancel(*, job: ExportJob) -> ExportJob:
    """Stop a queued or running job: it fails with "Cancelled" and keeps no file.

    A running job notices at its next progress report (its ffmpeg is stopped then).

    Raises:
        ExportNotReady: the job has already finished (409).
    """
    if not _finish_as_failed(job, CANCELLED, "Cancelled"):
        raise ExportNotReady("Only a queued or running export can be cancelled.")
    return job  # _finish_as_failed has published it


def scratch_dir() -> Path:
    """A new folder for one job's working files (removed when the job ends)."""
    root = Path(settings.VAR_DIR) / "work" / "exports"
    root.mkdir(parents=True, exist_ok=True)
    return Path(tempfile.mkdtemp(dir=root))


def _produce_and_store(job: ExportJob, report: Reporter) -> None:
    fmt = get_format(job.kind)
    if fmt is None:
        raise ExportError(f"Unknown export kind {job.kind!r}.")
    workdir = scratch_dir()
    try:
        ctx = ExportContext(job=job, workdir=workdir, report=report)
        if job.storyline_id is not None:
            plan = next((p for p in ctx.plans if p.pk == job.storyline_id), None)
            if plan is None:
                raise ExportError("The storyline is gone.")
            ctx = ctx.for_storyline(plan, report)
        path = fmt.produce(ctx)
        job.metadata = {**job.metadata, **ctx.metadata}
        if fmt.cut_mode:
            job.metadata["mode"] = job.mode
        job.filename = download_name(job)
        job.content_type = fmt.content_type
        job.size_bytes = path.stat().st_size
        if job.file and job.file.name:
            job.file.delete(save=False)
        _store(job, path, f"export{fmt.extension}")
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def _store(job: ExportJob, path: Path, name: str) -> None:
    """Copy the file into storage; a copy that fails half way (a full disk) is removed."""
    stored = job.file.field.generate_filename(job, name)
    try:
        with path.open("rb") as handle:
            job.file.save(name, File(handle), save=False)
    except OSError:
        if job.file.storage.exists(stored):
            job.file.storage.delete(stored)
        job.file.name = ""
        raise
