"""Read-only view data for the pages: what the templates and the page scripts start from.

Ownership checks live in ``analysis.selectors``; this module only shapes what they return.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.contrib.auth.models import User as AuthUser
from django.urls import reverse

from analysis.models import Analysis, ApiToken, Scene, Video
from analysis.pipeline import DEFAULT_PIPELINE, load_stages
from analysis.pipeline.base import STAGES
from analysis.progress import progress_event
from analysis.selectors import User, analysis_latest, videos_for_user


@dataclass(frozen=True)
class VideoRow:
    """One line of the library: a video and the newest analysis of it, if any."""

    video: Video
    latest: Analysis | None

    @property
    def analysis_url(self) -> str | None:
        return reverse("frontend:analysis", args=[self.latest.pk]) if self.latest else None

    @property
    def duration_label(self) -> str:
        return clock(self.video.duration)

    @property
    def status(self) -> str:
        return self.latest.status if self.latest else "none"

    @property
    def status_label(self) -> str:
        return status_label(self.latest)

    @property
    def thumbnail_url(self) -> str | None:
        return video_thumbnail_url(self.latest)

    @property
    def description_url(self) -> str | None:
        """The page of the video's latest audio description, if it has one."""
        job = self.video.description_jobs.order_by("-created_at").first()
        return reverse("describe:job", kwargs={"job_id": job.pk}) if job else None


# Where a video's card picture comes from: a fifth into the film, past black openings and titles.
THUMBNAIL_AT = 0.2


def video_thumbnail_url(analysis: Analysis | None) -> str | None:
    """A scene picture of the analysis for the library, or None before there are scenes."""
    if analysis is None:
        return None
    at = analysis.video.duration * THUMBNAIL_AT
    scenes = Scene.objects.filter(analysis=analysis).exclude(thumbnail="")
    scene = scenes.filter(start_time__lte=at).order_by("-start_time").first() or scenes.first()
    return scene.thumbnail.url if scene else None


def clock(seconds: float) -> str:
    """Whole seconds as ``m:ss`` or ``h:mm:ss`` (a video's length in a list)."""
    total = max(round(seconds), 0)
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def status_label(analysis: Analysis | None) -> str:
    if analysis is None:
        return "Not analysed"
    label = str(analysis.get_status_display())
    if analysis.is_active and analysis.progress > 0:
        return f"{label} · {round(analysis.progress * 100)} %"
    return label


def library_rows(user: User) -> list[VideoRow]:
    return [VideoRow(video=video, latest=analysis_latest(video)) for video in videos_for_user(user)]


def library_page_data() -> dict[str, Any]:
    """The JSON the library page script starts from."""
    return {
        "max_upload_bytes": settings.MAX_UPLOAD_BYTES,
        "urls": {
            "videos": reverse("api:video_list"),
            "video_analyses": _url_template("api:analysis_create", "video_id"),
            "video": _url_template("api:video_detail", "video_id"),
            "analysis_page": _url_template("frontend:analysis", "analysis_id"),
            "video_page": _url_template("frontend:video", "video_id"),
            "describe": _url_template("api:describe_video", "video_id"),
        },
    }


_PLACEHOLDER_UUID = "00000000-0000-0000-0000-000000000000"


def _url_template(name: str, kwarg: str) -> str:
    """The URL of ``name`` with ``{id}`` where the object's id goes, for the page scripts."""
    return reverse(name, kwargs={kwarg: _PLACEHOLDER_UUID}).replace(_PLACEHOLDER_UUID, "{id}")


def _api_url(name: str, analysis: Analysis) -> str:
    return reverse(f"api:{name}", kwargs={"analysis_id": analysis.pk})


def stage_labels() -> dict[str, str]:
    """Stage name → label shown while it runs (the polling fallback only gets the name)."""
    load_stages()
    return {name: stage.label for name, stage in STAGES.items()}


def pipeline_steps(analysis: Analysis, labels: dict[str, str]) -> list[dict[str, str]]:
    """The stages this analysis runs, in order, for the step list beside the progress bar."""
    names = analysis.parameters.get("stages") or DEFAULT_PIPELINE
    return [{"name": name, "label": labels.get(name, name)} for name in names]


