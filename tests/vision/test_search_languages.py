"""The scene index stems each transcript segment in its own language (issue 17)."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection
from django.test import Client

from analysis.models import Analysis, TranscriptSegment
from tests.fixtures_db import scenes_of, stored_video
from vision.models import SceneIndex
from vision.services import scene_index_build, scene_index_save

pytestmark = pytest.mark.django_db

SPOKEN = [
    ("en", "The fishermen were running to the river."),
    ("ru", "Рыбаки бежали к реке."),
    ("", "Subtitles of unknown language"),
]


def indexed_analysis(owner: Any) -> Analysis:
    video = stored_video(owner, 9.0, name="spoken.mp4")
    analysis = Analysis.objects.create(video=video, status="completed", parameters={})
    for scene, (language, text) in zip(scenes_of(analysis, len(SPOKEN)), SPOKEN, strict=True):
        TranscriptSegment.objects.create(
            analysis=analysis,
            scene=scene,
            start_time=scene.start_time + 0.5,
            end_time=scene.start_time + 2.5,
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
