"""Reads: ownership-checked lookups and the JSON shapes of results."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, TypedDict, TypeVar

from django.conf import settings
from django.contrib.auth.base_user import AbstractBaseUser
from django.contrib.auth.models import AnonymousUser
from django.core.exceptions import ObjectDoesNotExist
from django.db.models import Model, Prefetch, QuerySet
from django.http import Http404
from django.utils import timezone

from analysis.extensions import audio_extras, scene_extras
from analysis.models import Analysis, Scene, TranscriptSegment, Video
from mediakit.probe import ALLOWED_EXTENSIONS
from story.models import StorylineScene

User = AbstractBaseUser | AnonymousUser
M = TypeVar("M", bound=Model)


def videos_for_user(user: User) -> QuerySet[Video]:
    if not user.is_authenticated:
        return Video.objects.none()
    return Video.objects.filter(owner_id=user.pk).prefetch_related(
        Prefetch(
            "analyses",
            queryset=Analysis.objects.order_by("-created_at"),
            to_attr="analyses_newest_first",
        )
    )


def owned_or_404(queryset: QuerySet[M], owner_path: str, user: User, pk: Any, noun: str) -> M:
    """The row ``pk`` if ``user`` owns it through ``owner_path``, else 404.

    Anyone else's id, an unknown id and a malformed id all get the same answer, so ids reveal
    nothing about other users' things.
    """
    try:
        return queryset.get(pk=pk, **{owner_path: getattr(user, "pk", None)})
    except (ObjectDoesNotExist, ValueError, TypeError) as exc:
        raise Http404(f"No such {noun}.") from exc


def video_get_for_user(user: User, video_id: Any) -> Video:
    return owned_or_404(Video.objects.all(), "owner_id", user, video_id, "video")


def analysis_get_for_user(user: User, analysis_id: Any) -> Analysis:
    queryset = Analysis.objects.select_related("video")
    return owned_or_404(queryset, "video__owner_id", user, analysis_id, "analysis")


def analysis_latest(video: Video) -> Analysis | None:
    cached = getattr(video, "analyses_newest_first", None)
    if cached is not None:
        return cached[0] if cached else None
    return video.analyses.order_by("-created_at").first()


def scenes_with_details(analysis: Analysis) -> list[Scene]:
    """Scenes in order with audio, transcript segments and storyline memberships loaded."""
    return list(
        analysis.scenes.select_related("audio")
        .prefetch_related(
            Prefetch("segments", queryset=TranscriptSegment.objects.order_by("start_time")),
            Prefetch("memberships", queryset=StorylineScene.objects.select_related("storyline")),
        )
        .order_by("index")
    )


def scene_transcript(scene: Scene) -> str:
    return " ".join(seg.text.strip() for seg in scene.segments.all() if seg.text.strip())


def scene_primary_storyline_id(scene: Scene) -> int | None:
    members = sorted(scene.memberships.all(), key=lambda m: -m.relevance)
    return members[0].storyline_id if members else None


def sample_videos() -> list[str]:
    """Video files in the samples folder (the original service's ``sample-videos``)."""
    folder = Path(settings.SAMPLES_DIR)
    if not folder.is_dir():
        return []
    return sorted(
        entry.name
        for entry in os.scandir(folder)
        if entry.is_file() and Path(entry.name).suffix.lower() in ALLOWED_EXTENSIONS
    )


def sample_video_path(filename: str) -> Path | None:
    """The sample's path, only for a plain name that is listed (no traversal possible)."""
    return Path(settings.SAMPLES_DIR) / filename if filename in sample_videos() else None


# --- The original service's JSON shapes ----------------------------------------------------------


class AudioFeaturesJSON(TypedDict):
    rms_energy: float
    spectral_centroid_mean: float
    zero_crossing_rate: float
    tempo: float
    # Ours, beside the original keys (BS.1770-4 / EBU R128; None: silent or too short).
    loudness_lufs: float | None
    momentary_max_lufs: float | None
    loudness_range_lu: float | None


def scene_languages(segments: list[TranscriptSegment]) -> list[str]:
    """The languages spoken in a scene's ``segments``, the most spoken (in seconds) first."""
    seconds: dict[str, float] = {}
    for segment in segments:
        if segment.language:
            spoken = segment.end_time - segment.start_time
            seconds[segment.language] = seconds.get(segment.language, 0.0) + spoken
    return sorted(seconds, key=lambda language: -seconds[language])


def _audio_json(scene: Scene, extra: dict[str, Any] | None = None) -> dict[str, Any]:
    audio = getattr(scene, "audio", None)
    features: AudioFeaturesJSON | None = None
    if audio is not None:
        features = AudioFeaturesJSON(
            rms_energy=audio.rms_energy,
            spectral_centroid_mean=audio.spectral_centroid_mean,
            zero_crossing_rate=audio.zero_crossing_rate,
            tempo=audio.tempo,
            loudness_lufs=audio.loudness_lufs,
            momentary_max_lufs=audio.momentary_max_lufs,
            loudness_range_lu=audio.loudness_range_lu,
        )
    languages = scene_languages(list(scene.segments.all()))
    return {
        "transcript": scene_transcript(scene),
        "language": languages[0] if languages else None,
        "languages": languages,
        "audio_features": features,
        "speakers": None,
        "emotions": None,
        **(extra or {}),
    }


def scene_json(
    scene: Scene, extra: dict[str, Any] | None = None, audio: dict[str, Any] | None = None
) -> dict[str, Any]:
    return {
        "id": scene.public_id,
        "start_time": round(scene.start_time, 3),
        "end_time": round(scene.end_time, 3),
        "duration": round(scene.duration, 3),
        "start_frame": scene.start_frame,
        "end_frame": scene.end_frame,
        "audio_analysis": _audio_json(scene, audio),
        **(extra or {}),
    }


def segment_json(segment: TranscriptSegment, scene: Scene) -> dict[str, Any]:
    return {
        "scene_id": scene.public_id,
        "start_time": round(segment.start_time, 3),
        "end_time": round(segment.end_time, 3),
        "text": segment.text.strip(),
        "start_in_scene": round(segment.start_time - scene.start_time, 3),
        "end_in_scene": round(segment.end_time - scene.start_time, 3),
    }


def _storylines_json(analysis: Analysis, scenes: list[Scene]) -> list[dict[str, Any]]:
    extras, audio = scene_extras(scenes), audio_extras(scenes)
    by_storyline: dict[int, list[Scene]] = {}
    for scene in scenes:
        for member in scene.memberships.all():
            by_storyline.setdefault(member.storyline_id, []).append(scene)
    result = []
    for order, storyline in enumerate(analysis.storylines.order_by("order"), start=1):
        members = sorted(by_storyline.get(storyline.pk, []), key=lambda s: s.index)
        start = min((s.start_time for s in members), default=0.0)
        end = max((s.end_time for s in members), default=0.0)
        result.append(
            {
                "id": f"storyline_{order}",
                "name": storyline.name,
                "description": storyline.description,
                "scenes": [scene_json(s, extras.get(s.pk), audio.get(s.pk)) for s in members],
                "duration": round(sum(s.duration for s in members), 3),
                "start_time": round(start, 3),
                "end_time": round(end, 3),
            }
        )
    return result


def analysis_result(analysis: Analysis) -> dict[str, Any]:
    """The ``result`` object of the original ``GET /api/analysis/{task_id}``."""
    scenes = scenes_with_details(analysis)
    video = analysis.video
    segments = [segment_json(seg, scene) for scene in scenes for seg in scene.segments.all()]
    return {
        "video_filename": video.original_name,
        "duration": video.duration,
        "total_scenes": len(scenes),
        "storylines": _storylines_json(analysis, scenes),
        "segments": segments,
        "timestamp": (analysis.finished_at or timezone.now()).isoformat(),
        "metadata": {
            "fps": video.fps,
            "size": [video.width, video.height],
            "analysis_time_seconds": analysis.analysis_time_seconds,
            "stage_seconds": analysis.metadata.get("stage_seconds", {}),
            "language": analysis.metadata.get("language"),
            "loudness": analysis.metadata.get("loudness"),
            "parameters": analysis.parameters,
        },
    }


ORIGINAL_STATUS = {"queued": "processing", "running": "processing"}


def analysis_status_json(analysis: Analysis) -> dict[str, Any]:
    """The original endpoint's body: progress while running, the result when completed."""
    if analysis.status == "completed":
        return {
            "status": "completed",
            "task_id": str(analysis.id),
            "result": analysis_result(analysis),
        }
    body: dict[str, Any] = {
        "status": ORIGINAL_STATUS.get(analysis.status, analysis.status),
        "message": analysis.error or analysis.message,
        "progress": round(analysis.progress, 4),
        "last_updated": analysis.updated_at.isoformat(),
    }
    return body


def analysis_result_path(analysis: Analysis) -> Path:
    return Path(settings.RESULTS_DIR) / f"{analysis.id}.json"


def analysis_result_write(analysis: Analysis, result: dict[str, Any]) -> Path:
    """Keep the result as a JSON file too (the original kept them in ``results/``)."""
    path = analysis_result_path(analysis)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(result, ensure_ascii=False, indent=2), encoding="utf-8")
    tmp.replace(path)
    return path