def analysis_page_data(analysis: Analysis) -> dict[str, Any]:
    """The JSON the analysis page script starts from (rendered with ``json_script``)."""
    labels = stage_labels()
    video = analysis.video
    state = dict(progress_event(analysis))
    state["stage_label"] = state["stage_label"] or labels.get(analysis.current_stage, "")
    return {
        "analysis_id": str(analysis.pk),
        "video_id": str(video.pk),
        "video_url": video.file.url if video.file else "",
        "duration": video.duration,
        "duration_label": clock(video.duration),
        "num_storylines": analysis.num_storylines,
        "state": state,
        "stage_labels": labels,
        "steps": pipeline_steps(analysis, labels),
        "urls": {
            "analysis": _api_url("analysis_detail", analysis),
            "cancel": _api_url("analysis_cancel", analysis),
            "rerun": _api_url("analysis_rerun", analysis),
            "new_analysis": reverse("api:analysis_create", kwargs={"video_id": video.pk}),
            "scenes": _api_url("analysis_scenes", analysis),
            "storylines": _api_url("analysis_storylines", analysis),
            "insights": _api_url("analysis_insights", analysis),
            "result_file": _api_url("analysis_result_file", analysis),
            "socket": f"/ws/analyses/{analysis.pk}/",  # Channels routes have no reverse()
            "analysis_page": _url_template("frontend:analysis", "analysis_id"),
            "library": reverse("frontend:library"),
        },
    }


_PLACEHOLDER_INT = 987654321


def _story_url(name: str, analysis: Analysis, **kwargs: Any) -> str:
    """A story/exports API URL with ``{scene}`` / ``{storyline}`` where the page fills ids in."""
    values: dict[str, Any] = {"analysis_id": analysis.pk}
    if "scene" in kwargs:
        values["scene_id"] = "SCENEPLACEHOLDER"
    if "storyline" in kwargs:
        values["storyline_id"] = _PLACEHOLDER_INT
    url = reverse(f"api:{name}", kwargs=values)
    return url.replace("SCENEPLACEHOLDER", "{scene}").replace(str(_PLACEHOLDER_INT), "{storyline}")


def timeline_page_data(analysis: Analysis) -> dict[str, Any]:
    """The JSON the timeline page script starts from (rendered with ``json_script``)."""
    video = analysis.video
    export_url = reverse("api:export_detail", kwargs={"job_id": _PLACEHOLDER_UUID})
    return {
        "analysis_id": str(analysis.pk),
        "video_url": video.file.url if video.file else "",
        "duration": video.duration,
        "duration_label": clock(video.duration),
        "urls": {
            "timeline": _api_url("analysis_timeline", analysis),
            "scene": _story_url("timeline_scene", analysis, scene=True),
            "transcript": _api_url("analysis_transcript", analysis),
            "waveform": _api_url("analysis_waveform", analysis),
            "analysis": _api_url("analysis_detail", analysis),
            "move": _story_url("move_scene", analysis, scene=True),
            "create": _story_url("create_storyline", analysis),
            "storyline": _story_url("update_storyline", analysis, storyline=True),
            "split": _story_url("split_storyline", analysis, storyline=True),
            "merge": _story_url("merge_storylines", analysis, storyline=True),
            "undo": _api_url("timeline_undo", analysis),
            "redo": _api_url("timeline_redo", analysis),
            "cuts": _api_url("cuts_list", analysis),
            "cut_add": _api_url("cut_add", analysis),
            "cut_remove": _api_url("cut_remove", analysis),
            "cut_move": _api_url("cut_move", analysis),
            "exports": _api_url("export_list", analysis),
            "export": export_url.replace(_PLACEHOLDER_UUID, "{id}"),
            "keyframe_cut": _api_url("export_keyframe_cut", analysis),
            "export_formats": reverse("api:export_formats"),
            "socket": f"/ws/analyses/{analysis.pk}/",
            "analysis_page": reverse("frontend:analysis", args=[analysis.pk]),
        },
    }


def api_tokens_for_user(user: AuthUser) -> list[dict[str, Any]]:
    """The user's API tokens for the tokens page: name, the key's first characters, created."""
    tokens = ApiToken.objects.filter(user=user).order_by("-created_at", "-pk")
    return [
        {
            "id": t.pk,
            "name": t.name or f"token {t.pk}",
            "prefix": t.prefix,
            "created_at": t.created_at,
        }
        for t in tokens
    ]
