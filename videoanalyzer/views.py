"""The site root serves two audiences, as the original service did at ``GET /``."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse, JsonResponse

from frontend.views import library
from videoanalyzer.health import health_report


def root(request: HttpRequest) -> HttpResponse:
    """Browsers get the library page; API clients (curl, monitors) get the health report.

    Browsers always name text/html in Accept; curl and HTTP libraries send ``*/*``.
    """
    accept = request.headers.get("Accept")
    if accept is None or "text/html" in accept:
        return library(request)
    report = health_report()
    return JsonResponse(report, status=200 if report["status"] == "ok" else 503)