def analysis_result_json_text(analysis: Analysis) -> str:
    """The stored result file when there is one, else the result built now."""
    path = analysis_result_path(analysis)
    if analysis.status == "completed" and path.exists():
        return path.read_text(encoding="utf-8")
    return json.dumps(analysis_status_json(analysis), ensure_ascii=False, indent=2)


def storylines_summary(analysis: Analysis) -> list[dict[str, Any]]:
    scenes = {s.pk: s for s in analysis.scenes.all()}
    result = []
    for storyline in analysis.storylines.prefetch_related("memberships").order_by("order"):
        members = sorted(
            (scenes[m.scene_id] for m in storyline.memberships.all()), key=lambda s: s.index
        )
        result.append(
            {
                "id": storyline.pk,
                "name": storyline.name,
                "description": storyline.description,
                "color": storyline.color,
                "order": storyline.order,
                "scene_ids": [s.public_id for s in members],
                "duration": round(sum(s.duration for s in members), 3),
                "start_time": min((s.start_time for s in members), default=0.0),
                "end_time": max((s.end_time for s in members), default=0.0),
            }
        )
    return result


def transcript_segments(analysis: Analysis, *, language: str | None = None) -> list[dict[str, Any]]:
    segments = analysis.segments.select_related("scene").order_by("start_time")
    if language:
        segments = segments.filter(language=language.strip().lower())
    return [
        {
            **segment_json(seg, seg.scene),
            "language": seg.language,
            "language_probability": seg.language_probability,
            "words": seg.words,
        }
        for seg in segments
    ]


