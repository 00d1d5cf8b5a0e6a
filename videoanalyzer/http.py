"""HTTP types shared by every app's API: the authenticated request and the error body."""

from __future__ import annotations

import re
from typing import Any

from django.db import DataError
from django.http import Http404, HttpRequest, HttpResponse
from ninja import NinjaAPI, Schema

from videoanalyzer.errors import DomainError


class AuthedRequest(HttpRequest):
    """A request that passed the API's authentication: ``auth`` is the user (or API client)."""

    auth: Any


class Detail(Schema):
    """The body of every error answer: ``{"detail": "what went wrong, for the user"}``."""

    detail: str


TAB_ID = re.compile(r"[0-9A-Za-z-]{1,64}")


def tab_id(request: HttpRequest) -> str:
    """The browser tab a change comes from (``X-Tab-Id``, made up by each page load), so the
    change's announcement can name it; empty when not sent or not a plain id."""
    value = request.headers.get("X-Tab-Id", "")
    return value if TAB_ID.fullmatch(value) else ""


def error_responses(*statuses: int) -> dict[int, type[Detail]]:
    """``{status: Detail}`` for a route's ``response=`` (documents its error answers)."""
    return dict.fromkeys(statuses, Detail)


def install_error_handlers(api: NinjaAPI) -> None:
    """Map domain errors (and the few foreign ones) to ``{"detail"}`` answers on ``api``.

    Every NinjaAPI of the project calls this once, so an error means the same answer wherever
    it is raised and API handlers do not catch by hand.
    """
    from mediakit.errors import MediaError  # the media kit's own error, not a DomainError

    def answer(request: HttpRequest, status: int, detail: str) -> HttpResponse:
        return api.create_response(request, {"detail": detail}, status=status)

    @api.exception_handler(DomainError)
    def domain_error(request: HttpRequest, exc: DomainError) -> HttpResponse:
        return answer(request, exc.status, exc.message)

    @api.exception_handler(Http404)
    def not_found(request: HttpRequest, exc: Http404) -> HttpResponse:
        return answer(request, 404, str(exc) or "Not found.")

    @api.exception_handler(MediaError)
    def bad_media(request: HttpRequest, exc: Exception) -> HttpResponse:
        # An upload over the limit is a MediaError too (analysis.services.UploadTooLarge).
        return answer(request, getattr(exc, "status", 400), str(exc))

    @api.exception_handler(DataError)
    def unstorable_value(request: HttpRequest, exc: DataError) -> HttpResponse:
        # Input the database cannot hold (a NUL character, a text over its column's length, a
        # number out of range): the client's mistake, never a server error. It is rolled back.
        return answer(
            request,
            400,
            "A value in the request cannot be stored (a NUL character, a text that is too long "
            "or a number out of range).",
        )
