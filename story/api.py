"""REST API of the story app: graph, relevance, interest, storyline corrections, preferences.

Every path names the analysis; another user's analysis is a 404. Corrections answer with the
new storyline state (``StoryState``) and are pushed to ``/ws/analyses/<id>/`` as a
``storyline.changed`` event. A correction while the analysis runs is a 409.
"""

from __future__ import annotations

from typing import Any, Literal
from uuid import UUID

from ninja import Query, Router, Schema
from pydantic import Field

from analysis.selectors import analysis_get_for_user
from story import selectors, services
from story.presets import PRESET_CHOICES
from videoanalyzer.errors import InvalidParameter
from videoanalyzer.http import AuthedRequest, error_responses, tab_id

router = Router(tags=["storylines"])
COLOR_PATTERN = r"^#[0-9a-fA-F]{6}$"


class MoveIn(Schema):
    storyline_id: int | None = Field(
        description="Target storyline id; null puts the scene in no storyline."
    )


class SplitIn(Schema):
    scene_ids: list[str] = Field(description="Scenes (e.g. scene_4) that form the new storyline.")
    name: str | None = Field(default=None, max_length=200)


class MergeIn(Schema):
    into_id: int = Field(description="The storyline that receives the scenes and stays.")


class StorylinePatch(Schema):
    name: str | None = Field(default=None, min_length=1, max_length=200)
    color: str | None = Field(default=None, pattern=COLOR_PATTERN)
    description: str | None = Field(default=None, max_length=5000)


class StorylineCreate(Schema):
    name: str = Field(min_length=1, max_length=200)
    color: str | None = Field(default=None, pattern=COLOR_PATTERN)
    scene_ids: list[str] = Field(default_factory=list)


class RegroupIn(Schema):
    num_storylines: int | None = Field(default=None, ge=1, le=50, description="null: automatic")
    preset: str | None = Field(default=None, description=f"one of {', '.join(PRESET_CHOICES)}")


class PreferencesIn(Schema):
    learn_from_edits: bool


def _user(request: AuthedRequest) -> Any:
    return request.auth  # type: ignore[attr-defined]  # set by ninja's authentication


def _analysis(request: AuthedRequest, analysis_id: UUID) -> Any:
    return analysis_get_for_user(_user(request), analysis_id)


def _run(request: AuthedRequest, analysis: Any, fn: Any, **kwargs: Any) -> tuple[int, Any]:
    """Apply a correction and return the new state with ``edit_id``, the correction made (or
    undone, redone): a refused one is a DomainError."""
    edit = fn(analysis=analysis, user=_user(request), tab=tab_id(request), **kwargs)
    analysis.refresh_from_db()
    return 200, {**selectors.story_state(analysis), "edit_id": edit.pk}


ERRORS = error_responses(400, 404, 409, 422)


@router.get("/analyses/{analysis_id}/graph", summary="Scene graph: nodes, weighted edges and why")
def graph(request: AuthedRequest, analysis_id: UUID, min_weight: float = 0.0) -> dict[str, Any]:
    return selectors.graph_json(_analysis(request, analysis_id), min_weight)


@router.get(
    "/analyses/{analysis_id}/scenes/{scene_id}/neighbours",
    summary="A scene's strongest neighbours in the graph, and why",
)
def scene_neighbours(
    request: AuthedRequest, analysis_id: UUID, scene_id: str, limit: int = 5
) -> list[dict[str, Any]]:
    analysis = _analysis(request, analysis_id)
    scene = selectors.scene_by_public_id(analysis, scene_id)
    return selectors.neighbours(analysis, scene, min(max(limit, 1), 50))


@router.get("/analyses/{analysis_id}/relevance", summary="Scene x storyline relevance matrix")
def relevance(request: AuthedRequest, analysis_id: UUID) -> dict[str, Any]:
    return selectors.relevance_json(_analysis(request, analysis_id))


class InterestQuery(Schema):
    order: Literal["time", "interest", "-interest"] = "time"
    min_interest: float | None = Field(default=None, ge=0, le=1)


@router.get("/analyses/{analysis_id}/interest", summary="Interest score of every scene, parts")
def interest(
    request: AuthedRequest, analysis_id: UUID, query: Query[InterestQuery]
) -> list[dict[str, Any]]:
    analysis = _analysis(request, analysis_id)
    return selectors.interest_list(analysis, query.order, query.min_interest)


@router.get("/analyses/{analysis_id}/story", summary="Storylines with locks, undo/redo state")
def story_state(request: AuthedRequest, analysis_id: UUID) -> dict[str, Any]:
    return selectors.story_state(_analysis(request, analysis_id))


@router.get(
    "/analyses/{analysis_id}/story/review",
    summary="Scenes to check: the grouping's least sure storyline choices, with reasons",
)
def story_review(
    request: AuthedRequest, analysis_id: UUID, everything: bool = False
) -> list[dict[str, Any]]:
    return selectors.review_list(_analysis(request, analysis_id), everything)


