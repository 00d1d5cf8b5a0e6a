"""The migration that moves ``Storyline``/``StorylineScene`` to the story app keeps every row.

Run like django-test-migrations does: migrate the database back to before the move, write rows
with the historical models of that state, migrate forwards, read them with the new owner's
models (and through the foreign keys of story and exports), then back again.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

BEFORE = [
    ("analysis", "0005_segment_language_probability"),
    ("story", "0001_initial"),
    ("exports", "0002_plain_kind_and_mode"),
]
AFTER = [
    ("analysis", "0006_storylines_moved_to_story"),
    ("story", "0002_storyline_from_analysis"),
    ("exports", "0003_storyline_in_story"),
]


def migrate(targets: list[tuple[str, str]]) -> Any:
    """Migrate to ``targets``; the historical apps of that state."""
    executor = MigrationExecutor(connection)
    executor.migrate(targets)
    return MigrationExecutor(connection).loader.project_state(targets).apps


@pytest.fixture
def back_to_latest(transactional_db: None) -> Iterator[None]:
    yield
    executor = MigrationExecutor(connection)
    executor.migrate(executor.loader.graph.leaf_nodes())


def seed(apps: Any, owner: str) -> dict[str, Any]:
    """A video with two storylines over three scenes, a lock, relevances and an export."""
    user = apps.get_model("auth", "User").objects.create(username="move-test")
    video = apps.get_model("analysis", "Video").objects.create(
        owner=user,
        original_name="film.mp4",
        sha256="0" * 64,
        duration=9.0,
        fps=25.0,
        frame_count=225,
        width=320,
        height=240,
    )
    analysis = apps.get_model("analysis", "Analysis").objects.create(video=video)
    scene_model = apps.get_model("analysis", "Scene")
    scenes = [
        scene_model.objects.create(
            analysis=analysis,
            index=i,
            start_time=3.0 * i,
            end_time=3.0 * i + 3,
            start_frame=75 * i,
            end_frame=75 * i + 75,
        )
        for i in range(3)
    ]
    line_model = apps.get_model(owner, "Storyline")
    chase = line_model.objects.create(analysis=analysis, name="Chase", color="#e15759", order=0)
    talk = line_model.objects.create(analysis=analysis, name="Talk", order=1)
    member = apps.get_model(owner, "StorylineScene")
    for scene, line, source in zip(
        scenes, (chase, talk, chase), ("auto", "editor", "auto"), strict=True
    ):
        member.objects.create(storyline=line, scene=scene, relevance=0.75, source=source)
    apps.get_model("story", "StorylineLock").objects.create(storyline=talk, name=True)
    apps.get_model("story", "SceneRelevance").objects.create(
        storyline=chase, scene=scenes[1], relevance=0.25
    )
    apps.get_model("exports", "ExportJob").objects.create(
        analysis=analysis, storyline=talk, kind="mp4", fingerprint="f"
    )
    return {"analysis": analysis.pk, "chase": chase.pk, "talk": talk.pk}


def read(apps: Any, owner: str, analysis_id: Any) -> dict[str, Any]:
    """Everything about the storylines of ``analysis_id``, read through ``owner``'s models."""
    lines = apps.get_model(owner, "Storyline").objects.filter(analysis_id=analysis_id)
    members = apps.get_model(owner, "StorylineScene").objects.filter(
        storyline__analysis_id=analysis_id
    )
    jobs = apps.get_model("exports", "ExportJob").objects.filter(analysis_id=analysis_id)
    locks = apps.get_model("story", "StorylineLock").objects.all()
    relevances = apps.get_model("story", "SceneRelevance").objects.all()
    return {
        "lines": sorted(lines.values_list("id", "name", "color", "order")),
        "members": sorted(
            members.values_list("storyline__name", "scene__index", "relevance", "source")
        ),
        "exports": [job.storyline.name for job in jobs],
        "locks": [(lock.storyline.name, lock.name) for lock in locks],
        "relevances": [(r.storyline.name, r.scene.index, r.relevance) for r in relevances],
    }


def content_type_apps() -> set[str]:
    from django.contrib.contenttypes.models import ContentType

    rows = ContentType.objects.filter(model="storyline").values_list("app_label", flat=True)
    return set(rows)


def test_the_move_keeps_every_row_forwards_and_backwards(back_to_latest: None) -> None:
    old = migrate(BEFORE)
    ids = seed(old, "analysis")
    expected = read(old, "analysis", ids["analysis"])
    assert len(expected["members"]) == 3 and expected["exports"] == ["Talk"]

    new = migrate(AFTER)
    assert read(new, "story", ids["analysis"]) == expected
    assert content_type_apps() <= {"story"}
    # New rows after the move get fresh keys from the same sequence.
    analysis = new.get_model("analysis", "Analysis").objects.get(pk=ids["analysis"])
    later = new.get_model("story", "Storyline").objects.create(
        analysis=analysis, name="New", order=2
    )
    assert later.pk > ids["talk"]
    later.delete()

    again = migrate(BEFORE)
    assert read(again, "analysis", ids["analysis"]) == expected
    assert content_type_apps() <= {"analysis"}


def test_the_current_models_live_in_the_story_app_on_the_old_tables() -> None:
    from analysis import models as analysis_models
    from story.models import Storyline, StorylineScene

    assert Storyline._meta.app_label == "story" == StorylineScene._meta.app_label
    assert Storyline._meta.db_table == "analysis_storyline"
    assert StorylineScene._meta.db_table == "analysis_storylinescene"
    # One home: the analysis app no longer defines (or forwards) them.
    assert not hasattr(analysis_models, "Storyline")
    assert not hasattr(analysis_models, "MembershipSource")
