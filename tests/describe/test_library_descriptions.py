"""Audio description of a library video: started from the library, described in place."""

from __future__ import annotations

import io
from typing import Any

import pytest
from django.test import Client

from analysis.services import (
    video_attach_subtitles,
    video_create_from_path,
    video_remove_subtitles,
)
from describe.models import DescribeJob, JobStatus
from describe.processing import job_execute
from tests.fixtures_describe import DubbedClip

pytestmark = pytest.mark.django_db


@pytest.fixture
def library_video(user: Any, dubbed_clip: DubbedClip) -> Any:
    video = video_create_from_path(owner=user, path=dubbed_clip.path)
    return video_attach_subtitles(
        video=video, fileobj=io.BytesIO(dubbed_clip.srt.encode()), original_name="lines.srt"
    )


def start(client: Client, video: Any, **body: Any) -> Any:
    return client.post(
        f"/api/videos/{video.pk}/descriptions", body, content_type="application/json"
    )


def test_describe_a_library_video_in_the_pauses_of_its_subtitles(
    alice: Client, library_video: Any, dubbed_clip: DubbedClip, describe_settings: Any
) -> None:
    response = start(alice, library_video, language="en", pauses="subtitles")
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["page_url"] == f"/process/{body['id']}/view"
    job = DescribeJob.objects.get(pk=body["id"])
    assert job.video_id == library_video.pk and job.client is None and job.url == ""

    finished = job_execute(job_id=job.pk)
    assert finished is not None and finished.status == JobStatus.PROCESSED, finished.error
    assert finished.metadata["speech_source"] == "subtitles"
    results = list(finished.results.order_by("index"))
    assert results
    for result in results:  # never over a line of dialogue
        for start_line, end_line, _text in dubbed_clip.lines:
            assert result.end <= start_line + 1e-6 or result.timestamp >= end_line - 1e-6
    # Its owner sees the page (playing the library file) and the WebVTT.
    page = alice.get(body["page_url"])
    assert page.status_code == 200
    assert library_video.file.url in page.content.decode()
    vtt = alice.get(f"/process/{job.pk}.vtt").content.decode()
    assert vtt.startswith("WEBVTT") and results[0].text in vtt
    # The library row leads back to it.
    assert (
        f'href="{body["page_url"]}" data-testid="description-link"'
        in alice.get("/").content.decode()
    )


def test_bad_requests_and_other_peoples_videos(
    alice: Client, bob: Client, user: Any, library_video: Any, dubbed_clip: DubbedClip
) -> None:
    assert start(alice, library_video, language="de").status_code == 422
    assert start(alice, library_video, pauses="music").status_code == 422
    assert start(bob, library_video).status_code == 404
    bare = video_remove_subtitles(video=library_video)
    refused = start(alice, bare, pauses="subtitles")
    assert refused.status_code == 422 and "no subtitles" in refused.json()["detail"]
    assert not DescribeJob.objects.exists()
    job = DescribeJob.objects.create(video=library_video, pause_source="speech")
    assert bob.get(f"/process/{job.pk}/view").status_code == 404
    assert bob.get(f"/api/process/{job.pk}").status_code == 404
