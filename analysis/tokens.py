"""Who an API bearer token belongs to, remembered briefly per process.

Every API call by a script or backend starts with this lookup: a status poll is two queries,
and this was the first (a fifth of a poll's time under load, by py-spy). A found token's user
is kept for ``TOKEN_CACHE_SECONDS`` (5 by default, 0 turns the cache off). Deleting a token or
saving its user (deactivating, changing the password) forgets the user's entries at once in
this process (signals in ``analysis.signals``); other web processes notice within the TTL.
Each request gets its own User instance: nothing mutable is shared between threads.

Tokens are found by the SHA-256 of the key (the only thing stored), and the digest found is
compared with the key's again in constant time; the cache is keyed by digest too, so no key is
kept in memory past its request.
"""

from __future__ import annotations

import threading
import time
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model

from analysis.models import ApiToken
from videoanalyzer.credentials import digests_match, token_digest

_lock = threading.Lock()
# token digest -> (expires at, user id, field names, values)
_entries: dict[str, tuple[float, Any, tuple[str, ...], tuple[Any, ...]]] = {}
MAX_ENTRIES = 10_000  # a bound on memory; the whole cache is dropped when it is reached


def user_for_token(key: str) -> Any | None:
    """The active user owning API token ``key``, or None."""
    ttl = float(getattr(settings, "TOKEN_CACHE_SECONDS", 5))
    now = time.monotonic()
    digest = token_digest(key)
    if ttl > 0:
        with _lock:
            entry = _entries.get(digest)
        if entry is not None and entry[0] > now:
            return get_user_model().from_db("default", list(entry[2]), list(entry[3]))
    tokens = ApiToken.objects.select_related("user").filter(user__is_active=True)
    found = tokens.filter(key_hash=digest).first()
    if found is None or not digests_match(found.key_hash, key):
        return None
    user = found.user
    if ttl > 0:
        names = tuple(f.attname for f in user._meta.concrete_fields)
        with _lock:
            if len(_entries) >= MAX_ENTRIES:
                _entries.clear()
            _entries[digest] = (now + ttl, user.pk, names, tuple(getattr(user, n) for n in names))
    return user


def forget_user(user_id: Any) -> None:
    """Drop every remembered token of ``user_id`` (its account or a token changed)."""
    with _lock:
        for key in [k for k, entry in _entries.items() if entry[1] == user_id]:
            del _entries[key]


def forget_all() -> None:
    with _lock:
        _entries.clear()
