"""The one error of the media kit: a file that cannot be used, said so the user understands."""

from __future__ import annotations


class MediaError(ValueError):
    """A file that cannot be analysed, with a message meant for the user."""
