"""Errors of the exports app: the message is for the user; the API root maps them to HTTP."""

from __future__ import annotations

from videoanalyzer.errors import Refused


class ExportError(Refused):
    """An export that cannot be made as asked (HTTP 400 unless ``status`` says otherwise)."""

    status = 400


class ExportNotReady(ExportError):
    """The analysis or its source is not in a state to export from (HTTP 409)."""

    status = 409


class ExportCancelled(ExportError):
    """The job was cancelled while it ran: stop, keep nothing."""

    status = 409


CANCELLED = "Cancelled by the user."
