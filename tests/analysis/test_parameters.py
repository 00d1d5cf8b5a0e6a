"""Analysis parameters of every app are checked when the request arrives: 422 naming the field,
nothing stored; model parameters name only models the operator allows."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from django.test import Client

from analysis.models import Analysis
from tests.analysis.test_api import upload

pytestmark = pytest.mark.django_db


@pytest.fixture
def video_id(alice: Client, three_shot_clip: Path) -> str:
    return str(upload(alice, three_shot_clip).json()["id"])


def start(client: Client, video_id: str, **params: Any) -> Any:
    return client.post(f"/api/videos/{video_id}/analyses", params, content_type="application/json")


def detail_text(response: Any) -> str:
    detail = response.json()["detail"]
    return detail if isinstance(detail, str) else str(detail)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("scene_threshold", "abc"),
        ("scene_threshold", -1),
        ("scene_threshold", True),
        ("scene_threshold", 1e9),
        ("min_scene_seconds", "xyz"),
        ("min_scene_seconds", [1]),
        ("scene_detector", "bogus"),
        ("num_storylines", True),
        ("whisper_model", "/etc"),
        ("whisper_model", "large-v3"),  # a hub name nobody allowed: no download
        ("whisper_model", "../../var"),
        ("caption_model", "/etc/passwd"),
        ("caption_model", "someone/their-model"),
        ("translation_model", "/root"),
        ("ocr_languages", "../../etc"),
        ("faces", "yes"),
        ("vision_stages", "everything"),
        ("preset", "telenovela"),
        ("language", "klingon language"),
    ],
)
def test_a_bad_parameter_is_422_naming_it_and_nothing_is_stored(
    alice: Client, video_id: str, field: str, value: Any
) -> None:
    response = start(alice, video_id, **{field: value})
    assert response.status_code == 422, response.content
    assert field in detail_text(response)
    assert Analysis.objects.count() == 0


def test_good_parameters_are_stored_normalised(alice: Client, video_id: str) -> None:
    response = start(
        alice,
        video_id,
        scene_detector="content",
        scene_threshold="27",
        min_scene_seconds=0.5,
        whisper_model="tiny.en",
        caption_model="none",
    )
    assert response.status_code == 201, response.content
    params = response.json()["parameters"]
    assert params["scene_threshold"] == 27.0 and params["min_scene_seconds"] == 0.5
    assert params["scene_detector"] == "content" and params["whisper_model"] == "tiny.en"


def test_the_operator_allows_models_and_paths_are_never_shown(
    alice: Client, video_id: str, settings: Any
) -> None:
    settings.WHISPER_MODEL_SIZE = "/srv/models/whisper-secret"
    settings.WHISPER_MODELS_ALLOWED = "base,small"
    assert start(alice, video_id, whisper_model="small").status_code == 201
    # The configured model may be named (it is the default anyway)...
    assert start(alice, video_id, whisper_model="/srv/models/whisper-secret").status_code == 201
    refused = start(alice, video_id, whisper_model="medium")
    assert refused.status_code == 422
    # ... but the refusal lists the allowed names without the server's path.
    assert "base, small" in detail_text(refused) and "/srv" not in detail_text(refused)
    settings.CAPTION_MODELS_ALLOWED = "blip-base"
    assert start(alice, video_id, caption_model="blip-base").status_code == 201
    assert start(alice, video_id, caption_model="blip2").status_code == 422
