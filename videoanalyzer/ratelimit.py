"""A fixed-window rate limit per user or client, counted in Django's cache.

The cache is Redis when ``REDIS_URL`` is set and a database table otherwise, so every web
process counts against the same window. Each action has a limit per hour (0 turns it off);
the answer to one request too many is HTTP 429 with ``{"detail"}`` and ``Retry-After``.

If the cache itself is unavailable (Redis restarting), requests are let through: a rate limit
must never take the site down with it.
"""

from __future__ import annotations

import functools
import inspect
import logging
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from django.conf import settings
from django.core.cache import cache
from django.http import HttpRequest, JsonResponse

logger = logging.getLogger(__name__)
WINDOW_SECONDS = 3600
F = TypeVar("F", bound=Callable[..., Any])

# action -> the setting holding its limit per hour
LIMIT_SETTINGS = {
    "upload": "RATE_LIMIT_UPLOADS_PER_HOUR",
    "process": "RATE_LIMIT_PROCESS_PER_HOUR",
}
WHAT = {"upload": "uploads", "process": "processing requests"}


@dataclass(frozen=True)
class Verdict:
    allowed: bool
    count: int
    limit: int
    retry_after: int  # seconds until the window resets


def client_key(request: HttpRequest) -> str:
    """Who is counted: the authenticated principal (user or API client), else the address."""
    principal: Any = getattr(request, "auth", None) or getattr(request, "user", None)
    pk = getattr(principal, "pk", None)
    if pk is not None and getattr(principal, "is_authenticated", True):
        return f"{principal._meta.label_lower}:{pk}"
    return f"ip:{request.META.get('REMOTE_ADDR', '')}"


def hit(action: str, who: str, limit: int, now: float | None = None) -> Verdict:
    """Count one request of ``who`` for ``action`` in the current window."""
    now = time.time() if now is None else now
    window = int(now // WINDOW_SECONDS)
    retry_after = max(1, math.ceil((window + 1) * WINDOW_SECONDS - now))
    if limit <= 0:
        return Verdict(True, 0, limit, retry_after)
    key = f"ratelimit:{action}:{who}:{window}"
    try:
        # add() only creates the counter; incr() is atomic on Redis (get-and-set on a table:
        # concurrent requests may then be under-counted by a few, never refused wrongly).
        cache.add(key, 0, timeout=WINDOW_SECONDS + 60)
        count = int(cache.incr(key))
    except ValueError:  # the counter expired between add() and incr()
        cache.set(key, 1, timeout=WINDOW_SECONDS + 60)
        count = 1
    except Exception as exc:  # the cache is down: let the request through
        logger.warning("rate limit not checked (%s unavailable): %s", action, exc)
        return Verdict(True, 0, limit, retry_after)
    return Verdict(count <= limit, count, limit, retry_after)


def check(request: HttpRequest, action: str) -> JsonResponse | None:
    """None when the request may go on, else the 429 answer to send."""
    limit = int(getattr(settings, LIMIT_SETTINGS[action]))
    verdict = hit(action, client_key(request), limit)
    if verdict.allowed:
        return None
    minutes = max(1, math.ceil(verdict.retry_after / 60))
    response = JsonResponse(
        {
            "detail": f"Too many {WHAT[action]}: the limit is {limit} per hour. "
            f"Try again in {minutes} min."
        },
        status=429,
    )
    response["Retry-After"] = str(verdict.retry_after)
    return response


def rate_limited(action: str) -> Callable[[F], F]:
    """Decorate a view (or django-ninja operation) so ``action`` is counted and limited.

    Use it under the router decorator: ``@router.post(...)`` then ``@rate_limited("upload")``.
    """

    def decorate(view: F) -> F:
        @functools.wraps(view)  # keeps the signature that django-ninja reads
        def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> Any:
            refused = check(request, action)
            return refused if refused is not None else view(request, *args, **kwargs)

        # Annotations resolved in the view's own module: django-ninja would otherwise look
        # string annotations (``from __future__ import annotations``) up in this module.
        wrapper.__signature__ = inspect.signature(view, eval_str=True)  # type: ignore[attr-defined]
        return wrapper  # type: ignore[return-value]

    return decorate
