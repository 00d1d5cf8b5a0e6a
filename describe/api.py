"""HTTP API of the description service: ``POST /process`` and ``GET /process/{id}``.

The same endpoints are served twice: at the site root (the original service's paths, by
``root_api``) and under ``/api`` (``router``, registered in ``videoanalyzer/api.py``).
Callers authenticate as a *client* with ``Authorization: Bearer <client token>``; reading a job
also works for the logged-in user who owns the client (the job's web page uses that).
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from django.http import HttpRequest, HttpResponse
from ninja import NinjaAPI, Router, Schema
from ninja.security import HttpBearer, django_auth

from describe import selectors, services
from describe.models import DescribeClient
from videoanalyzer.errors import InvalidParameter
from videoanalyzer.http import Detail, install_error_handlers
from videoanalyzer.ratelimit import rate_limited


class ClientTokenAuth(HttpBearer):
    """``Authorization: Bearer <token>`` of a ``DescribeClient`` (not a user's API token)."""

    def authenticate(self, request: HttpRequest, token: str) -> DescribeClient | None:
        return selectors.client_for_token(token)


class ProcessIn(Schema):
    url: str
    subtitles: str | None = None
    callback_url: str | None = None
    language: str | None = None


class ProcessOut(Schema):
    id: UUID
    status: str


FORMATS = {"json", "vtt", "srt"}


def _principal(request: HttpRequest) -> Any:
    """Who Ninja authenticated: a ``DescribeClient`` (token) or a ``User`` (session)."""
    return getattr(request, "auth", None)


READ_AUTH = [ClientTokenAuth(), django_auth]


def _track(job: Any, fmt: str) -> HttpResponse:
    if fmt == "vtt":
        response = HttpResponse(selectors.job_vtt(job), content_type="text/vtt; charset=utf-8")
    else:
        response = HttpResponse(
            selectors.job_srt(job), content_type="application/x-subrip; charset=utf-8"
        )
    response["Content-Disposition"] = f'inline; filename="{job.id}.{fmt}"'
    return response


def build_router() -> Router:
    """A fresh router with the endpoints (a router can be mounted on one API only)."""
    router = Router(tags=["describe"])

    @router.post(
        "/process", response={200: ProcessOut, 422: Detail, 429: Detail}, auth=[ClientTokenAuth()]
    )
    @rate_limited("process")
    def process(request: HttpRequest, body: ProcessIn) -> Any:
        """Start describing the video at ``url``; results go to the callback as they come."""
        job = services.job_create(client=_principal(request), data=body.dict())
        return 200, {"id": job.id, "status": job.status}

    @router.get("/process/{uuid:job_id}", auth=READ_AUTH)
    def job_detail(request: HttpRequest, job_id: UUID, format: str = "json") -> Any:
        """Status and all results; ``?format=vtt`` or ``srt`` returns them as a track."""
        job = selectors.job_get(_principal(request), job_id)
        if format not in FORMATS:
            raise InvalidParameter("format must be json, vtt or srt.")
        return selectors.job_json(job) if format == "json" else _track(job, format)

    @router.get("/process/{uuid:job_id}.vtt", auth=READ_AUTH)
    def job_vtt(request: HttpRequest, job_id: UUID) -> HttpResponse:
        """The results as a WebVTT track of kind ``descriptions``."""
        return _track(selectors.job_get(_principal(request), job_id), "vtt")

    @router.get("/process/{uuid:job_id}.srt", auth=READ_AUTH)
    def job_srt(request: HttpRequest, job_id: UUID) -> HttpResponse:
        """The results as SubRip subtitles."""
        return _track(selectors.job_get(_principal(request), job_id), "srt")

    return router


router = build_router()


class DescribeVideoIn(Schema):
    language: str = ""  # empty: each description in the language of the speech around it
    pauses: str = "speech"  # or "subtitles": the video's own


class DescribeVideoOut(Schema):
    id: UUID
    status: str
    page_url: str


# Signed-in users (session or API token) describing a video of their library.
library_router = Router(tags=["describe"])


@library_router.post(
    "/videos/{uuid:video_id}/descriptions", response={200: DescribeVideoOut, 422: Detail}
)
def describe_video(request: HttpRequest, video_id: UUID, body: DescribeVideoIn) -> Any:
    """Start an audio description of a library video; follow it on its page."""
    from django.urls import reverse

    from analysis.selectors import video_get_for_user

    video = video_get_for_user(request.auth, video_id)  # type: ignore[attr-defined]
    job = services.job_create_for_video(video=video, language=body.language, pauses=body.pauses)
    page = reverse("describe:job", kwargs={"job_id": job.id})
    return 200, {"id": job.id, "status": job.status, "page_url": page}


# The original service's paths at the site root; no docs here (they are under /api/docs).
root_api = NinjaAPI(
    title="videoanalyzer describe",
    version="describe-1",
    urls_namespace="describe_api",
    docs_url=None,
    openapi_url=None,
)
root_api.add_router("/", build_router())
install_error_handlers(root_api)
