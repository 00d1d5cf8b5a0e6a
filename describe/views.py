"""The page of a description job: the video with its descriptions, read and spoken."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from describe import selectors, services
from describe.models import DescribeClient


@require_GET
@login_required
def job_page(request: HttpRequest, job_id: UUID) -> HttpResponse:
    """Only the user owning the job's client sees it; anyone else gets a 404."""
    job = selectors.job_get(request.user, job_id)  # type: ignore[arg-type]  # logged in
    video = job.video
    context = {
        "job": job,
        "page_data": selectors.job_json(job),
        # A library video plays from the library; a /process job from where it was fetched.
        "video_src": video.file.url if video else job.url,
        "title": video.original_name if video else (job.client.name if job.client else "job"),
        "language": selectors.job_language(job),  # the client's, else the speech's
    }
    return render(request, "describe/job.html", context)


# --- Clients of /process, for staff ---------------------------------------------------------------

SHOWN_ONCE = "describe.shown_once"  # session key: a token or secret to show on the next load only
CLIENT_ACTIONS = ("rotate-token", "rotate-secret", "deactivate", "activate")


def _staff_only(request: HttpRequest) -> None:
    if not request.user.is_staff:
        raise PermissionDenied("Only staff manage the clients of the description service.")


@login_required
@require_http_methods(["GET", "POST"])
def clients_page(request: HttpRequest) -> HttpResponse:
    """Every ``/process`` client; POST creates one (its token and secret shown once)."""
    _staff_only(request)
    error, form = "", {"name": "", "callback_url": "", "allow_private_urls": False}
    if request.method == "POST":
        form = {
            "name": request.POST.get("name", "").strip()[:100],
            "callback_url": request.POST.get("callback_url", "").strip(),
            "allow_private_urls": request.POST.get("allow_private_urls") == "on",
        }
        error = _create_client(request, form)
        if not error:
            return redirect("describe:clients")
    context = {
        "clients": DescribeClient.objects.select_related("owner").order_by("name", "pk"),
        "shown_once": request.session.pop(SHOWN_ONCE, None),
        "error": error,
        "form": form,
    }
    return render(request, "describe/clients.html", context, status=422 if error else 200)


def _create_client(request: HttpRequest, form: dict[str, Any]) -> str:
    """Create the client and remember what to show once; returns an error message or ""."""
    if not form["name"]:
        return "Give the client a name."
    if DescribeClient.objects.filter(owner_id=request.user.pk, name=form["name"]).exists():
        return f"You already have a client named “{form['name']}”."
    try:
        client, token = services.client_create(owner=request.user, **form)  # type: ignore[arg-type]
    except services.JobRequestError as exc:
        return str(exc)
    request.session[SHOWN_ONCE] = {
        "client": client.name,
        "what": "created",
        "token": token,
        "secret": client.secret,
    }
    return ""


@login_required
@require_POST
def client_action(request: HttpRequest, client_id: int, action: str) -> HttpResponse:
    """Rotate a client's token or callback secret, or turn the client off or on."""
    _staff_only(request)
    client = get_object_or_404(DescribeClient, pk=client_id)
    if action not in CLIENT_ACTIONS:
        raise Http404("No such action.")
    shown: dict[str, str] = {"client": client.name, "what": action}
    if action == "rotate-token":
        shown["token"] = services.client_rotate_token(client=client)
    elif action == "rotate-secret":
        shown["secret"] = services.client_rotate_secret(client=client)
    else:
        services.client_set_active(client=client, active=action == "activate")
    request.session[SHOWN_ONCE] = shown
    return redirect("describe:clients")
