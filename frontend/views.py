"""Server-rendered pages. Thin: ownership checks come from the selectors, the work from the API."""

from __future__ import annotations

from uuid import UUID

from django.conf import settings
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET

from analysis.selectors import analysis_get_for_user, analysis_latest, video_get_for_user
from frontend.selectors import (
    analysis_page_data,
    library_page_data,
    library_rows,
    timeline_page_data,
)


class LoginView(auth_views.LoginView):
    template_name = "frontend/login.html"
    redirect_authenticated_user = True


class LogoutView(auth_views.LogoutView):
    """POST only (Django's default since 4.1): a link cannot log anyone out."""


@require_GET
@login_required
def library(request: HttpRequest) -> HttpResponse:
    context = {
        "rows": library_rows(request.user),
        "max_upload_bytes": settings.MAX_UPLOAD_BYTES,
        "library_data": library_page_data(),
        "max_num_storylines": settings.MAX_NUM_STORYLINES,
    }
    return render(request, "frontend/library.html", context)


@require_GET
@login_required
def analysis_detail(request: HttpRequest, analysis_id: UUID) -> HttpResponse:
    analysis = analysis_get_for_user(request.user, analysis_id)
    context = {
        "analysis": analysis,
        "video": analysis.video,
        "page_data": analysis_page_data(analysis),
        "max_num_storylines": settings.MAX_NUM_STORYLINES,
    }
    return render(request, "frontend/analysis.html", context)


@require_GET
@login_required
def analysis_timeline(request: HttpRequest, analysis_id: UUID) -> HttpResponse:
    """The editor's workbench: player, storyline timeline, scene details, corrections, exports."""
    analysis = analysis_get_for_user(request.user, analysis_id)
    context = {
        "analysis": analysis,
        "video": analysis.video,
        "page_data": timeline_page_data(analysis),
    }
    return render(request, "frontend/timeline.html", context)


@require_GET
@login_required
def video_detail(request: HttpRequest, video_id: UUID) -> HttpResponseRedirect:
    """A video has no page of its own: show its newest analysis, or the library."""
    latest = analysis_latest(video_get_for_user(request.user, video_id))
    if latest is None:
        return redirect("frontend:library")
    return redirect("frontend:analysis", analysis_id=latest.pk)