@router.get("/analyses/{analysis_id}/story/history", summary="Corrections, oldest first")
def story_history(request: AuthedRequest, analysis_id: UUID) -> list[dict[str, Any]]:
    return selectors.history(_analysis(request, analysis_id))


@router.post(
    "/analyses/{analysis_id}/story/scenes/{scene_id}/move",
    response={200: dict, **ERRORS},
    summary="Move a scene to a storyline (storyline_id null: in no storyline)",
)
def move_scene(
    request: AuthedRequest, analysis_id: UUID, scene_id: str, payload: MoveIn
) -> tuple[int, Any]:
    analysis = _analysis(request, analysis_id)
    scene = selectors.scene_by_public_id(analysis, scene_id)
    return _run(
        request, analysis, services.move_scene, scene=scene, storyline_id=payload.storyline_id
    )


@router.post(
    "/analyses/{analysis_id}/story/storylines",
    response={200: dict, **ERRORS},
    summary="Create a storyline, optionally moving scenes into it",
)
def create_storyline(
    request: AuthedRequest, analysis_id: UUID, payload: StorylineCreate
) -> tuple[int, Any]:
    analysis = _analysis(request, analysis_id)
    scenes = selectors.scenes_by_public_ids(analysis, payload.scene_ids)
    return _run(
        request,
        analysis,
        services.create_storyline,
        name=payload.name,
        color=payload.color,
        scenes=scenes,
    )


@router.patch(
    "/analyses/{analysis_id}/story/storylines/{storyline_id}",
    response={200: dict, **ERRORS},
    summary="Rename, recolour or re-describe a storyline",
)
def update_storyline(
    request: AuthedRequest, analysis_id: UUID, storyline_id: int, payload: StorylinePatch
) -> tuple[int, Any]:
    analysis = _analysis(request, analysis_id)
    changes = payload.model_dump(exclude_none=True)
    return _run(
        request, analysis, services.update_storyline, storyline_id=storyline_id, changes=changes
    )


@router.post(
    "/analyses/{analysis_id}/story/storylines/{storyline_id}/split",
    response={200: dict, **ERRORS},
    summary="Split: the given scenes of a storyline become a new storyline",
)
def split_storyline(
    request: AuthedRequest, analysis_id: UUID, storyline_id: int, payload: SplitIn
) -> tuple[int, Any]:
    analysis = _analysis(request, analysis_id)
    scenes = selectors.scenes_by_public_ids(analysis, payload.scene_ids)
    return _run(
        request,
        analysis,
        services.split_storyline,
        storyline_id=storyline_id,
        scenes=scenes,
        name=payload.name,
    )


@router.post(
    "/analyses/{analysis_id}/story/storylines/{storyline_id}/merge",
    response={200: dict, **ERRORS},
    summary="Merge a storyline into another (it disappears)",
)
def merge_storylines(
    request: AuthedRequest, analysis_id: UUID, storyline_id: int, payload: MergeIn
) -> tuple[int, Any]:
    analysis = _analysis(request, analysis_id)
    return _run(
        request,
        analysis,
        services.merge_storylines,
        storyline_id=storyline_id,
        into_id=payload.into_id,
    )


@router.post(
    "/analyses/{analysis_id}/story/undo",
    response={200: dict, **ERRORS},
    summary="Undo the latest correction",
)
def undo(request: AuthedRequest, analysis_id: UUID) -> tuple[int, Any]:
    return _run(request, _analysis(request, analysis_id), services.undo)


@router.post(
    "/analyses/{analysis_id}/story/redo",
    response={200: dict, **ERRORS},
    summary="Redo the earliest undone correction",
)
def redo(request: AuthedRequest, analysis_id: UUID) -> tuple[int, Any]:
    return _run(request, _analysis(request, analysis_id), services.redo)


@router.post(
    "/analyses/{analysis_id}/story/regroup",
    response={200: dict, **ERRORS},
    summary="Group the scenes again, keeping every correction as a constraint",
)
def regroup(request: AuthedRequest, analysis_id: UUID, payload: RegroupIn) -> tuple[int, Any]:
    analysis = _analysis(request, analysis_id)
    if payload.preset is not None and payload.preset not in PRESET_CHOICES:
        raise InvalidParameter(f"preset must be one of: {', '.join(PRESET_CHOICES)}.")
    return _run(
        request,
        analysis,
        services.regroup,
        num_storylines=payload.num_storylines,
        preset=payload.preset,
    )


@router.get("/story/preferences", summary="Whether corrections teach your next videos")
def preferences(request: AuthedRequest) -> dict[str, Any]:
    return selectors.preferences_json(_user(request))


@router.put("/story/preferences", summary="Opt in or out of learning from corrections")
def preferences_set(request: AuthedRequest, payload: PreferencesIn) -> dict[str, Any]:
    services.set_preferences(user=_user(request), learn_from_edits=payload.learn_from_edits)
    return selectors.preferences_json(_user(request))
