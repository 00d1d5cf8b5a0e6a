"""Middleware of the site: the upload size limit.

The whole chain runs in one worker thread per request (``videoanalyzer.asgi_handler``), so
plain sync middleware costs nothing extra under Daphne. Static files are WhiteNoise's own
middleware.
"""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse

# Multipart framing adds a little to the file itself.
MULTIPART_OVERHEAD = 64 * 1024


def _too_large(request: HttpRequest) -> JsonResponse | None:
    try:
        length = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    if length > settings.MAX_UPLOAD_BYTES + MULTIPART_OVERHEAD:
        limit_mb = settings.MAX_UPLOAD_BYTES // (1024 * 1024)
        return JsonResponse(
            {"detail": f"The upload is larger than the limit of {limit_mb} MB."}, status=413
        )
    return None


class UploadSizeLimitMiddleware:
    """Reject uploads larger than the limit before a view parses their body."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return _too_large(request) or self.get_response(request)
