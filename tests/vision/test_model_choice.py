"""``auto`` model choice (directory, MODELS_DIR, offline pack, cache), which model the analysis
records and shows, CLIP tags and text-to-picture search through the real loading path (tiny
random CLIP and BLIP models saved in the test: no real weights are available offline)."""

from __future__ import annotations

import shutil
from io import StringIO
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from django.core.management import call_command
from django.test import Client

from analysis.models import Analysis, AnalysisStatus
from analysis.pipeline.runner import analysis_execute
from analysis.services import video_create_from_path
from tests.fixtures_vision import sample_image
from vision import choice, clip, search, vocabulary
from vision.models import SceneCaption, SceneEmbedding, SceneObjects
from vision.selectors import models_used

BLIP = "Salesforce/blip-image-captioning-base"
CLIP = "openai/clip-vit-base-patch32"
STAGES = ["probe", "shots", "keyframes", "embeddings", "objects", "captions", "scene_index"]


@pytest.fixture
def models_dir(settings: Any, tmp_path: Path, monkeypatch: Any) -> Path:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "hf-cache"))  # nothing cached
    settings.MODELS_DIR = tmp_path / "models"
    settings.CAPTION_MODEL = settings.CLIP_MODEL = settings.IMAGE_EMBEDDING_MODEL = "auto"
    settings.TRANSLATION_MODEL = ""
    return Path(settings.MODELS_DIR)


def prepare(models_dir: Path, name: str, folder: Path) -> None:
    """Put a saved model where ``prefetch_models`` or an admin would prepare it."""
    shutil.copytree(folder, models_dir / name.replace("/", "--"))


def test_auto_falls_back_with_a_reason_when_nothing_is_here(models_dir: Path) -> None:
    caption = choice.caption_choice()
    assert caption.name is None and "no captioning model available" in caption.reason
    assert choice.clip_choice().name is None
    assert choice.embedding_choice().name == "mobilenet_v2"
    assert choice.caption_choice("none").reason.startswith("offline describer")
    assert choice.caption_choice("blip-large").name == "Salesforce/blip-image-captioning-large"


def test_auto_takes_models_prepared_in_models_dir(
    models_dir: Path, tiny_blip: Path, tiny_clip: Path
) -> None:
    prepare(models_dir, BLIP, tiny_blip)
    prepare(models_dir, CLIP, tiny_clip)
    assert choice.caption_choice() == choice.Choice(BLIP, "auto: found in the models dir")
    assert choice.clip_choice().name == CLIP and choice.embedding_choice().name == CLIP
    # A GPU worker would prefer BLIP-2, which is not here: the CPU model still serves.
    assert choice.caption_choice(device="cuda").name == BLIP
    assert choice.caption_choice(str(tiny_blip)) == choice.Choice(str(tiny_blip), "configured")


def test_clip_embeds_and_ranks_through_the_real_loading_path(tiny_clip: Path) -> None:
    images = [sample_image(name) for name in ("chelsea", "coffee")]
    vectors = clip.embed_images(images, str(tiny_clip), "cpu")
    assert vectors.shape == (2, 16)
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    ranked = clip.zero_shot(vectors, clip.TAG_VOCABULARY, str(tiny_clip), "cpu")
    assert [len(r) for r in ranked] == [len(clip.TAG_VOCABULARY)] * 2
    assert abs(sum(p for _l, p in ranked[0]) - 1.0) < 0.01
    assert clip.is_clip(str(tiny_clip))
    tags = vocabulary.clip_tags(ranked[0], 0.0)
    assert {t["source"] for t in tags} == {"clip"} and all(t["label_ru"] for t in tags)


def test_prefetch_reports_vision_models_without_the_network(
    models_dir: Path, tiny_clip: Path
) -> None:
    prepare(models_dir, CLIP, tiny_clip)
    out = StringIO()
    call_command("prefetch_models", stdout=out, stderr=StringIO())
    lines = out.getvalue().splitlines()
    assert f"vision {CLIP}: models dir" in lines
    assert f"vision {BLIP}: not available (offline)" in lines


def run(video: Any) -> Analysis:
    analysis = Analysis.objects.create(video=video, parameters={"stages": STAGES})
    done = analysis_execute(analysis_id=analysis.pk)
    assert done is not None and done.status == AnalysisStatus.COMPLETED, done and done.error
    return done


@pytest.mark.django_db
def test_an_analysis_uses_and_names_the_models_auto_found(
    models_dir: Path, tiny_blip: Path, tiny_clip: Path, vision_clip: Path, user: Any, settings: Any
) -> None:
    offline = run(video_create_from_path(owner=user, path=vision_clip))
    assert {c.source for c in SceneCaption.objects.filter(analysis=offline)} == {"describer"}
    assert models_used(offline)[0].startswith("captions: offline describer — no captioning")
    client = Client()
    client.force_login(user)
    page = client.get(f"/analyses/{offline.pk}/").content.decode()
    assert 'data-testid="models-used"' in page and "no captioning model available" in page

    prepare(models_dir, BLIP, tiny_blip)
    prepare(models_dir, CLIP, tiny_clip)
    done = run(video_create_from_path(owner=user, path=vision_clip))
    captions = SceneCaption.objects.filter(analysis=done)
    assert {(c.source, c.model) for c in captions} == {("model", BLIP)}
    assert {(e.model, e.dim) for e in SceneEmbedding.objects.filter(analysis=done)} == {(CLIP, 16)}
    assert done.metadata["vision_models"]["tags"]["model"] == CLIP
    assert models_used(done)[0] == f"captions: {BLIP} (auto: found in the models dir)"
    for row in SceneObjects.objects.filter(analysis=done):  # CLIP words are editor words
        assert all(t["label"] in vocabulary.RUSSIAN for t in row.tags)

    # Text-to-picture search: with every cosine let through, every scene is found by picture.
    settings.SEARCH_VISUAL_MIN = -1.0
    found = search.search_scenes([done], "птица")
    assert found["total"] == 3
    assert all("visual" in hit["matched_by"] for hit in found["results"])
    settings.SEARCH_VISUAL_MIN = 1.01
    assert not any(
        "visual" in h["matched_by"] for h in search.search_scenes([done], "bird")["results"]
    )
