"""Server-rendered pages. Thin: ownership checks come from the selectors, the work from the API."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode
from uuid import UUID

from django.apps import apps
from django.conf import settings
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.templatetags.static import static
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from analysis.conf import setting
from analysis.models import ApiToken
from analysis.selectors import analysis_get_for_user, analysis_latest, video_get_for_user
from analysis.services import TokenNameError, api_token_create, api_token_revoke
from frontend.selectors import (
    analysis_page_data,
    api_tokens_for_user,
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
        "max_num_storylines": setting("MAX_NUM_STORYLINES"),
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
        "max_num_storylines": setting("MAX_NUM_STORYLINES"),
        "models_used": vision_models_used(analysis),
    }
    return render(request, "frontend/analysis.html", context)


def vision_models_used(analysis: Any) -> list[str]:
    """Which captioning/tagging/embedding model the vision app used (none without the app)."""
    if not apps.is_installed("vision"):
        return []
    from vision.selectors import models_used

    return models_used(analysis)


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


# --- API tokens ---------------------------------------------------------------------------------

SHOWN_ONCE = "frontend.shown_once"  # session key: a secret to show on the next page load only


@login_required
@require_http_methods(["GET", "POST"])
def api_tokens(request: HttpRequest) -> HttpResponse:
    """List the user's tokens; POST creates one, whose key the next page shows once."""
    error = ""
    name = ""
    if request.method == "POST":
        name = request.POST.get("name", "")
        try:
            token, key = api_token_create(user=request.user, name=name)  # type: ignore[arg-type]
        except TokenNameError as exc:
            error = str(exc)
        else:
            request.session[SHOWN_ONCE] = {"name": token.name, "key": key}
            return redirect("frontend:tokens")
    context = {
        "tokens": api_tokens_for_user(request.user),  # type: ignore[arg-type]
        "new_token": request.session.pop(SHOWN_ONCE, None),
        "error": error,
        "name": name,
        "notice": request.GET.get("revoked", ""),
    }
    return render(request, "frontend/tokens.html", context, status=422 if error else 200)


@login_required
@require_POST
def api_token_revoke_view(request: HttpRequest, token_id: int) -> HttpResponse:
    try:
        name = api_token_revoke(user=request.user, token_id=token_id)  # type: ignore[arg-type]
    except ApiToken.DoesNotExist:
        raise Http404("No such token.") from None
    return redirect(f"{reverse('frontend:tokens')}?{urlencode({'revoked': name})}")


@require_GET
def favicon(request: HttpRequest) -> HttpResponseRedirect:
    """Browsers ask for /favicon.ico on pages without a <link rel=icon> (API docs, files)."""
    return HttpResponseRedirect(static("img/favicon.svg"), status=301)
