"""Reads of the exports app: ownership-checked jobs, the cache fingerprint, what to export."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

from django.db.models import QuerySet
from django.urls import reverse

from analysis.models import Analysis, Scene
from analysis.selectors import User, owned_or_404
from exports.models import ExportJob
from story.models import Storyline, StorylineScene


def export_get_for_user(user: User, job_id: Any) -> ExportJob:
    """The user's export job; 404 for anyone else's (the download URL too)."""
    queryset = ExportJob.objects.select_related("analysis__video", "storyline")
    return owned_or_404(queryset, "analysis__video__owner_id", user, job_id, "export")


def exports_for_analysis(analysis: Analysis) -> QuerySet[ExportJob]:
    return analysis.export_jobs.select_related("storyline").order_by("-created_at")


def analysis_fingerprint(analysis: Analysis) -> str:
    """A hash of everything in the analysis an export shows: the source video, scenes, who is
    in which storyline, names and colours, and the transcript's text and times. Any correction
    changes it; nothing else does. ``export_fingerprint`` adds what the export's own settings
    shape."""
    scenes = list(
        Scene.objects.filter(analysis=analysis)
        .order_by("index")
        .values_list("index", "start_time", "end_time")
    )
    members = sorted(
        StorylineScene.objects.filter(scene__analysis=analysis).values_list(
            "scene__index", "storyline_id", "relevance"
        )
    )
    storylines = list(
        Storyline.objects.filter(analysis=analysis)
        .order_by("order")
        .values_list("id", "name", "color", "order", "description")
    )
    segments = hashlib.sha256(
        json.dumps(
            list(
                analysis.segments.order_by("start_time").values_list(
                    "start_time", "end_time", "text"
                )
            ),
            default=str,
        ).encode()
    ).hexdigest()
    video = analysis.video
    source = [video.file.name, video.fps, video.duration, video.has_audio, video.original_name]
    state = [str(analysis.pk), source, scenes, members, storylines, segments]
    return hashlib.sha256(json.dumps(state, default=str).encode()).hexdigest()


def export_fingerprint(state: str, kind: str) -> str:
    """The cache key of a ``kind`` export of an analysis in ``state`` (its
    ``analysis_fingerprint``): that state, the format's version and the export settings
    (media URL root, record start, encoder)."""
    from exports.conf import setting
    from exports.formats import get_format

    fmt = get_format(kind)
    settings = [str(setting(name)) for name in ("EXPORT_MEDIA_ROOT", "EXPORT_RECORD_START")]
    settings.append(str(setting("EXPORT_DEVICE")))
    key = [state, kind, fmt.version if fmt else 0, settings]
    return hashlib.sha256(json.dumps(key).encode()).hexdigest()


@dataclass(frozen=True)
class SceneRow:
    public_id: str
    index: int
    start: float
    end: float
    relevance: float


@dataclass(frozen=True)
class StorylinePlan:
    """A storyline's scenes in film order, as the exports need them."""

    pk: int
    number: int  # 1-based, as ``storyline_N`` in the result JSON
    name: str
    color: str
    scenes: list[SceneRow]


def storyline_plans(analysis: Analysis) -> list[StorylinePlan]:
    members: dict[int, list[SceneRow]] = {}
    rows = (
        StorylineScene.objects.filter(scene__analysis=analysis)
        .select_related("scene")
        .order_by("scene__index")
    )
    for m in rows:
        scene = m.scene
        members.setdefault(m.storyline_id, []).append(
            SceneRow(scene.public_id, scene.index, scene.start_time, scene.end_time, m.relevance)
        )
    return [
        StorylinePlan(s.pk, n, s.name, s.color, members.get(s.pk, []))
        for n, s in enumerate(Storyline.objects.filter(analysis=analysis).order_by("order"), 1)
    ]


def segments_json(analysis: Analysis) -> list[dict[str, Any]]:
    """Transcript segments with their words, in time order."""
    rows = analysis.segments.order_by("start_time").values(
        "start_time", "end_time", "text", "words", "language"
    )
    return [dict(row) for row in rows]


def job_json(job: ExportJob, current_fingerprint: str | None = None) -> dict[str, Any]:
    from exports.formats import get_format  # the formats build on these selectors

    fmt = get_format(job.kind)
    done = job.status == "completed"
    return {
        "id": str(job.pk),
        "analysis_id": str(job.analysis_id),
        "storyline_id": job.storyline_id,
        "storyline_name": job.storyline.name if job.storyline else None,
        "kind": job.kind,
        "kind_label": fmt.label if fmt else job.kind,
        "mode": job.mode,
        "status": job.status,
        "progress": round(job.progress, 4),
        "message": job.message,
        "error": job.error,
        "filename": job.filename,
        "content_type": job.content_type,
        "size_bytes": job.size_bytes,
        "download_url": reverse("api:export_download", kwargs={"job_id": job.pk}) if done else None,
        # Made before the analysis (or the export settings) changed: remake it.
        "stale": current_fingerprint is not None
        and job.fingerprint != export_fingerprint(current_fingerprint, job.kind),
        "metadata": job.metadata,
        "created_at": job.created_at.isoformat() if job.created_at else None,
        "finished_at": job.finished_at.isoformat() if job.finished_at else None,
    }
