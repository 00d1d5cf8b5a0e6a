"""Media files, served only to their owner, streamed, with byte ranges so the player can seek.

The owner is the logged-in user (pages, the player) or the holder of an API token
(``Authorization: Bearer``), so the ``url`` and ``keyframe_url`` the API hands out work for
scripts too. Every answer is ``Cache-Control: private``: a shared cache must not keep it.
"""

from __future__ import annotations

import mimetypes
import re
from typing import IO, Any

from django.core.files.storage import default_storage
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, HttpResponseBase
from django.views.decorators.http import require_GET

from analysis.selectors import media_path_allowed

# One range; 18 digits at most (larger numbers are no file size and would be slow to parse).
RANGE_RE = re.compile(r"bytes=(\d{0,18})-(\d{0,18})$")
MAX_CHUNK = 8 * 1024 * 1024  # one range answer at most, whatever the form; players ask again
BLOCK = 64 * 1024  # bytes read from storage at a time


@require_GET
def media_file(request: HttpRequest, path: str) -> HttpResponseBase:
    if not media_path_allowed(_media_user(request), path) or not default_storage.exists(path):
        raise Http404("No such file.")
    size = default_storage.size(path)
    content_type = mimetypes.guess_type(path)[0] or "application/octet-stream"
    match = RANGE_RE.match(request.headers.get("Range", ""))
    response: HttpResponseBase
    if not match or not any(match.groups()):
        response = _stream(path, 0, size, content_type, status=200)
    else:
        response = _partial(path, size, content_type, match.group(1), match.group(2))
    response["Accept-Ranges"] = "bytes"
    response["Cache-Control"] = "private, max-age=0"
    return response


def _media_user(request: HttpRequest) -> Any:
    """The session's user, else the owner of a valid API token, else the anonymous user."""
    if request.user.is_authenticated:
        return request.user
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    token = token.strip() if scheme.lower() == "bearer" else ""
    token = token or request.headers.get("X-API-Key", "").strip()
    if token:
        from analysis.tokens import user_for_token

        return user_for_token(token) or request.user
    return request.user


def _partial(path: str, size: int, content_type: str, first: str, last: str) -> HttpResponseBase:
    if first:
        start = int(first)
        end = int(last) if last else size - 1
    else:  # a suffix range: the last N bytes
        start, end = max(0, size - int(last)), size - 1
    if start > end or start >= size:
        refused = HttpResponse(status=416)
        refused["Content-Range"] = f"bytes */{size}"
        return refused
    end = min(end, size - 1, start + MAX_CHUNK - 1)
    response = _stream(path, start, end - start + 1, content_type, status=206)
    response["Content-Range"] = f"bytes {start}-{end}/{size}"
    return response


class _Window:
    """``length`` bytes of an open file from ``start``: what a response streams."""

    def __init__(self, handle: IO[bytes], start: int, length: int) -> None:
        handle.seek(start)
        self.handle, self.left = handle, length

    def read(self, size: int = -1) -> bytes:
        if self.left <= 0:
            return b""
        data = self.handle.read(self.left if size < 0 else min(size, self.left))
        self.left -= len(data)
        return data

    def close(self) -> None:
        self.handle.close()


def _stream(path: str, start: int, length: int, content_type: str, *, status: int) -> FileResponse:
    window = _Window(default_storage.open(path, "rb"), start, length)
    response = FileResponse(window, content_type=content_type, status=status)
    response.block_size = BLOCK
    response["Content-Length"] = str(length)
    return response
