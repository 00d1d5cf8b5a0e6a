"""The page of a description job: the video with its descriptions, read and spoken."""

from __future__ import annotations

from uuid import UUID

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from describe import selectors


@require_GET
@login_required
def job_page(request: HttpRequest, job_id: UUID) -> HttpResponse:
    """Only the user owning the job's client sees it; anyone else gets a 404."""
    job = selectors.job_get(request.user, job_id)  # type: ignore[arg-type]  # logged in
    context = {"job": job, "page_data": selectors.job_json(job)}
    return render(request, "describe/job.html", context)
