"""Settings of the exports app: a Django setting of the same name wins, then the environment.

- ``EXPORT_DEVICE`` (``auto``): ``auto`` encodes frame-accurate cuts with NVENC when ffmpeg
  has ``h264_nvenc`` and an NVIDIA GPU is visible, else libx264; ``cpu`` or ``cuda`` force it.
"""

from __future__ import annotations

import os

from django.conf import settings


def export_device() -> str:
    value = getattr(settings, "EXPORT_DEVICE", None) or os.environ.get("EXPORT_DEVICE", "auto")
    return str(value).strip().lower() or "auto"
