"""Kept for imports from before the media kit: everything lives in ``mediakit.probe``."""

from mediakit.probe import (
    ALLOWED_EXTENSIONS,
    MediaError,
    MediaInfo,
    checked_extension,
    probe,
    safe_display_name,
    sha256_of,
)

__all__ = [
    "ALLOWED_EXTENSIONS",
    "MediaError",
    "MediaInfo",
    "checked_extension",
    "probe",
    "safe_display_name",
    "sha256_of",
]
