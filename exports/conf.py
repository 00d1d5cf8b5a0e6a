"""Settings of the exports app (the convention of ``videoanalyzer.conf``).

- ``EXPORT_DEVICE`` (``auto``): ``auto`` encodes frame-accurate cuts with NVENC when ffmpeg
  has ``h264_nvenc`` and an NVIDIA GPU is visible, else libx264; ``cpu`` or ``cuda`` force it.
"""

from __future__ import annotations

from typing import Any

from videoanalyzer.conf import AppSettings

DEFAULTS: dict[str, Any] = {"EXPORT_DEVICE": "auto"}

setting = AppSettings(DEFAULTS)


def export_device() -> str:
    return str(setting("EXPORT_DEVICE") or "auto").strip().lower() or "auto"
