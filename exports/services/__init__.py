"""Writes of the exports app: request an export (or get the cached one), run it, announce it.

- ``requests``: what may be exported (checked against the format registry), the cache, the
  keyframes-only preview;
- ``jobs``: claiming a job, producing its file in a scratch folder, storing it;
- ``publishing``: progress to the analysis's WebSocket group (``export.progress``).

The formats themselves (what each file is and how it is made) are ``exports.formats``.
"""

from exports.errors import ExportError, ExportNotReady
from exports.naming import download_name, safe_name
from exports.services.jobs import export_cancel, export_execute
from exports.services.publishing import publish
from exports.services.requests import (
    DEFAULT_MODE,
    KeyframeCutPreview,
    export_enqueue,
    export_request,
    keyframe_cut_preview,
)

__all__ = [
    "DEFAULT_MODE",
    "ExportError",
    "ExportNotReady",
    "KeyframeCutPreview",
    "download_name",
    "export_cancel",
    "export_enqueue",
    "export_execute",
    "export_request",
    "keyframe_cut_preview",
    "publish",
    "safe_name",
]
