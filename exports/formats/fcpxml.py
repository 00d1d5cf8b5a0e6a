"""Final Cut Pro 7 XML (xmeml), which Premiere Pro and DaVinci Resolve import."""

from __future__ import annotations

from exports.formats import register
from exports.formats.base import EditListFormat


@register
class FcpXml(EditListFormat):
    name = "fcpxml"
    label = "FCP XML (Premiere, Resolve)"
    analysis_label = "FCP XML, storylines as tracks"
    extension = ".xml"
    content_type = "application/xml"
    order = 20
    version = 2  # with sound, file:// media and the 01:00:00:00 record start
