"""Media files, served only to their owner, with byte ranges so the player can seek."""

from __future__ import annotations

import mimetypes
import re

from django.core.files.storage import default_storage
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, HttpResponseBase
from django.views.decorators.http import require_GET

from analysis.selectors import media_path_allowed

RANGE_RE = re.compile(r"bytes=(\d*)-(\d*)$")
MAX_CHUNK = 8 * 1024 * 1024  # one range answer at most; players ask again for the rest


@require_GET
def media_file(request: HttpRequest, path: str) -> HttpResponseBase:
    if not media_path_allowed(request.user, path) or not default_storage.exists(path):
        raise Http404("No such file.")
    size = default_storage.size(path)
    content_type = mimetypes.guess_type(path)[0] or "application/octet-stream"
    match = RANGE_RE.match(request.headers.get("Range", ""))
    if not match or not any(match.groups()):
        response = FileResponse(default_storage.open(path, "rb"), content_type=content_type)
        response["Accept-Ranges"] = "bytes"
        return response
    return _partial(path, size, content_type, match.group(1), match.group(2))


def _partial(path: str, size: int, content_type: str, first: str, last: str) -> HttpResponse:
    if first:
        start = int(first)
        end = min(int(last) if last else size - 1, size - 1, start + MAX_CHUNK - 1)
    else:  # a suffix range: the last N bytes
        start, end = max(0, size - int(last)), size - 1
    if start > end or start >= size:
        response = HttpResponse(status=416)
        response["Content-Range"] = f"bytes */{size}"
        return response
    with default_storage.open(path, "rb") as handle:
        handle.seek(start)
        body = handle.read(end - start + 1)
    response = HttpResponse(body, status=206, content_type=content_type)
    response["Content-Range"] = f"bytes {start}-{end}/{size}"
    response["Accept-Ranges"] = "bytes"
    return response
