"""Leases, heartbeats and recovery for every kind of background job but analyses.

Postgres holds the truth about a job; the broker only carries wake-up calls. A job row has
``status``, ``attempts``, ``lease_owner``, ``lease_expires_at`` and ``enqueued_at``; each app
describes its job table once as a :class:`JobKind` and registers it (``register``). Then:

- ``enqueue`` sends the job and notes when; a broker that is down leaves the row waiting;
- ``claim`` takes a waiting job (or a running one whose lease expired) with a conditional
  UPDATE, so two deliveries of one message never both run it;
- ``Heartbeat`` renews the lease from a thread while the job runs;
- ``recover`` (every worker, every ``RECOVERY_INTERVAL_SECONDS``) sends again a job whose worker
  died (lease expired) up to ``ANALYSIS_MAX_ATTEMPTS`` takeovers, then fails it with the
  reason; and sends again a waiting job whose message was lost (``QUEUED_RESEND_SECONDS``).

Analyses have the same mechanism in ``analysis.pipeline.lease`` and ``analysis.recovery``
(their claim also resumes finished stages). Lease length, attempts and intervals are the
analyses' settings (``analysis.conf``).
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from django.db import DatabaseError, close_old_connections, connection, models
from django.db.models import F, Q
from django.utils import timezone

from analysis.conf import setting

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class JobKind:
    """One table of jobs: its statuses, how to send a job and how to give one up."""

    name: str
    model: type[models.Model]
    waiting: str  # the status of a job waiting for a worker
    running: str  # the status of a job a worker holds
    send: Callable[[str], None]  # puts the job's id on the broker
    give_up: Callable[[Any, str], None]  # fails the job with a reason for the user
    running_fields: dict[str, Any] = field(default_factory=dict)  # also set by ``claim``

    def rows(self) -> models.QuerySet[Any]:
        return self.model._default_manager.all()


_kinds: dict[str, JobKind] = {}


def register(kind: JobKind) -> JobKind:
    _kinds[kind.name] = kind
    return kind


def kinds() -> list[JobKind]:
    return list(_kinds.values())


def lease_seconds() -> float:
    return float(setting("ANALYSIS_LEASE_SECONDS"))


# --- Sending -------------------------------------------------------------------------------


def broker_errors() -> tuple[type[BaseException], ...]:
    import dramatiq
    import redis

    return (dramatiq.errors.ConnectionError, redis.exceptions.RedisError, OSError)


def enqueue(kind: JobKind, job_id: Any) -> bool:
    """Send the job; with the broker down the row waits and recovery sends it later."""
    try:
        kind.send(str(job_id))
    except broker_errors():
        logger.warning("job queue unavailable: %s %s waits for it", kind.name, job_id)
        return False
    kind.rows().filter(pk=job_id).update(enqueued_at=timezone.now())
    return True


# --- Running -------------------------------------------------------------------------------


def claim(kind: JobKind, job_id: Any, owner: str) -> bool:
    """Take the job: waiting, or running under a lease that expired (its worker died)."""
    now = timezone.now()
    expired = Q(status=kind.running, lease_expires_at__lt=now)
    return bool(
        kind.rows()
        .filter(Q(status=kind.waiting) | expired, pk=job_id)
        .update(
            status=kind.running,
            attempts=F("attempts") + 1,
            lease_owner=owner,
            lease_expires_at=now + timedelta(seconds=lease_seconds()),
            **kind.running_fields,
        )
    )


def renew(kind: JobKind, job_id: Any, owner: str) -> bool:
    expires = timezone.now() + timedelta(seconds=lease_seconds())
    rows = kind.rows().filter(pk=job_id, lease_owner=owner, status=kind.running)
    return bool(rows.update(lease_expires_at=expires))


def release(kind: JobKind, job_id: Any, owner: str) -> None:
    with contextlib.suppress(DatabaseError):
        kind.rows().filter(pk=job_id, lease_owner=owner).update(
            lease_owner="", lease_expires_at=None
        )


class Heartbeat:
    """Holds a job's lease while the ``with`` block runs: renewed every quarter of its length,
    released at the end."""

    def __init__(self, kind: JobKind, job_id: Any, owner: str) -> None:
        self.kind, self.job_id, self.owner = kind, job_id, owner
        self._stop = threading.Event()
        name = f"lease-{kind.name}-{job_id}"
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)

    def __enter__(self) -> Heartbeat:
        self._thread.start()
        fault_pause(self.kind.name)
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        release(self.kind, self.job_id, self.owner)

    def _run(self) -> None:
        try:
            while not self._stop.wait(lease_seconds() / 4):
                try:
                    close_old_connections()
                    renew(self.kind, self.job_id, self.owner)
                except DatabaseError:  # the database may be restarting: next beat
                    logger.warning(
                        "could not renew the lease of %s %s", self.kind.name, self.job_id
                    )
        finally:
            connection.close()


_paused: set[str] = set()


def fault_pause(name: str) -> None:
    """Crash tests only: hold still once inside a job of kind ``name`` so a kill lands there.

    Off unless ``FAULT_PAUSE_STAGE`` names the kind (set only on the worker a test kills).
    """
    if name != setting("FAULT_PAUSE_STAGE") or name in _paused:
        return
    _paused.add(name)
    logger.warning(
        "fault injection: pausing %.0f s in a %s job", setting("FAULT_PAUSE_SECONDS"), name
    )
    time.sleep(setting("FAULT_PAUSE_SECONDS"))


# --- Recovery ------------------------------------------------------------------------------


@dataclass
class Recovered:
    resent: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)


def recover(kind: JobKind) -> Recovered:
    """Send again the jobs of ``kind`` that were lost; give up on those that keep dying."""
    report = Recovered()
    now = timezone.now()
    dead = kind.rows().filter(status=kind.running, lease_expires_at__lt=now)
    for job_id, owner, attempts in dead.values_list("pk", "lease_owner", "attempts"):
        if attempts >= setting("ANALYSIS_MAX_ATTEMPTS"):
            kind.give_up(job_id, f"Stopped after {attempts} attempts: the worker kept dying.")
            report.failed.append(str(job_id))
            continue
        # Only one recoverer wins this update; the next claim finds the lease free.
        freed = (
            kind.rows()
            .filter(pk=job_id, status=kind.running, lease_owner=owner, lease_expires_at__lt=now)
            .update(status=kind.waiting, lease_owner="", lease_expires_at=None)
        )
        if freed and enqueue(kind, job_id):
            report.resent.append(str(job_id))
    stale = now - timedelta(seconds=setting("QUEUED_RESEND_SECONDS"))
    unsent = Q(enqueued_at__isnull=True, created_at__lt=stale) | Q(enqueued_at__lt=stale)
    for job_id in kind.rows().filter(unsent, status=kind.waiting).values_list("pk", flat=True):
        if enqueue(kind, job_id):
            report.resent.append(str(job_id))
    if report.resent or report.failed:
        logger.info("recovery of %s: resent %s, failed %s", kind.name, report.resent, report.failed)
    return report


def recover_all() -> dict[str, Recovered]:
    return {kind.name: recover(kind) for kind in kinds()}


def resume_all() -> int:
    """Send every waiting or running job again (the embedded worker's start: its queue was in
    memory). A job still held by a live lease is left to its worker by ``claim``."""
    count = 0
    for kind in kinds():
        rows = kind.rows().filter(status__in=(kind.waiting, kind.running))
        for job_id in rows.values_list("pk", flat=True):
            count += enqueue(kind, job_id)
    return count


def new_owner() -> str:
    """A worker's name on the leases it holds: host, process and a random part."""
    import os
    import socket
    import uuid

    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
