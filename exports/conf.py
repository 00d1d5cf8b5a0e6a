"""Settings of the exports app (the convention of ``videoanalyzer.conf``).

- ``EXPORT_DEVICE`` (``auto``): ``auto`` encodes frame-accurate cuts (and a smart cut's pieces
  around the cuts, where NVENC can match the copied stream) with NVENC when ffmpeg has
  ``h264_nvenc`` and an NVIDIA GPU is visible, else libx264; ``cpu`` or ``cuda`` force it.
- ``EXPORT_MEDIA_ROOT`` (empty): where the editor's machine sees the server's ``MEDIA_ROOT``
  (a path or a ``file://`` URL); edit lists name the media by its absolute ``file://`` URL
  under it. Empty: the server's own path.
- ``EXPORT_RECORD_START`` (``01:00:00:00``): the record timecode an edit list starts at.
"""

from __future__ import annotations

import re
from pathlib import Path, PurePosixPath, PureWindowsPath
from typing import Any
from urllib.parse import quote

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from videoanalyzer.conf import AppSettings

DEFAULTS: dict[str, Any] = {
    "EXPORT_DEVICE": "auto",
    "EXPORT_MEDIA_ROOT": "",
    "EXPORT_RECORD_START": "01:00:00:00",
}

setting = AppSettings(DEFAULTS)


def export_device() -> str:
    return str(setting("EXPORT_DEVICE") or "auto").strip().lower() or "auto"


def record_start_seconds(fps: float) -> float:
    """``EXPORT_RECORD_START`` (``HH:MM:SS:FF``) in seconds at ``fps``.

    Raises:
        ImproperlyConfigured: the value is not a timecode.
    """
    text = str(setting("EXPORT_RECORD_START") or "00:00:00:00").strip()
    match = re.fullmatch(r"(\d{1,2}):(\d{2}):(\d{2})[:;](\d{2})", text)
    if match is None:
        raise ImproperlyConfigured(f"EXPORT_RECORD_START must be HH:MM:SS:FF, not {text!r}")
    hours, minutes, seconds, frames = (int(g) for g in match.groups())
    return hours * 3600 + minutes * 60 + seconds + frames / (round(fps) or 25)


def media_url(stored_name: str) -> str:
    """The absolute ``file://`` URL of a stored file (its storage name, relative to
    ``MEDIA_ROOT``) as the editor's machine sees it.

    Raises:
        ImproperlyConfigured: ``EXPORT_MEDIA_ROOT`` is not an absolute path or file URL.
    """
    root = str(setting("EXPORT_MEDIA_ROOT") or "").strip()
    if not root:
        return (Path(settings.MEDIA_ROOT) / stored_name).resolve().as_uri()
    if root.startswith("file://"):
        return root.rstrip("/") + "/" + quote(stored_name)
    editor = PurePosixPath(root) if root.startswith("/") else PureWindowsPath(root)
    if not editor.is_absolute():
        raise ImproperlyConfigured(f"EXPORT_MEDIA_ROOT must be absolute, not {root!r}")
    return (editor / stored_name).as_uri()
