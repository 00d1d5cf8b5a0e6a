"""Middleware of the site: the request gate, and one upload at a time per process.

The whole chain runs in one worker thread per request (``videoanalyzer.asgi_handler``), so
plain sync middleware costs nothing extra under Daphne. Static files are WhiteNoise's own
middleware.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse

from videoanalyzer.gate import Refusal, RequestHead, refusal_for


def request_head(request: HttpRequest) -> RequestHead:
    headers = {name.lower(): value for name, value in request.headers.items()}
    query = request.META.get("QUERY_STRING", "")
    return RequestHead(request.method or "GET", request.path, len(query), headers)


def refusal_response(refusal: Refusal) -> JsonResponse:
    response = JsonResponse({"detail": refusal.detail}, status=refusal.status)
    for name, value in refusal.headers():
        response[name] = value
    return response


def _is_upload(request: HttpRequest) -> bool:
    kind = request.META.get("CONTENT_TYPE", "")
    return request.method == "POST" and kind.startswith("multipart/form-data")


class RequestGateMiddleware:
    """Refuse a request by its head (``videoanalyzer.gate``) before a view parses its body;
    take the uploads that pass ``UPLOADS_AT_ONCE`` at a time (per web process).

    Under Daphne the same rules already ran before the body was read; here they cover other
    servers and the test client. Multipart bodies are parsed, probed and hashed in Python:
    work that holds the GIL for tens of milliseconds. Ten at once in one process took turns
    with every status poll of the process (status p99 during an upload burst 143 ms); queued
    one at a time they take turns only among themselves (64 ms), and the last of ten uploads
    waits about 100 ms longer.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response
        self.uploads = threading.BoundedSemaphore(max(1, int(settings.UPLOADS_AT_ONCE)))

    def __call__(self, request: HttpRequest) -> HttpResponse:
        refused = refusal_for(request_head(request))
        if refused is not None:
            return refusal_response(refused)
        if not _is_upload(request):
            return self.get_response(request)
        with self.uploads:
            return self.get_response(request)
