"""The vision stages in the real pipeline, the scene index in the result JSON, and search."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.test import Client, override_settings

from analysis.models import Analysis, AnalysisStatus
from analysis.pipeline.runner import analysis_execute
from analysis.selectors import analysis_result
from analysis.services import video_create_from_path
from vision import search as search_module
from vision.models import SceneCaption, SceneEmbedding, SceneIndex, SceneObjects, SceneText

SHARED = Path(os.environ.get("SHARED_MEDIA", Path(__file__).parents[3] / "shared" / "media"))
BASE_STAGES = ["probe", "shots", "keyframes", "audio", "transcript"]
VISION_STAGES = ["embeddings", "objects", "ocr", "captions", "scene_index"]
CATS = set(range(281, 286))


def run(video: Any, **parameters: Any) -> Analysis:
    parameters.setdefault("stages", BASE_STAGES + VISION_STAGES)
    parameters.setdefault("language", "en")
    analysis = Analysis.objects.create(video=video, parameters=parameters)
    done = analysis_execute(analysis_id=analysis.pk)
    assert done is not None and done.status == AnalysisStatus.COMPLETED, done and done.error
    return done


@pytest.fixture(scope="module")
def indexed(
    django_db_setup: Any,
    django_db_blocker: Any,
    vision_clip: Path,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[dict[str, Any]]:
    """One analysis of the vision clip, shared by the tests of this module (removed after)."""
    from django.contrib.auth.models import User

    root = tmp_path_factory.mktemp("vision-run")
    paths = {"MEDIA_ROOT": root / "media", "RESULTS_DIR": root / "results", "VAR_DIR": root}
    with django_db_blocker.unblock(), override_settings(**paths):
        owner = User.objects.create_user(username="vision-owner", password="x")
        video = video_create_from_path(owner=owner, path=vision_clip)
        analysis = run(video)
        yield {"owner": owner, "analysis": analysis, "paths": paths}
        owner.delete()


@pytest.fixture
def owner_client(indexed: dict[str, Any], settings: Any) -> Client:
    for name, value in indexed["paths"].items():
        setattr(settings, name, value)
    client = Client()
    client.force_login(indexed["owner"])
    return client


def scene_rows(analysis: Analysis) -> list[Any]:
    return list(analysis.scenes.order_by("index"))


@pytest.mark.django_db
def test_every_vision_stage_stored_real_findings(indexed: dict[str, Any]) -> None:
    analysis = indexed["analysis"]
    scenes = scene_rows(analysis)
    assert len(scenes) == 3
    cat, banner, patterns = scenes
    embeddings = SceneEmbedding.objects.filter(analysis=analysis)
    assert {e.scene_id for e in embeddings} == {s.pk for s in scenes}
    assert {(e.model, e.dim) for e in embeddings} == {("mobilenet_v2", 1280)}
    objects = {o.scene_id: o for o in SceneObjects.objects.filter(analysis=analysis)}
    assert CATS & {label["class_id"] for label in objects[cat.pk].labels[:3]}
    # Editors see editor words, averaged over the keyframe and the frame 1 s in; none on the
    # banner and the moving patterns, which show nothing a word covers.
    assert [t["label"] for t in objects[cat.pk].tags][:2] == ["cat", "animal"]
    assert objects[banner.pk].tags == [] and objects[patterns.pk].tags == []
    cat_index = SceneIndex.objects.get(scene=cat)
    assert {"cat", "кошка"} <= set(cat_index.object_names)
    assert objects[cat.pk].action == "static" and objects[banner.pk].action == "static"
    assert objects[patterns.pk].motion > objects[cat.pk].motion
    texts = {t.scene_id: t for t in SceneText.objects.filter(analysis=analysis)}
    assert "flash drive found" in texts[banner.pk].text and "Новости дня" in texts[banner.pk].text
    captions = {c.scene_id: c for c in SceneCaption.objects.filter(analysis=analysis)}
    assert set(captions) == {s.pk for s in scenes}
    assert {c.source for c in captions.values()} == {"describer"}
    assert "flash drive found" in captions[banner.pk].text
    assert analysis.metadata["stage_seconds"].keys() >= set(VISION_STAGES)


@pytest.mark.django_db
def test_the_result_json_has_the_index_beside_audio_analysis(indexed: dict[str, Any]) -> None:
    analysis = indexed["analysis"]
    result = analysis_result(analysis)
    scenes = {s["id"]: s for s in result["segments"] and _all_scenes(result)}
    first = scenes["scene_1"]
    assert "audio_analysis" in first and first["scene_index"]["sceneId"] == "scene_1"
    index = first["scene_index"]
    assert set(index) >= {"objects", "people", "actions", "text", "sceneId", "transcript"}
    assert "usb stick" in index["transcript"].lower()
    assert first["visual_analysis"]["caption"]
    assert first["visual_analysis"]["tags"][:1] == ["cat"]
    assert first["visual_analysis"]["tags_ru"][:1] == ["кошка"]
    assert "flash drive" in scenes["scene_2"]["scene_index"]["text"]


def _all_scenes(result: dict[str, Any]) -> list[dict[str, Any]]:
    return [scene for storyline in result["storylines"] for scene in storyline["scenes"]] or [
        {"id": f"scene_{i + 1}", **extra} for i, extra in enumerate(_extras(result))
    ]


def _extras(result: dict[str, Any]) -> list[dict[str, Any]]:
    from analysis.extensions import scene_extras

    analysis = Analysis.objects.get(video__original_name=result["video_filename"])
    scenes = scene_rows(analysis)
    extras = scene_extras(scenes)
    return [{"audio_analysis": {}, **extras[s.pk]} for s in scenes]


@pytest.mark.django_db
def test_index_and_similar_scenes_endpoints(
    indexed: dict[str, Any], owner_client: Client, bob: Client
) -> None:
    analysis = indexed["analysis"]
    body = owner_client.get(f"/api/analyses/{analysis.pk}/index").json()
    assert [row["scene_id"] for row in body] == ["scene_1", "scene_2", "scene_3"]
    assert body[1]["scene_index"]["text"].startswith("Новости дня")
    similar = owner_client.get(f"/api/analyses/{analysis.pk}/scenes/1/similar").json()
    assert {row["scene_id"] for row in similar} == {"scene_2", "scene_3"}
    assert similar[0]["similarity"] >= similar[1]["similarity"]
    assert bob.get(f"/api/analyses/{analysis.pk}/index").status_code == 404
    assert owner_client.get(f"/api/analyses/{analysis.pk}/scenes/9/similar").status_code == 404


def search(client: Client, q: str, **params: Any) -> dict[str, Any]:
    response = client.get("/api/search", {"q": q, **params})
    assert response.status_code == 200, response.content
    return response.json()


@pytest.mark.django_db
def test_keyword_search_finds_spoken_and_onscreen_words(
    indexed: dict[str, Any], owner_client: Client
) -> None:
    analysis = indexed["analysis"]
    spoken = search(owner_client, "USB stick", analysis=str(analysis.pk))
    top = spoken["results"][0]
    assert top["scene_id"] == "scene_1" and "keyword" in top["matched_by"]
    assert top["field"] == "speech" and "USB stick" in top["snippet"]
    assert top["url"] == f"/analyses/{analysis.pk}/?t={top['time']:.1f}"
    assert 0.0 <= top["time"] < 3.0
    shown = search(owner_client, "flash drive")["results"][0]  # the whole library
    assert shown["scene_id"] == "scene_2" and shown["field"] in {"text", "caption"}
    russian = search(owner_client, "новости", video=str(analysis.video_id))["results"][0]
    assert russian["scene_id"] == "scene_2"


@pytest.mark.django_db
def test_semantic_search_crosses_languages(indexed: dict[str, Any], owner_client: Client) -> None:
    body = search(owner_client, "флешка", analysis=str(indexed["analysis"].pk))
    assert body["results"], body
    top = body["results"][0]
    assert top["scene_id"] == "scene_1" and top["matched_by"] == ["semantic"]
    assert "USB stick" in top["snippet"]


@pytest.mark.django_db
def test_typo_tolerance_with_and_without_pg_trgm(
    indexed: dict[str, Any], owner_client: Client, monkeypatch: Any
) -> None:
    analysis = str(indexed["analysis"].pk)
    with_trgm = search(owner_client, "Stela tomorow", analysis=analysis)
    assert with_trgm["typo_tolerance"] == "pg_trgm"
    assert with_trgm["results"][0]["scene_id"] == "scene_2"
    monkeypatch.setattr(search_module, "trigram_available", lambda: False)
    fallback = search(owner_client, "Stela tomorow", analysis=analysis)
    assert fallback["typo_tolerance"] == "rapidfuzz"
    top = fallback["results"][0]
    assert top["scene_id"] == "scene_2" and "typo" in top["matched_by"]
    assert "Stella" in top["snippet"]


@pytest.mark.django_db
def test_search_checks_ownership_and_input(
    indexed: dict[str, Any], owner_client: Client, bob: Client
) -> None:
    analysis = indexed["analysis"]
    assert bob.get("/api/search", {"q": "USB", "analysis": str(analysis.pk)}).status_code == 404
    assert bob.get("/api/search", {"q": "USB", "video": str(analysis.video_id)}).status_code == 404
    assert search(bob, "USB stick")["results"] == []
    empty = owner_client.get("/api/search", {"q": "  "})
    assert empty.status_code == 400 and empty.json()["detail"]
    assert owner_client.get("/api/search", {"q": "x" * 201}).status_code == 400
    assert search(owner_client, "zebra xylophone quantum")["results"] == []


@pytest.mark.django_db
def test_stages_can_be_switched_off(
    owner_client: Client, indexed: dict[str, Any], vision_clip: Path
) -> None:
    from django.contrib.auth.models import User

    other = User.objects.create_user(username="vision-lite", password="x")
    video = video_create_from_path(owner=other, path=vision_clip)
    analysis = run(
        video, vision_stages=["ocr"], stages=["probe", "shots", "keyframes", *VISION_STAGES]
    )
    assert not SceneEmbedding.objects.filter(analysis=analysis).exists()
    assert not SceneObjects.objects.filter(analysis=analysis).exists()
    assert not SceneCaption.objects.filter(analysis=analysis).exists()
    assert SceneText.objects.filter(analysis=analysis, text__contains="flash drive").exists()
    assert SceneIndex.objects.filter(analysis=analysis).count() == 3


@pytest.mark.django_db
def test_russian_captions_from_blip_and_marian(
    settings: Any, tiny_blip: Path, tiny_marian: Path, vision_clip: Path, user: Any
) -> None:
    settings.CAPTION_MODEL = str(tiny_blip)
    settings.TRANSLATION_MODEL = str(tiny_marian)
    video = video_create_from_path(owner=user, path=vision_clip)
    done = run(video, stages=["probe", "shots", "keyframes", "captions"], caption_language="ru")
    captions = list(SceneCaption.objects.filter(analysis=done).order_by("scene__index"))
    assert len(captions) == 3
    assert {(c.source, c.language, c.model) for c in captions} == {("model", "ru", str(tiny_blip))}
    assert all(c.text and c.text_en and c.text != c.text_en for c in captions)


@pytest.mark.django_db
def test_an_unavailable_captioner_falls_back_to_the_describer(
    settings: Any, monkeypatch: Any, vision_clip: Path, user: Any
) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    settings.CAPTION_MODEL = "Salesforce/blip-image-captioning-base"
    settings.TRANSLATION_MODEL = ""
    video = video_create_from_path(owner=user, path=vision_clip)
    stages = ["probe", "shots", "keyframes", "ocr", "captions"]
    done = run(video, stages=stages, caption_language="ru")
    captions = list(SceneCaption.objects.filter(analysis=done).order_by("scene__index"))
    assert {c.source for c in captions} == {"describer"}
    assert captions[1].text.startswith("Сцена") and "«Новости дня" in captions[1].text
    assert "caption_model_error" in done.metadata


@pytest.mark.django_db
def test_the_search_box_is_on_the_library_and_analysis_pages(
    indexed: dict[str, Any], owner_client: Client
) -> None:
    analysis = indexed["analysis"]
    library = owner_client.get("/").content.decode()
    assert 'data-testid="scene-search"' in library and "js/search.js" in library
    assert 'data-analysis=""' in library  # the library searches every video
    page = owner_client.get(f"/analyses/{analysis.pk}/").content.decode()
    assert f'data-analysis="{analysis.pk}"' in page and 'data-testid="search-scope"' in page


@pytest.mark.django_db
def test_a_scene_stored_on_its_side_is_looked_at_upright(user: Any) -> None:
    """The shared rotated clip: a computer screen filmed sideways (its rotation metadata
    applied, as editors see it). Its faces are found only turned, so the faces stage keeps the
    turn, and the tag pass looks at the scene turned the same way: the screen is named. As
    stored, the same keyframe shows the network no screen. The embedding stays the keyframe's
    as stored (storylines compare scenes by it, turned or not)."""
    import numpy as np

    from people.selectors import scene_turns_by_scene
    from vision import vocabulary
    from vision.keyframes import read_rgb, read_scene_rgb
    from vision.looks import look_at_scenes
    from vision.mobilenet import look_at_frames

    path = SHARED / "shots" / "issue-134-rotate.mp4"
    if not path.exists():
        pytest.skip("no shared media")
    video = video_create_from_path(owner=user, path=path)
    stages = ["probe", "shots", "keyframes", "faces", "embeddings", "objects"]
    done = run(video, stages=stages)
    first = scene_rows(done)[0]
    assert first.end_time == pytest.approx(3.75, abs=0.1)
    assert scene_turns_by_scene(done).get(first.pk) in (90, 270)
    tags = SceneObjects.objects.get(scene=first).tags
    assert "screen" in [t["label"] for t in tags]
    looks = look_at_scenes([read_scene_rgb(first, video.width)], "cpu", 16)[0]
    as_stored = vocabulary.sure_words(vocabulary.word_scores([look.windows for look in looks]))
    assert "screen" not in [t["label"] for t in as_stored]
    stored = np.frombuffer(SceneEmbedding.objects.get(scene=first).vector, dtype=np.float32)
    plain = look_at_frames([read_rgb(first, video.width)], "cpu", 16)[0].embedding
    turned = look_at_frames([np.rot90(read_rgb(first, video.width))], "cpu", 16)
    assert np.allclose(stored, plain, atol=1e-4)
    assert not np.allclose(stored, turned[0].embedding, atol=1e-2)
