"""JSON for the timeline page: the whole analysis compactly, one scene's details, waveform."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from django.http import HttpResponse
from ninja import Router

from analysis.selectors import analysis_get_for_user
from frontend import insights, timeline, waveform
from videoanalyzer.http import AuthedRequest

router = Router(tags=["timeline"])


@router.get("/analyses/{analysis_id}/timeline", summary="Storylines and scenes for drawing")
def analysis_timeline(request: AuthedRequest, analysis_id: UUID) -> dict[str, Any]:
    return timeline.timeline_json(analysis_get_for_user(request.auth, analysis_id))


@router.get(
    "/analyses/{analysis_id}/timeline/scenes/{scene_id}",
    summary="One scene: transcript with words, captions, characters, interest, relevance…",
)
def timeline_scene(request: AuthedRequest, analysis_id: UUID, scene_id: str) -> dict[str, Any]:
    from story.selectors import scene_by_public_id

    analysis = analysis_get_for_user(request.auth, analysis_id)
    return timeline.scene_details(analysis, scene_by_public_id(analysis, scene_id))


@router.get(
    "/analyses/{analysis_id}/insights",
    summary="People with appearances, speakers with talk time, tags and on-screen text by scene",
)
def analysis_insights(request: AuthedRequest, analysis_id: UUID) -> dict[str, Any]:
    return insights.insights_json(analysis_get_for_user(request.auth, analysis_id))


@router.get("/analyses/{analysis_id}/waveform", summary="Peaks of the sound, 0..255")
def analysis_waveform(request: AuthedRequest, analysis_id: UUID) -> HttpResponse:
    import json

    analysis = analysis_get_for_user(request.auth, analysis_id)
    body = json.dumps(waveform.waveform_json(analysis.video), separators=(",", ":"))
    response = HttpResponse(body, content_type="application/json")
    response["Cache-Control"] = "private, max-age=86400"  # a video's sound never changes
    return response
