"""File names: every exported file is ``<video> - <storyline or what>.<ext>``, safe everywhere."""

from __future__ import annotations

import os
import re

from analysis.models import Analysis
from exports.models import ExportJob, ExportMode

UNSAFE = re.compile(r'[\x00-\x1f\x7f/\\:*?"<>|]+')


def safe_name(text: str, limit: int = 120) -> str:
    """``text`` usable as a file name on every system (Cyrillic kept)."""
    cleaned = UNSAFE.sub("_", text).strip(" .") or "export"
    return cleaned[:limit].rstrip(" .")


def video_stem(analysis: Analysis) -> str:
    return safe_name(os.path.splitext(analysis.video.original_name)[0])


def download_name(job: ExportJob) -> str:
    """``<video> - <storyline>.<ext>`` or ``<video> - <what>.<ext>`` for the whole analysis."""
    from exports.formats import get_format

    fmt = get_format(job.kind)
    assert fmt is not None, job.kind
    middle = safe_name(job.storyline.name) if job.storyline else fmt.analysis_file
    # A keyframes-only cut shows other footage: its name says so.
    suffix = " (keyframes)" if fmt.cut_mode and job.mode == ExportMode.COPY else ""
    return f"{video_stem(job.analysis)} - {middle}{suffix}{fmt.extension}"
