"""The request gate (``videoanalyzer.gate``) inside Daphne's Twisted layer, before the body.

Daphne reads a request's whole body (into a temp file past 100 kB) before it calls the ASGI
application, so an ASGI middleware sees a 5 GB upload only once it has been received. Twisted
tells the request its declared length as soon as the headers are in (``gotLength``): the rules
run there, and a refused request is answered and its connection closed without reading on.
Bytes really received are counted too (a chunked body declares no length). A large API write
has its token or session checked in a thread before the body is used; the body keeps arriving
meanwhile, and a refusal closes the connection at once.
"""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import urlsplit

from videoanalyzer.gate import (
    CHECK_CREDENTIALS_ABOVE,
    MAX_QUERY_STRING_BYTES,
    Refusal,
    RequestHead,
    body_limit,
    credentials_valid,
    refusal_for,
    too_large,
    unauthenticated,
)

logger = logging.getLogger(__name__)


def install_daphne_gate() -> None:
    """Make Daphne's requests run the gate; idempotent, a no-op without Daphne."""
    try:
        from daphne import http_protocol
        from twisted.web import http
    except ImportError:
        return
    if getattr(http_protocol.WebRequest, "gated", False):
        return
    http_protocol.WebRequest = _gated(http_protocol.WebRequest)
    # A request line or header over Twisted's line limit (16 kB) closed the connection
    # without a status; answer it.
    http.HTTPChannel.lineLengthExceeded = _line_too_long  # type: ignore[method-assign]


def _line_too_long(channel: Any, line: bytes) -> None:
    if getattr(channel, "_HTTPChannel__first_line", 0):
        refusal = Refusal(
            414, f"The query string is longer than the limit of {MAX_QUERY_STRING_BYTES} bytes."
        )
    else:
        refusal = Refusal(431, "A request header is too long.")
    channel.transport.write(refusal.raw_http())
    channel.loseConnection()


def _head(request: Any) -> RequestHead | None:
    channel = request.channel
    command, target = getattr(channel, "_command", None), getattr(channel, "_path", None)
    if command is None or target is None:
        return None
    parts = urlsplit(target.decode("latin-1"))
    headers = {
        name.decode("latin-1").lower(): b", ".join(values).decode("latin-1")
        for name, values in request.requestHeaders.getAllRawHeaders()
    }
    return RequestHead(command.decode("latin-1"), parts.path, len(parts.query), headers)


def _gated(base: type) -> type:
    class GatedRequest(base):  # type: ignore[misc, valid-type]
        gated = True

        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self.gate_refused = False
            self.gate_limit: int | None = None
            self.gate_received = 0
            self.gate_check: Any = None  # the Deferred of a credentials check
            self.gate_waiting: tuple[Any, ...] | None = None

        def gotLength(self, length: int | None) -> None:
            head = _head(self)
            refusal = refusal_for(head) if head is not None else None
            if refusal is not None:
                super().gotLength(0)  # no temp file for a body never read
                self.gate_refuse(refusal)
                return
            super().gotLength(length)
            if head is None:
                return
            self.gate_limit = body_limit(head)
            big = head.chunked or (head.declared_length or 0) > CHECK_CREDENTIALS_ABOVE
            if head.is_api_write and big:
                from twisted.internet.threads import deferToThread

                self.gate_check = deferToThread(credentials_valid, head)
                self.gate_check.addCallbacks(self.gate_checked, self.gate_check_failed)

        def handleContentChunk(self, data: bytes) -> None:
            if self.gate_refused:
                return
            self.gate_received += len(data)
            if self.gate_limit is not None and self.gate_received > self.gate_limit:
                self.gate_refuse(too_large(self.gate_limit))
                return
            super().handleContentChunk(data)

        def requestReceived(self, command: bytes, path: bytes, version: bytes) -> None:
            if self.gate_refused:
                return
            if self.gate_check is not None and not self.gate_check.called:
                self.gate_waiting = (command, path, version)  # the check decides
                return
            super().requestReceived(command, path, version)

        def gate_checked(self, valid: bool) -> None:
            if self.gate_refused:
                return
            if not valid:
                self.gate_refuse(unauthenticated())
                return
            if self.gate_waiting is not None:
                waiting, self.gate_waiting = self.gate_waiting, None
                super().requestReceived(*waiting)

        def gate_check_failed(self, failure: Any) -> None:
            # The database may be restarting: let Django's own authentication decide.
            logger.warning("credentials check failed: %s", failure.getErrorMessage())
            self.gate_checked(True)

        def gate_refuse(self, refusal: Refusal) -> None:
            self.gate_refused = True
            self.requestHeaders.removeHeader(b"expect")  # no "100 Continue" after the answer
            transport = self.channel.transport
            if transport is not None:
                transport.write(refusal.raw_http())
                self.channel.loseConnection()

    return GatedRequest
