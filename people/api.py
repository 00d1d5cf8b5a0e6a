"""REST API of the people app: characters and speakers of an analysis, named and merged by editors.

Every lookup goes through the owner: another user's analysis, character or speaker is a 404.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from ninja import Field, Router, Schema

from analysis import selectors as analysis_selectors
from people import selectors, services
from people.models import Character, Speaker
from videoanalyzer.http import AuthedRequest, Detail

router = Router(tags=["people"])


class Box(Schema):
    x: int
    y: int
    w: int
    h: int


class AppearanceOut(Schema):
    scene_id: str
    scene_index: int
    start_time: float
    end_time: float
    frame_time: float
    box: Box
    score: float


class CharacterOut(Schema):
    id: int
    label: str
    name: str
    display_name: str
    confidence: float
    thumbnail_url: str | None
    scene_ids: list[str]
    appearances: list[AppearanceOut]


class TurnOut(Schema):
    scene_id: str
    start_time: float
    end_time: float
    text: str


class SpeakerOut(Schema):
    id: int
    label: str
    name: str
    display_name: str
    confidence: float
    scene_ids: list[str]
    turns: list[TurnOut]


class NameIn(Schema):
    name: str = Field(max_length=services.NAME_MAX)


class PersonMergeIn(Schema):
    into: int


def _character_out(character: Character) -> dict[str, Any]:
    appearances = sorted(character.appearances.all(), key=lambda a: (a.start_time, a.x))
    scenes = sorted({a.scene.index: a.scene.public_id for a in appearances}.items())
    return {
        "id": character.pk,
        "label": character.label,
        "name": character.name,
        "display_name": character.display_name,
        "confidence": character.confidence,
        "thumbnail_url": character.thumbnail.url if character.thumbnail else None,
        "scene_ids": [public for _index, public in scenes],
        "appearances": [
            {
                "scene_id": a.scene.public_id,
                "scene_index": a.scene.index,
                "start_time": a.start_time,
                "end_time": a.end_time,
                "frame_time": a.frame_time,
                "box": {"x": a.x, "y": a.y, "w": a.w, "h": a.h},
                "score": a.score,
            }
            for a in appearances
        ],
    }


def _speaker_out(speaker: Speaker) -> dict[str, Any]:
    turns = sorted(speaker.turns.all(), key=lambda t: t.start_time)
    scenes = sorted({t.scene.index: t.scene.public_id for t in turns}.items())
    return {
        "id": speaker.pk,
        "label": speaker.label,
        "name": speaker.name,
        "display_name": speaker.display_name,
        "confidence": speaker.confidence,
        "scene_ids": [public for _index, public in scenes],
        "turns": [
            {
                "scene_id": t.scene.public_id,
                "start_time": t.start_time,
                "end_time": t.end_time,
                "text": t.segment.text.strip(),
            }
            for t in turns
        ],
    }


def _fresh_character(character: Character) -> dict[str, Any]:
    return _character_out(
        selectors.characters_with_appearances(character.analysis).get(pk=character.pk)
    )


def _fresh_speaker(speaker: Speaker) -> dict[str, Any]:
    return _speaker_out(selectors.speakers_with_turns(speaker.analysis).get(pk=speaker.pk))


@router.get("/analyses/{analysis_id}/characters", response=list[CharacterOut])
def analysis_characters(request: AuthedRequest, analysis_id: UUID) -> list[dict[str, Any]]:
    analysis = analysis_selectors.analysis_get_for_user(request.auth, analysis_id)
    return [_character_out(c) for c in selectors.characters_with_appearances(analysis)]


@router.patch("/characters/{character_id}", response={200: CharacterOut, 400: Detail})
def character_rename(request: AuthedRequest, character_id: int, payload: NameIn) -> Any:
    character = selectors.character_get_for_user(request.auth, character_id)
    services.character_rename(character=character, name=payload.name)
    return 200, _fresh_character(character)


@router.post("/characters/{character_id}/merge", response={200: CharacterOut, 400: Detail})
def character_merge(request: AuthedRequest, character_id: int, payload: PersonMergeIn) -> Any:
    """Merge this character into ``into``; returns the merged character."""
    character = selectors.character_get_for_user(request.auth, character_id)
    into = selectors.character_get_for_user(request.auth, payload.into)
    merged = services.character_merge(character=character, into=into)
    return 200, _fresh_character(merged)


@router.get("/analyses/{analysis_id}/speakers", response=list[SpeakerOut])
def analysis_speakers(request: AuthedRequest, analysis_id: UUID) -> list[dict[str, Any]]:
    analysis = analysis_selectors.analysis_get_for_user(request.auth, analysis_id)
    return [_speaker_out(s) for s in selectors.speakers_with_turns(analysis)]


@router.patch("/speakers/{speaker_id}", response={200: SpeakerOut, 400: Detail})
def speaker_rename(request: AuthedRequest, speaker_id: int, payload: NameIn) -> Any:
    speaker = selectors.speaker_get_for_user(request.auth, speaker_id)
    services.speaker_rename(speaker=speaker, name=payload.name)
    return 200, _fresh_speaker(speaker)


@router.post("/speakers/{speaker_id}/merge", response={200: SpeakerOut, 400: Detail})
def speaker_merge(request: AuthedRequest, speaker_id: int, payload: PersonMergeIn) -> Any:
    """Merge this speaker into ``into``; returns the merged speaker."""
    speaker = selectors.speaker_get_for_user(request.auth, speaker_id)
    into = selectors.speaker_get_for_user(request.auth, payload.into)
    merged = services.speaker_merge(speaker=speaker, into=into)
    return 200, _fresh_speaker(merged)
