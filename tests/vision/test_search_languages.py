"""The scene index stems each transcript segment in its own language (issue 17)."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from django.db import connection
from django.test import Client

from analysis.models import Analysis, Scene, TranscriptSegment, Video
from vision.models import SceneIndex
from vision.services import scene_index_build, scene_index_save

pytestmark = pytest.mark.django_db

SPOKEN = [
    ("en", "The fishermen were running to the river."),
    ("ru", "Рыбаки бежали к реке."),
    ("", "Subtitles of unknown language"),
]


def indexed_analysis(owner: Any) -> Analysis:
    video = Video.objects.create(
        owner=owner,
        file=f"videos/{owner.pk}/{uuid.uuid4()}/source.mp4",
        original_name="spoken.mp4",
        sha256=uuid.uuid4().hex * 2,
        duration=9.0,
        fps=25.0,
        frame_count=225,
        width=320,
        height=240,
        has_audio=True,
    )
    analysis = Analysis.objects.create(video=video, status="completed", parameters={})
    for index, (language, text) in enumerate(SPOKEN):
        scene = Scene.objects.create(
            analysis=analysis,
            index=index,
            start_time=index * 3.0,
            end_time=index * 3.0 + 3.0,
            start_frame=index * 75,
            end_frame=index * 75 + 75,
        )
        TranscriptSegment.objects.create(
            analysis=analysis,
            scene=scene,
            start_time=index * 3.0 + 0.5,
            end_time=index * 3.0 + 2.5,
            text=text,
            language=language,
        )
    scene_index_save(analysis, scene_index_build(analysis))
    return analysis


def lexemes(analysis: Analysis) -> list[set[str]]:
    rows = SceneIndex.objects.filter(analysis=analysis).order_by("scene__index")
    found = []
    with connection.cursor() as cursor:
        for row in rows:
            cursor.execute(
                "SELECT word FROM ts_stat(%s)",
                [f"SELECT search_vector FROM vision_sceneindex WHERE id = {int(row.pk)}"],
            )
            found.append({word for (word,) in cursor.fetchall()})
    return found


def test_each_segment_is_stemmed_in_its_own_language(user: Any) -> None:
    english, russian, unknown = lexemes(indexed_analysis(user))
    # English: stemmed, stopwords dropped, and not indexed again word for word as Russian.
    assert {"fishermen", "run", "river"} <= english
    assert not {"the", "running", "were"} & english
    # Russian: Snowball's Russian stems, not the inflected forms.
    assert {"рыбак", "бежа", "рек"} <= russian
    assert not {"рыбаки", "реке"} & russian
    # Unknown language: both configurations, as before.
    assert {"subtitl", "unknown", "languag"} == unknown


def test_search_finds_an_inflected_russian_word(user: Any, alice: Client) -> None:
    analysis = indexed_analysis(user)
    body = alice.get("/api/search", {"q": "рыбак", "analysis": str(analysis.pk)}).json()
    assert body["results"] and body["results"][0]["scene_id"] == "scene_2"
