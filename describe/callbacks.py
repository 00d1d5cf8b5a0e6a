"""Callbacks to the client's backend: signed, retried with backoff, delivered at most once.

Each message is a ``CallbackDelivery`` row created in the same transaction as what it reports,
with a unique idempotency key (``<job>:result:<index>`` or ``<job>:status``). Its body is
serialised once and stored, so every retry sends the same bytes with the same signature:
``X-Signature: sha256=<hex HMAC-SHA256 of the raw body with the client's secret>``. A row is
sent under a row lock and marked delivered in the same transaction, so two workers never send
it both, and a delivered row is never sent again. The receiver also gets the key in the
``Idempotency-Key`` header, to drop a repeat should our "delivered" mark itself be lost.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import time
from typing import Any

from django.db import transaction
from django.utils import timezone

from describe import conf
from describe.fetch import ConnectionRefused, FetchError, request
from describe.models import CallbackDelivery, DescribeJob, DescriptionResult

logger = logging.getLogger(__name__)
SIGNATURE_HEADER = "X-Signature"
MAX_RESPONSE_BYTES = 64 * 1024


def sign(secret: str, body: bytes) -> str:
    """The signature header value for ``body``: ``sha256=<hex digest>``."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def verify(secret: str, body: bytes, header: str) -> bool:
    """True when ``header`` is the signature of ``body`` (what a receiver should check)."""
    return hmac.compare_digest(sign(secret, body), header or "")


def callback_url(job: DescribeJob) -> str:
    """Where the job's callbacks go: the request's URL, else the client's default, else none."""
    if job.callback_url:
        return job.callback_url
    return job.client.callback_url if job.client else ""


def result_payload(result: DescriptionResult) -> dict[str, Any]:
    return {
        "id": str(result.id),
        "job_id": str(result.job_id),
        "index": result.index,
        "scene": result.scene,
        "timestamp": result.timestamp,
        "end": result.end,
        "text": result.text,
    }


def status_payload(job: DescribeJob) -> dict[str, Any]:
    payload: dict[str, Any] = {"id": str(job.id), "status": job.status}
    if job.error:
        payload["reason"] = job.error
    payload["results"] = job.results.count()
    return payload


def _encode(payload: dict[str, Any]) -> str:
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":"), sort_keys=True)


def delivery_for_result(result: DescriptionResult) -> CallbackDelivery | None:
    """Record the callback of a new result (call inside the transaction that saves it)."""
    url = callback_url(result.job)
    if not url:
        return None
    delivery, _ = CallbackDelivery.objects.get_or_create(
        idempotency_key=f"{result.job_id}:result:{result.index}",
        defaults={
            "job": result.job,
            "result": result,
            "event": "result",
            "url": url,
            "body": _encode(result_payload(result)),
        },
    )
    return delivery


def delivery_for_status(job: DescribeJob) -> CallbackDelivery | None:
    """Record the final status callback (PROCESSED or NOT_PROCESSED) of ``job``."""
    url = callback_url(job)
    if not url:
        return None
    delivery, _ = CallbackDelivery.objects.get_or_create(
        idempotency_key=f"{job.id}:status",
        defaults={"job": job, "event": "status", "url": url, "body": _encode(status_payload(job))},
    )
    return delivery


def flush(job_id: Any, *, attempts: int | None = None) -> bool:
    """Send the job's undelivered callbacks in order; True when none is left.

    Stops at the first one that still fails after ``attempts`` tries (with doubling pauses),
    so the receiver never sees a later message before an earlier one.
    """
    tries = attempts or int(conf.get("DESCRIBE_CALLBACK_ATTEMPTS"))
    pending = CallbackDelivery.objects.filter(
        job_id=job_id, delivered_at__isnull=True, abandoned_at__isnull=True
    )
    for delivery_id in pending.order_by("id").values_list("id", flat=True):
        if not deliver(delivery_id, tries):
            return False
    return True


def deliver(delivery_id: int, attempts: int) -> bool:
    """Try one delivery up to ``attempts`` times; True once it is delivered."""
    backoff = float(conf.get("DESCRIBE_CALLBACK_BACKOFF_SECONDS"))
    for attempt in range(attempts):
        if attempt:
            time.sleep(backoff * 2 ** (attempt - 1))
        if _attempt(delivery_id):
            return True
    return False


def _attempt(delivery_id: int) -> bool:
    with transaction.atomic():
        delivery = (
            CallbackDelivery.objects.select_for_update(skip_locked=True, of=("self",))
            .select_related("job__client")
            .filter(pk=delivery_id)
            .first()
        )
        if delivery is None:
            return False  # another worker is sending it right now: look again after a pause
        if delivery.delivered_at is not None or delivery.abandoned_at is not None:
            return True
        status, error, refused = _post(delivery)
        delivery.attempts += 1
        delivery.last_status, delivery.last_error = status, error
        if refused and delivery.attempts >= refused_limit():
            _abandon(delivery)
            return True
        if 200 <= status < 300:
            delivery.delivered_at = timezone.now()
            if delivery.result_id:
                DescriptionResult.objects.filter(pk=delivery.result_id).update(
                    delivered_at=delivery.delivered_at
                )
        delivery.save(update_fields=["attempts", "last_status", "last_error", "delivered_at"])
    if delivery.delivered_at is None:
        logger.warning("callback %s failed: %s", delivery.idempotency_key, error)
    return delivery.delivered_at is not None


def _post(delivery: CallbackDelivery) -> tuple[int, str, bool]:
    """POST the stored body; (HTTP status or 0, error text, whether the connection was refused)."""
    job = delivery.job
    body = delivery.body.encode()
    headers = {
        "Content-Type": "application/json; charset=utf-8",
        "Idempotency-Key": delivery.idempotency_key,
        "X-Describe-Event": delivery.event,
        "X-Describe-Job": str(job.id),
        "X-Describe-Attempt": str(delivery.attempts + 1),
    }
    if job.client is not None:
        headers[SIGNATURE_HEADER] = sign(job.client.secret, body)
    try:
        with request(
            delivery.url,
            method="POST",
            body=body,
            headers=headers,
            allow_private=allows_private(job),
            timeout=float(conf.get("DESCRIBE_CALLBACK_TIMEOUT_SECONDS")),
        ) as (response, _url):
            response.read(MAX_RESPONSE_BYTES)
            status = response.status
    except ConnectionRefused as exc:
        return 0, str(exc), True
    except FetchError as exc:
        return 0, str(exc), False
    return status, "" if 200 <= status < 300 else f"HTTP {status}", False


def refused_limit() -> int:
    return max(1, int(conf.get("DESCRIBE_CALLBACK_REFUSED_ATTEMPTS")))


def _abandon(delivery: CallbackDelivery) -> None:
    """Give up the job's pending callbacks to this URL: nothing listens there."""
    now = timezone.now()
    delivery.abandoned_at = now
    delivery.save(update_fields=["attempts", "last_status", "last_error", "abandoned_at"])
    CallbackDelivery.objects.filter(
        job_id=delivery.job_id, url=delivery.url, delivered_at__isnull=True
    ).exclude(pk=delivery.pk).update(
        abandoned_at=now, last_error=f"Given up: {delivery.last_error}"
    )
    logger.warning(
        "callbacks of job %s to %s given up after %d refused connections",
        delivery.job_id,
        delivery.url,
        delivery.attempts,
    )


def allows_private(job: DescribeJob) -> bool:
    """Whether the job may reach private addresses: the setting, or the job's own flag."""
    return bool(conf.get("DESCRIBE_ALLOW_PRIVATE_URLS")) or job.allow_private_urls
