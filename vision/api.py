"""REST API of the vision app: search, the scene index and visually similar scenes."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from ninja import Router, Schema

from analysis.selectors import analysis_get_for_user
from videoanalyzer.http import AuthedRequest
from vision import selectors

router = Router(tags=["search"])


class SearchResult(Schema):
    analysis_id: str
    video_id: str
    video_name: str
    scene_id: str
    scene_index: int
    start_time: float
    end_time: float
    time: float
    snippet: str
    field: str
    matched_by: list[str]
    score: float
    url: str
    thumbnail_url: str | None


class SearchOut(Schema):
    query: str
    total: int
    typo_tolerance: str
    results: list[SearchResult]


class SimilarScene(Schema):
    scene_id: str
    index: int
    start_time: float
    similarity: float


@router.get("/search", response=SearchOut)
def search(
    request: AuthedRequest,
    q: str = "",
    analysis: UUID | None = None,
    video: UUID | None = None,
    limit: int = 20,
) -> dict[str, Any]:
    """Scenes of your videos matching ``q`` by words, near-spellings or meaning.

    ``analysis`` limits the search to one analysis, ``video`` to a video's latest analysis;
    without either the whole library (each video's latest completed analysis) is searched.
    """
    return selectors.search(request.auth, q, analysis_id=analysis, video_id=video, limit=limit)


@router.get("/analyses/{analysis_id}/index", response=list[dict[str, Any]])
def scene_index(request: AuthedRequest, analysis_id: UUID) -> list[dict[str, Any]]:
    """Per scene: ``scene_index`` ({objects, people, actions, text, sceneId}…) and visuals."""
    analysis = analysis_get_for_user(request.auth, analysis_id)
    return selectors.analysis_scene_index(analysis)


@router.get("/analyses/{analysis_id}/scenes/{number}/similar", response=list[SimilarScene])
def similar(request: AuthedRequest, analysis_id: UUID, number: int) -> list[Any]:
    """Scenes whose keyframes look like scene ``scene_<number>``'s (image embeddings)."""
    analysis = analysis_get_for_user(request.auth, analysis_id)
    return selectors.similar_scenes(analysis, selectors.scene_by_number(analysis, number))
