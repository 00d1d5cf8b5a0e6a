"""CMX 3600: one video track with its audio (AA/V), the usual 01:00:00:00 record start."""

from __future__ import annotations

from exports.formats import register
from exports.formats.base import EditListFormat


@register
class Edl(EditListFormat):
    name = "edl"
    label = "Edit list (CMX 3600 EDL)"
    analysis_label = "Edit list (EDL)"
    extension = ".edl"
    content_type = "text/plain; charset=utf-8"
    order = 30
    version = 2  # with sound, file:// media and the 01:00:00:00 record start
