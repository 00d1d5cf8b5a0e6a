"""The door of every HTTP request: what its head alone decides, before any byte of its body.

One set of rules, applied twice: by the Daphne layer (``videoanalyzer.asgi_handler``) as soon as
a request's headers have arrived, so a refused body is never read, and by a Django middleware
(``videoanalyzer.middleware.RequestGateMiddleware``) for every other server and the test client.

- a query string longer than ``MAX_QUERY_STRING_BYTES``: 414;
- a declared body over its limit (uploads ``MAX_UPLOAD_BYTES``, anything else
  ``DATA_UPLOAD_MAX_MEMORY_SIZE``): 413;
- a write to the API (``/api/…``, ``/process``) carrying no credentials at all (no
  ``Authorization``, no ``X-API-Key``, no session cookie): 401.

Whether credentials that are present are valid needs the database: ``credentials_valid`` is
called by the Daphne layer, off the reactor thread, for large bodies only.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass

from django.conf import settings

MAX_QUERY_STRING_BYTES = 8 * 1024
MULTIPART_OVERHEAD = 64 * 1024  # multipart framing around the file itself
WRITE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}
API_PREFIXES = ("/api/", "/process")
# A body this large is only read after its credentials were checked (Daphne layer).
CHECK_CREDENTIALS_ABOVE = 1024 * 1024
REASONS = {
    401: "Unauthorized",
    413: "Content Too Large",
    414: "URI Too Long",
    431: "Request Header Fields Too Large",
}


@dataclass(frozen=True)
class Refusal:
    status: int
    detail: str

    def body(self) -> bytes:
        return json.dumps({"detail": self.detail}).encode()

    def headers(self) -> list[tuple[str, str]]:
        extra = [("WWW-Authenticate", 'Bearer realm="api"')] if self.status == 401 else []
        return [("Content-Type", "application/json"), *extra]

    def raw_http(self) -> bytes:
        """The whole HTTP/1.1 response, closing the connection (the body is left unread)."""
        body = self.body()
        lines = [f"HTTP/1.1 {self.status} {REASONS.get(self.status, 'Error')}"]
        lines += [f"{name}: {value}" for name, value in self.headers()]
        lines += [f"Content-Length: {len(body)}", "Connection: close", "", ""]
        return "\r\n".join(lines).encode("latin-1") + body


@dataclass(frozen=True)
class RequestHead:
    """What the gate looks at: method, path, query string length and headers (lower-case)."""

    method: str
    path: str
    query_length: int
    headers: Mapping[str, str]

    @property
    def declared_length(self) -> int | None:
        raw = self.headers.get("content-length", "").strip()
        return int(raw) if raw.isdigit() else None

    @property
    def chunked(self) -> bool:
        return "chunked" in self.headers.get("transfer-encoding", "").lower()

    @property
    def is_api_write(self) -> bool:
        return self.method.upper() in WRITE_METHODS and self.path.startswith(API_PREFIXES)

    @property
    def has_credentials(self) -> bool:
        if self.headers.get("authorization", "").strip() or self.headers.get("x-api-key"):
            return True
        return session_cookie(self.headers.get("cookie", "")) is not None


def session_cookie(cookie_header: str) -> str | None:
    name = settings.SESSION_COOKIE_NAME
    for part in cookie_header.split(";"):
        key, _, value = part.strip().partition("=")
        if key == name and value:
            return value
    return None


def body_limit(head: RequestHead) -> int:
    """The most bytes a body of this request may have."""
    if head.headers.get("content-type", "").lower().startswith("multipart/form-data"):
        return int(settings.MAX_UPLOAD_BYTES) + MULTIPART_OVERHEAD
    return int(settings.DATA_UPLOAD_MAX_MEMORY_SIZE)


def too_large(limit: int) -> Refusal:
    megabytes = limit / (1024 * 1024)
    return Refusal(413, f"The request body is larger than the limit of {megabytes:.0f} MB.")


def refusal_for(head: RequestHead) -> Refusal | None:
    """Why this request is refused from its head alone, or None."""
    if head.query_length > MAX_QUERY_STRING_BYTES:
        return Refusal(
            414, f"The query string is longer than the limit of {MAX_QUERY_STRING_BYTES} bytes."
        )
    if head.is_api_write and not head.has_credentials:
        return unauthenticated()
    declared = head.declared_length
    if declared is not None and declared > body_limit(head):
        return too_large(body_limit(head))
    return None


def unauthenticated() -> Refusal:
    return Refusal(
        401,
        "Authentication required: send 'Authorization: Bearer <token>' "
        "(or log in for the browser).",
    )


def credentials_valid(head: RequestHead) -> bool:
    """Whether the token or session the request carries belongs to an active account.

    Runs database queries: never on an event loop or the reactor thread.
    """
    from django.db import close_old_connections, connection

    close_old_connections()
    try:
        return _valid(head)
    finally:
        connection.close()


def _valid(head: RequestHead) -> bool:
    from analysis.tokens import user_for_token
    from describe.selectors import client_for_token

    authorization = head.headers.get("authorization", "")
    scheme, _, token = authorization.partition(" ")
    token = token.strip() if scheme.lower() == "bearer" else ""
    token = token or head.headers.get("x-api-key", "").strip()
    if token and (user_for_token(token) is not None or client_for_token(token) is not None):
        return True
    key = session_cookie(head.headers.get("cookie", ""))
    if key is None:
        return False
    from importlib import import_module

    from django.contrib.auth import SESSION_KEY

    store = import_module(settings.SESSION_ENGINE).SessionStore(session_key=key)
    return store.get(SESSION_KEY) is not None
