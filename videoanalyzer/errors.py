"""Domain errors: what a service refuses, said once for every app.

A service raises a :class:`DomainError` (or a subclass) with a message written for the user; the
API root maps every one of them to ``{"detail": message}`` with the error's ``status``
(``videoanalyzer.api``), so API handlers never catch them by hand. An app's own error class
subclasses the kind that fits and may set its own ``status``::

    class StoryBusy(Conflict): ...            # 409
    class ExportError(Refused): status = 400

Kinds that were ``ValueError`` before stay ``ValueError`` too, so older callers still catch them.
This module imports nothing of Django: command-line tools and workers raise the same errors.
"""

from __future__ import annotations


class DomainError(Exception):
    """A request the domain cannot carry out; ``str(error)`` is the message for the user.

    Args:
        message: shown to the user as it is.
        status: the HTTP status of the answer, when it differs from the class's ``status``.
    """

    status: int = 400

    def __init__(self, message: str = "", *, status: int | None = None) -> None:
        super().__init__(message)
        if status is not None:
            self.status = status

    @property
    def message(self) -> str:
        return str(self)


class Refused(DomainError, ValueError):
    """A request that is well formed but cannot be done as asked (HTTP 400)."""

    status = 400


class InvalidParameter(DomainError, ValueError):
    """A parameter is missing, malformed or out of range; the message names it (HTTP 422)."""

    status = 422


class NotFound(DomainError, LookupError):
    """The thing asked for does not exist, or is not the caller's (HTTP 404)."""

    status = 404


class Conflict(DomainError):
    """The request clashes with the current state, such as a job still running (HTTP 409)."""

    status = 409


class TooLarge(DomainError):
    """The request or its file is over a configured limit (HTTP 413)."""

    status = 413
