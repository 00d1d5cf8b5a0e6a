"""Recovery: nothing queued is forgotten and nothing running is left running forever.

Postgres holds the truth about jobs; the broker only carries wake-up calls. Every worker runs
``analyses_recover`` periodically (``RecoveryMiddleware``), which
- sends again an analysis whose worker died (its lease expired), up to ``ANALYSIS_MAX_ATTEMPTS``;
- sends again an analysis whose message was lost (queued, never claimed, sent long ago), e.g.
  because the broker was down when it was created or the embedded worker restarted;
- fails an analysis running past ``ANALYSIS_TIME_LIMIT_SECONDS`` with the reason.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from django.db.models import Q
from django.db.models.functions import Now
from django.utils import timezone

from analysis.conf import setting
from analysis.models import ACTIVE_STATUSES, Analysis, AnalysisStatus

logger = logging.getLogger(__name__)


@dataclass
class RecoveryReport:
    resent: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)


def analyses_recover() -> RecoveryReport:
    from analysis.services import analysis_enqueue

    report = RecoveryReport()
    now = timezone.now()
    _fail_overdue(now, report)
    for analysis in _orphaned(now):
        if analysis.attempts >= setting("ANALYSIS_MAX_ATTEMPTS"):
            _fail(analysis, f"Stopped after {analysis.attempts} attempts: the worker kept dying.")
            report.failed.append(str(analysis.pk))
            continue
        # Free the lease so the next worker can claim it; only one recoverer wins this update.
        freed = Analysis.objects.filter(
            pk=analysis.pk, lease_owner=analysis.lease_owner, lease_expires_at__lt=now
        ).update(lease_owner="", lease_expires_at=None, message="Resuming on another worker")
        if freed:
            analysis_enqueue(analysis_id=analysis.pk, device=analysis.parameters.get("device"))
            report.resent.append(str(analysis.pk))
    for analysis in _lost(now):
        analysis_enqueue(analysis_id=analysis.pk, device=analysis.parameters.get("device"))
        report.resent.append(str(analysis.pk))
    if report.resent or report.failed:
        logger.info("recovery: resent %s, failed %s", report.resent, report.failed)
    return report


def _orphaned(now: Any) -> list[Analysis]:
    return list(Analysis.objects.filter(status=AnalysisStatus.RUNNING, lease_expires_at__lt=now))


def _lost(now: Any) -> list[Analysis]:
    stale = now - timedelta(seconds=setting("QUEUED_RESEND_SECONDS"))
    unsent = Q(enqueued_at__isnull=True, created_at__lt=stale) | Q(enqueued_at__lt=stale)
    return list(Analysis.objects.filter(unsent, status__in=ACTIVE_STATUSES, lease_expires_at=None))


def _fail_overdue(now: Any, report: RecoveryReport) -> None:
    limit = now - timedelta(seconds=setting("ANALYSIS_TIME_LIMIT_SECONDS"))
    hours = setting("ANALYSIS_TIME_LIMIT_SECONDS") / 3600
    for analysis in Analysis.objects.filter(status=AnalysisStatus.RUNNING, started_at__lt=limit):
        _fail(analysis, f"Did not finish within the time limit of {hours:g} h.")
        report.failed.append(str(analysis.pk))


def _fail(analysis: Analysis, reason: str) -> None:
    from analysis.progress import analysis_publish

    Analysis.objects.filter(pk=analysis.pk, status__in=ACTIVE_STATUSES).update(
        status=AnalysisStatus.FAILED,
        error=reason,
        message="Analysis failed",
        finished_at=Now(),
        updated_at=Now(),
        lease_owner="",
        lease_expires_at=None,
    )
    analysis.refresh_from_db()
    analysis_publish(analysis)