SUBTITLE_TYPES = {"srt": "application/x-subrip", "vtt": "text/vtt"}


def transcript_subtitles(
    analysis: Analysis, fmt: str, *, language: str | None = None
) -> tuple[str, str, str]:
    """(text, content type, file name) of the transcript as ``srt`` or ``vtt`` subtitles, each
    line with its language (``analysis.subtitles``); ``language`` keeps that language's lines.
    A file of one language is named ``….<lang>.<fmt>``, the convention players pick a track's
    language by."""
    from analysis.subtitles import Cue, to_srt, to_vtt

    segments = analysis.segments.order_by("start_time")
    if language:
        language = language.strip().lower()
        segments = segments.filter(language=language)
    rows = segments.values_list("start_time", "end_time", "text", "language")
    cues = [Cue(start, end, text, spoken) for start, end, text, spoken in rows]
    if fmt == "srt":
        text = to_srt(cues)
    else:
        text = to_vtt(cues, language or str(analysis.metadata.get("language") or ""))
    spoken = {cue.language for cue in cues if cue.language}
    suffix = f".{spoken.pop()}" if len(spoken) == 1 else ""
    return text, f"{SUBTITLE_TYPES[fmt]}; charset=utf-8", f"transcript-{analysis.id}{suffix}.{fmt}"


def media_path_allowed(user: User, name: str) -> bool:
    """Whether ``user`` may read the stored file ``name`` (a video or an analysis's images)."""
    parts = name.split("/")
    if not user.is_authenticated or ".." in parts or len(parts) < 3:
        return False
    if parts[0] == "videos" and (video_id := _uuid_or_none(parts[2])):
        return Video.objects.filter(pk=video_id, owner_id=user.pk).exists()
    if parts[0] == "analyses" and (analysis_id := _uuid_or_none(parts[1])):
        return Analysis.objects.filter(pk=analysis_id, video__owner_id=user.pk).exists()
    return False


def _uuid_or_none(value: str) -> str | None:
    import uuid

    try:
        return str(uuid.UUID(value))
    except ValueError:
        return None
