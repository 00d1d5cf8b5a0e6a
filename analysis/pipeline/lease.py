"""Leases: at most one worker runs an analysis, and a dead worker's analysis is taken over.

A worker claims an analysis with a conditional UPDATE that only succeeds when nobody holds a
live lease, then renews the lease from a heartbeat thread while it runs. A worker killed with
SIGKILL stops renewing; once its lease expires, recovery (``analysis.recovery``) sends the job
again and the next worker resumes from the last finished stage.
"""

from __future__ import annotations

import contextlib
import logging
import os
import socket
import threading
import uuid
from datetime import timedelta
from typing import Any

from django.db import DatabaseError, close_old_connections, connection
from django.db.models import F, Q
from django.db.models.functions import Coalesce, Now
from django.utils import timezone

from analysis.conf import setting
from analysis.models import ACTIVE_STATUSES, Analysis, AnalysisStatus

logger = logging.getLogger(__name__)


def new_owner() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def lease_seconds() -> float:
    return float(setting("ANALYSIS_LEASE_SECONDS"))


def claim(analysis_id: Any, owner: str) -> Analysis | None:
    """Take the analysis if it waits to run and nobody else holds a live lease on it."""
    now = timezone.now()
    free = Q(lease_expires_at__isnull=True) | Q(lease_expires_at__lt=now)
    claimed = Analysis.objects.filter(free, pk=analysis_id, status__in=ACTIVE_STATUSES).update(
        status=AnalysisStatus.RUNNING,
        attempts=F("attempts") + 1,
        started_at=Coalesce(F("started_at"), Now()),
        updated_at=Now(),
        message="Starting",
        lease_owner=owner,
        lease_expires_at=now + timedelta(seconds=lease_seconds()),
    )
    if not claimed:
        return None
    return Analysis.objects.select_related("video").get(pk=analysis_id)


def renew(analysis_id: Any, owner: str) -> bool:
    expires = timezone.now() + timedelta(seconds=lease_seconds())
    return bool(
        Analysis.objects.filter(pk=analysis_id, lease_owner=owner).update(lease_expires_at=expires)
    )


def release(analysis_id: Any, owner: str) -> None:
    with contextlib.suppress(DatabaseError):
        Analysis.objects.filter(pk=analysis_id, lease_owner=owner).update(
            lease_owner="", lease_expires_at=None
        )


class Heartbeat:
    """Renews a lease every quarter of its length from a daemon thread."""

    def __init__(self, analysis_id: Any, owner: str) -> None:
        self.analysis_id, self.owner = analysis_id, owner
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"lease-{analysis_id}", daemon=True)

    def __enter__(self) -> Heartbeat:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    def _run(self) -> None:
        try:
            while not self._stop.wait(lease_seconds() / 4):
                try:
                    close_old_connections()
                    renew(self.analysis_id, self.owner)
                except DatabaseError:  # the database may be restarting: try again next beat
                    logger.warning("could not renew the lease of %s", self.analysis_id)
        finally:
            connection.close()
