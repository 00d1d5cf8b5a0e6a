"""Fixtures of the robustness tests (bad input, schema fuzzing, access control).

- ``isolated_cache`` (autouse): rate-limit counters never leak between tests.
- ``wsgi_app`` / ``api_schema``: the Django app in-process for schemathesis.
- ``owned``: one user's complete set of objects (video with its file, completed analysis with
  scenes, keyframe, storyline, transcript, character, speaker, finished export, description
  client and job), with the ids every URL of the API needs.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from django.core.files.base import ContentFile


@pytest.fixture(autouse=True)
def isolated_cache(settings: Any) -> None:
    """A cache key prefix of its own per test: counters (rate limits) never leak between tests.

    The Redis cache shares its database with the job queue, so it is never flushed instead.
    """
    caches = {name: dict(conf) for name, conf in settings.CACHES.items()}
    caches["default"]["KEY_PREFIX"] = f"test-{uuid.uuid4().hex[:12]}"
    settings.CACHES = caches


@pytest.fixture
def wsgi_app() -> Iterator[Any]:
    """Django's WSGI handler, without closing the test's connection after each request."""
    from django.core.signals import request_finished, request_started
    from django.core.wsgi import get_wsgi_application
    from django.db import close_old_connections

    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        yield get_wsgi_application()
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)


@pytest.fixture
def api_schema(wsgi_app: Any) -> Any:
    import schemathesis

    return schemathesis.openapi.from_wsgi("/api/openapi.json", wsgi_app)


@dataclass
class Owned:
    """A user's objects and the credentials that reach them."""

    user: Any
    token: str  # the user's API token
    client_token: str  # the user's description client's token
    ids: dict[str, Any] = field(default_factory=dict)  # path parameter -> id
    describe_job_id: str = ""
    files: list[str] = field(default_factory=list)  # media URLs of the user's files

    def ids_for(self, path: str) -> dict[str, Any]:
        """Path parameters for ``path``: ``job_id`` is an export job, or a description job."""
        ids = dict(self.ids)
        if path.startswith("/api/process") or path.startswith("/process"):
            ids["job_id"] = self.describe_job_id
        return ids


def make_owned(user: Any) -> Owned:
    from analysis.models import Analysis, ApiToken, Scene, TranscriptSegment, Video
    from describe.services import client_create, job_create
    from exports.models import ExportJob
    from people.models import Character, Speaker
    from story.models import Storyline, StorylineScene

    video = Video(
        owner=user,
        original_name="film.mp4",
        sha256=uuid.uuid4().hex * 2,
        size_bytes=1000,
        duration=3.6,
        fps=25.0,
        frame_count=90,
        width=320,
        height=240,
        has_audio=True,
    )
    video.file.save("source.mp4", ContentFile(b"\x00" * 1000), save=False)
    video.save()
    analysis = Analysis.objects.create(
        video=video, status="completed", progress=1.0, parameters={"num_storylines": 2}
    )
    scenes = [
        Scene.objects.create(
            analysis=analysis,
            index=i,
            start_time=i * 1.2,
            end_time=(i + 1) * 1.2,
            start_frame=i * 30,
            end_frame=(i + 1) * 30,
        )
        for i in range(3)
    ]
    scenes[0].keyframe.save("scene_1.jpg", ContentFile(b"\xff\xd8\xff\xd9"), save=True)
    storyline = Storyline.objects.create(analysis=analysis, name="Storyline 1", order=0)
    for scene in scenes:
        StorylineScene.objects.create(storyline=storyline, scene=scene)
    TranscriptSegment.objects.create(
        analysis=analysis,
        scene=scenes[1],
        start_time=1.5,
        end_time=2.0,
        text="Hello there",
        language="en",
    )
    character = Character.objects.create(analysis=analysis, label="Character 1")
    speaker = Speaker.objects.create(analysis=analysis, label="Speaker 1")
    export = ExportJob(
        analysis=analysis,
        kind="json",
        status="completed",
        fingerprint="x",
        filename="film.json",
        content_type="application/json",
    )
    export.file.save("film.json", ContentFile(b"{}"), save=False)
    export.save()
    _token, key = ApiToken.objects.issue(user=user, name="robustness")
    client, client_token = client_create(owner=user, name=f"robustness-{user.pk}")
    job = job_create(client=client, data={"url": "https://example.com/film.mp4"}, enqueue=False)
    return Owned(
        user=user,
        token=key,
        client_token=client_token,
        ids={
            "video_id": str(video.id),
            "analysis_id": str(analysis.id),
            "task_id": str(analysis.id),
            "storyline_id": storyline.pk,
            "scene_id": "scene_2",
            "number": 2,
            "character_id": character.pk,
            "speaker_id": speaker.pk,
            "job_id": str(export.id),
            "fmt": "srt",
        },
        describe_job_id=str(job.id),
        files=[f"/media/{video.file.name}", f"/media/{scenes[0].keyframe.name}"],
    )


@pytest.fixture
def owned(user: Any) -> Owned:
    return make_owned(user)
