"""Faces after a cut edit: the touched scenes' faces are found again on their new pictures and
join the characters they look like, which keep their ids, names and other appearances.

Real faces (tests/fixtures_people.py: the astronaut in shots 1 and 4, Grace Hopper in 2 and 5,
nobody in 3) through the real runner: first the whole analysis, then the partial re-run.
"""

from __future__ import annotations

from typing import Any

import pytest

from analysis import services as analysis_services
from analysis.models import Analysis
from analysis.pipeline.runner import analysis_execute
from cuts import services
from people import services as people
from people.models import Character, FaceAppearance
from tests.fixtures_people import PeopleClip

pytestmark = [pytest.mark.django_db, pytest.mark.slow]
STAGES = ["probe", "shots", "keyframes", "faces"]


def appearances(analysis: Analysis) -> dict[int, set[tuple[int, int]]]:
    """Per character pk, its (appearance pk, scene pk)."""
    found: dict[int, set[tuple[int, int]]] = {}
    rows = FaceAppearance.objects.filter(character__analysis=analysis)
    for pk, character, scene in rows.values_list("pk", "character_id", "scene_id"):
        found.setdefault(character, set()).add((pk, scene))
    return found


def test_a_split_scene_s_faces_are_found_again_for_the_same_character(
    user: Any, people_clip: PeopleClip
) -> None:
    video = analysis_services.video_create_from_path(owner=user, path=people_clip.path)
    analysis = Analysis.objects.create(video=video, parameters={"stages": STAGES})
    done = analysis_execute(analysis_id=analysis.pk)
    assert done is not None and done.status == "completed", done and done.error
    scene4 = analysis.scenes.get(index=3)  # the astronaut again, 12 .. 16 s
    astronaut = Character.objects.filter(appearances__scene=scene4).distinct().get()
    people.character_rename(character=astronaut, name="Eileen")
    before = appearances(analysis)
    untouched = {c: {a for a in rows if a[1] != scene4.pk} for c, rows in before.items()}

    edit = services.add_cut(analysis=analysis, user=user, time=14.0)
    halves = set(edit.scene_ids)
    done = analysis_execute(analysis_id=analysis.pk)

    assert done is not None and done.status == "completed", done and done.error
    after = appearances(analysis)
    # The same two characters; the name kept; the other scenes' appearances are the same rows.
    assert set(after) == set(before) and len(after) == 2
    assert Character.objects.get(pk=astronaut.pk).name == "Eileen"
    for character, rows in untouched.items():
        assert {a for a in after[character] if a[1] not in halves} == rows
    # Both halves show the astronaut, found again (new rows), and nobody else.
    found = {scene for _pk, scene in after[astronaut.pk] if scene in halves}
    assert found == halves
    old = {pk for pk, _scene in before[astronaut.pk]}
    assert all(pk not in old for pk, scene in after[astronaut.pk] if scene in halves)
    others = {scene for c, rows in after.items() if c != astronaut.pk for _pk, scene in rows}
    assert not others & halves
    times = FaceAppearance.objects.filter(scene_id__in=halves).values_list(
        "scene__start_time", "scene__end_time", "frame_time"
    )
    assert all(start <= at < end for start, end, at in times)
