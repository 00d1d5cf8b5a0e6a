"""OpenTimelineIO's own JSON."""

from __future__ import annotations

from exports.formats import register
from exports.formats.base import EditListFormat


@register
class Otio(EditListFormat):
    name = "otio"
    label = "OpenTimelineIO (.otio)"
    analysis_label = "OpenTimelineIO, storylines as tracks"
    extension = ".otio"
    content_type = "application/json"
    order = 25
    version = 2  # with sound, file:// media and the 01:00:00:00 record start
