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
    work that holds the GIL for tens of milliseconds. Ten at once in one process would take
    turns with every status poll of the process; queued one at a time they take turns only
    among themselves (bench/RESULTS.md, "design measurements").
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


API_ERRORS = {
    400: "The request could not be read (a malformed body, form or header).",
    401: "Authentication required.",
    403: "This is not allowed.",
    404: "Not found.",
    405: "This method is not allowed here.",
    413: "The request body is too large.",
    414: "The request URI is too long.",
    415: "This content type is not accepted.",
    429: "Too many requests; try again later.",
    500: "The server failed to answer this request; the error was logged.",
    503: "The service is unavailable; try again shortly.",
}


def _is_api(request: HttpRequest) -> bool:
    from videoanalyzer.gate import API_PREFIXES

    return request.path.startswith(API_PREFIXES)


class ApiJsonErrorsMiddleware:
    """Every error of the API is JSON (``{"detail": ...}``) with a message a person understands.

    Django answers some errors itself, before or around the API's own handlers: a multipart
    body without a boundary or a form over its size (HTML 400), a method the route does not
    have (plain-text 405), a crash (HTML 500). For API paths those become JSON here.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if response.status_code < 400 or not _is_api(request):
            return response
        if response.get("Content-Type", "").startswith("application/json"):
            return response
        return self._as_json(request, response)

    def process_exception(self, request: HttpRequest, exc: Exception) -> HttpResponse | None:
        from django.core.exceptions import RequestDataTooBig
        from django.http.multipartparser import MultiPartParserError

        if not _is_api(request):
            return None
        if isinstance(exc, RequestDataTooBig):
            return JsonResponse({"detail": f"The request body is too large: {exc}"}, status=413)
        if isinstance(exc, MultiPartParserError):
            detail = (
                f"The multipart form could not be read ({exc}): check its boundary, and that "
                "its part headers (file names included) are UTF-8."
            )
            return JsonResponse({"detail": detail}, status=400)
        return None

    def _as_json(self, request: HttpRequest, response: HttpResponse) -> HttpResponse:
        status = response.status_code
        detail = API_ERRORS.get(status, f"The request failed (HTTP {status}).")
        if status == 405 and response.get("Allow"):
            detail = f"{request.method} is not allowed here; use {response['Allow']}."
        converted = JsonResponse({"detail": detail}, status=status)
        for header in ("Allow", "Retry-After", "WWW-Authenticate"):
            if response.get(header):
                converted[header] = response[header]
        return converted


CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; "
    "media-src 'self' blob:; font-src 'self'; object-src 'none'; base-uri 'self'; "
    "form-action 'self'; frame-ancestors 'none'"
)


class ContentSecurityPolicyMiddleware:
    """A strict Content-Security-Policy on every page: scripts and styles from our own origin
    only (the pages use ES modules and stylesheets, no inline code), nothing framed.

    ``connect-src`` names the page's own host for WebSockets too (``'self'`` covers ``ws:`` only
    in newer browsers).
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if "Content-Security-Policy" not in response and _is_html(response):
            response["Content-Security-Policy"] = policy_for(request)
        return response


def _is_html(response: HttpResponse) -> bool:
    return response.get("Content-Type", "").startswith("text/html")


def policy_for(request: HttpRequest) -> str:
    try:
        host = request.get_host()
    except Exception:  # a disallowed host: Django answers 400 anyway
        return f"{CONTENT_SECURITY_POLICY}; connect-src 'self'"
    return f"{CONTENT_SECURITY_POLICY}; connect-src 'self' ws://{host} wss://{host}"
