"""The API root: authentication, domain errors mapped to HTTP once, health."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.base_user import AbstractBaseUser
from django.http import HttpRequest
from ninja import NinjaAPI
from ninja.security import APIKeyHeader, HttpBearer, django_auth

from analysis.api import router as analysis_router
from analysis.tokens import user_for_token
from cuts.api import router as cuts_router
from describe.api import library_router as describe_library_router
from describe.api import router as describe_router
from exports.api import router as exports_router
from frontend.api import router as timeline_router
from people.api import router as people_router
from story.api import router as story_router
from videoanalyzer.health import health_report
from videoanalyzer.http import install_error_handlers
from vision.api import router as vision_router


class TokenAuth(HttpBearer):
    """``Authorization: Bearer <token>`` for scripts and other backends."""

    def authenticate(self, request: HttpRequest, token: str) -> AbstractBaseUser | None:
        return user_for_token(token)


class TokenHeaderAuth(APIKeyHeader):
    param_name = "X-API-Key"

    def authenticate(self, request: HttpRequest, key: str | None) -> AbstractBaseUser | None:
        return TokenAuth().authenticate(request, key or "")


api = NinjaAPI(
    title="videoanalyzer",
    version="1",
    description="Scenes, transcripts, audio and storylines of videos.",
    # Tokens first: the session check demands a CSRF token, which scripts do not have.
    auth=[TokenAuth(), TokenHeaderAuth(), django_auth],
    urls_namespace="api",
)
api.add_router("/", analysis_router)
api.add_router("/", describe_router)
api.add_router("/", describe_library_router)
api.add_router("/", people_router)
api.add_router("/", vision_router)
api.add_router("/", story_router)
api.add_router("/", exports_router)
api.add_router("/", timeline_router)
api.add_router("/", cuts_router)


install_error_handlers(api)


@api.get("/health", auth=None, tags=["health"])
def health(request: HttpRequest) -> Any:
    report = health_report()
    return api.create_response(request, report, status=200 if report["status"] == "ok" else 503)
