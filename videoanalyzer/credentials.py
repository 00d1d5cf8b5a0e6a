"""Bearer tokens we only need to verify: made random, stored as a digest, compared in constant time.

A token carries 256 random bits, so a plain SHA-256 is enough to store it (no salt or slow hash:
there is nothing to guess), and a leaked table gives no usable token. Only the first characters
are kept readable, so people can tell their tokens apart. Secrets we must use again later (the
HMAC key signing description callbacks) are not tokens of this kind and stay readable.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

VISIBLE_CHARS = 8  # of a token, kept in clear to tell tokens apart in lists


def token_new(prefix: str = "") -> str:
    """A fresh token: ``prefix`` then 43 URL-safe characters (256 random bits)."""
    return prefix + secrets.token_urlsafe(32)


def token_digest(token: str) -> str:
    """What is stored of a token: the hex SHA-256 of its UTF-8 bytes."""
    return hashlib.sha256(token.encode()).hexdigest()


def token_visible_part(token: str) -> str:
    """The first characters of a token, which lists show."""
    return token[:VISIBLE_CHARS]


def digests_match(stored: str, token: str) -> bool:
    """Whether ``token`` hashes to the ``stored`` digest, in time independent of where they
    differ."""
    return hmac.compare_digest(stored.encode(), token_digest(token).encode())
