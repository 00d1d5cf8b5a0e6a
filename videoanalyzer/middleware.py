"""Middleware of the site: the upload size limit, and one upload at a time per process.

The whole chain runs in one worker thread per request (``videoanalyzer.asgi_handler``), so
plain sync middleware costs nothing extra under Daphne. Static files are WhiteNoise's own
middleware.
"""

from __future__ import annotations

import threading
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


def _is_upload(request: HttpRequest) -> bool:
    kind = request.META.get("CONTENT_TYPE", "")
    return request.method == "POST" and kind.startswith("multipart/form-data")


class UploadSizeLimitMiddleware:
    """Reject uploads larger than the limit before a view parses their body; take the ones
    that pass ``UPLOADS_AT_ONCE`` at a time (per web process).

    Multipart bodies are parsed, probed and hashed in Python: work that holds the GIL for tens
    of milliseconds. Ten at once in one process took turns with every status poll of the
    process (status p99 during an upload burst 143 ms); queued one at a time they take turns
    only among themselves (64 ms), and the last of ten uploads waits about 100 ms longer.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response
        self.uploads = threading.BoundedSemaphore(max(1, int(settings.UPLOADS_AT_ONCE)))

    def __call__(self, request: HttpRequest) -> HttpResponse:
        refused = _too_large(request)
        if refused is not None:
            return refused
        if not _is_upload(request):
            return self.get_response(request)
        with self.uploads:
            return self.get_response(request)
