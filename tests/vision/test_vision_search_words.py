"""Picture words search finds (issue 19): fine windows, a hat said of a person, a person in a
query read as the faces stage's tag, and sign words read on screen."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from analysis.models import Analysis
from tests.fixtures_db import scenes_of, stored_video
from tests.fixtures_vision import sample_image
from tests.vision.test_vocabulary_and_text import probabilities, shared_frames, words
from vision import vocabulary
from vision.looks import look_at_scenes, scores_of
from vision.models import SceneObjects, SceneText
from vision.search import person_queries, search_scenes
from vision.services import scene_index_build, scene_index_save


def test_fine_windows_lift_a_word_on_its_own_scale() -> None:
    """A bicycle only a fine window shows (0.5 of its mass there, 0.02 in whole-height
    windows) reaches its whole-window threshold (0.15) at its fine bar (0.4) and above;
    the car, not scored in fine windows, keeps its whole-window score."""
    whole = np.stack([probabilities(c671=0.02, c436=0.1)])
    fine = np.stack([probabilities(c671=0.5, c436=0.7), probabilities()])
    plain = vocabulary.word_scores([whole])
    lifted = vocabulary.word_scores([whole], None, [fine])
    assert plain["bicycle"] == pytest.approx(0.02)
    assert lifted["bicycle"] == pytest.approx(0.5 * 0.15 / 0.4)
    assert lifted["car"] == pytest.approx(plain["car"])
    weak = np.stack([probabilities(c671=0.3)])  # under the fine bar: not sure
    assert vocabulary.word_scores([whole], None, [weak])["bicycle"] < 0.15


def test_a_hat_is_a_tag_only_where_someone_is_seen() -> None:
    """A hat's classes without a face (a lamp shade, a bollard) make no tag; with a face the
    scene is a person in a hat."""
    scores = {"hat": 0.8}
    assert vocabulary.sure_words(scores) == []
    assert words(vocabulary.tags_from_scores(scores)) == []
    assert words(vocabulary.tags_from_scores(scores, faces=1)) == ["person", "hat"]
    assert vocabulary.tags_from_scores(scores, faces=1)[1]["label_ru"] == "шляпа"


def test_photos_without_a_hat_or_a_bicycle_get_neither() -> None:
    """The real network on package photos, seen as the stages see a scene (fine windows
    included), as if a face were found in each: no hat on the astronaut or the cameraman,
    none on the retina (the most hat-like of them), no bicycle anywhere."""
    photos = ["astronaut", "camera", "coffee", "chelsea", "rocket", "retina", "gravel"]
    looks = look_at_scenes([[sample_image(name)] for name in photos], "cpu", 4)
    for name, scene in zip(photos, looks, strict=True):
        assert all(look.fine is not None and len(look.fine) > 1 for look in scene)
        tags = words(vocabulary.tags_from_scores(scores_of(scene), faces=1))
        assert "hat" not in tags and "bicycle" not in tags, (name, tags)


def test_chaplin_wears_a_hat_the_man_in_the_car_does_not() -> None:
    """Shared clips (skipped without the shared media), two frames a scene as the stages
    look: Chaplin's bowler, which ImageNet has no class for, is a hat in fine windows where
    he faces the camera; the carphone man's spiky hair, hat-like on the frame at 3.25 s, is
    not a hat over two frames."""
    chaplin = shared_frames("chaplin.mp4", [5.75, 6.25])
    carphone = shared_frames("carphone_pristine.mp4", [3.25, 2.25])
    looks = look_at_scenes([chaplin, carphone], "cpu", 4)
    tags = [words(vocabulary.tags_from_scores(scores_of(s), faces=1)) for s in looks]
    assert "hat" in tags[0] and "hat" not in tags[1], tags


def test_a_person_in_the_query_is_read_as_the_faces_tag() -> None:
    assert person_queries("man in a hat") == ["person in a hat", "people in a hat"]
    assert person_queries("Женщина в шляпе") == ["person в шляпе", "people в шляпе"]
    assert person_queries("bicycle") == []
    assert words(vocabulary.sign_tags("Send TAXI now")) == ["taxi"]
    assert vocabulary.sign_tags("TAXIS and taxicabs") == []


def tagged_analysis(owner: Any, scenes: list[tuple[list[dict[str, Any]], str]]) -> Analysis:
    """An analysis whose scenes have these (tags, on-screen text), indexed."""
    video = stored_video(owner, 3.0 * len(scenes), name="tagged.mp4", has_audio=False)
    analysis = Analysis.objects.create(video=video, status="completed", parameters={})
    for scene, (tags, text) in zip(scenes_of(analysis, len(scenes)), scenes, strict=True):
        SceneObjects.objects.create(scene=scene, analysis=analysis, labels=[], tags=tags)
        if text:
            SceneText.objects.create(scene=scene, analysis=analysis, text=text)
    scene_index_save(analysis, scene_index_build(analysis))
    return analysis


@pytest.mark.django_db
def test_search_finds_a_person_in_a_hat_and_a_taxi_by_its_sign(user: Any) -> None:
    person, people = vocabulary.tag("person", 1.0, "faces"), vocabulary.tag("people", 1.0, "faces")
    hat, car = vocabulary.tag("hat", 0.7, "imagenet"), vocabulary.tag("car", 0.6, "imagenet")
    analysis = tagged_analysis(
        user,
        [([person, hat], ""), ([person], ""), ([people, hat], ""), ([car], "TAXI")],
    )

    def found(query: str) -> list[tuple[int, list[str]]]:
        results = search_scenes([analysis], query)["results"]
        return [(r["scene_index"], r["matched_by"]) for r in results]

    for query in ("man in a hat", "человек в шляпе"):
        hits = found(query)  # the person alone may follow by meaning, never by the tags
        assert sorted(index for index, _how in hits[:2]) == [0, 2], hits
        assert all("tags" in how for _index, how in hits[:2])
        assert all("tags" not in how for _index, how in hits[2:]), hits
    assert [index for index, _how in found("такси")][:1] == [3]
    first = search_scenes([analysis], "man in a hat")["results"][0]
    assert first["field"] == "objects"
