"""Stale exports: marked out of date once the storylines (or anything shaping the file) change,
and remade with one request."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.test import Client, override_settings

from analysis.progress import group_name
from exports import services
from exports.models import ExportJob
from exports.services.publishing import publish
from story import services as story_services
from story.models import Storyline

pytestmark = pytest.mark.django_db


def make(alice: Client, analysis: Any, payload: dict[str, Any]) -> dict[str, Any]:
    response = alice.post(
        f"/api/analyses/{analysis.pk}/exports", payload, content_type="application/json"
    )
    assert response.status_code == 202, response.content
    services.export_execute(job_id=response.json()["id"])
    return dict(alice.get(f"/api/exports/{response.json()['id']}").json())


def test_a_changed_storyline_makes_its_exports_stale_and_one_click_remakes_them(
    alice: Client, seeded_analysis: Any, user: Any
) -> None:
    line = Storyline.objects.get(analysis=seeded_analysis, order=0)
    job = make(alice, seeded_analysis, {"kind": "edl", "storyline_id": line.pk})
    assert job["status"] == "completed" and job["stale"] is False
    scene = seeded_analysis.scenes.get(index=1)
    story_services.move_scene(
        analysis=seeded_analysis, user=user, scene=scene, storyline_id=line.pk
    )
    listed = alice.get(f"/api/analyses/{seeded_analysis.pk}/exports").json()
    assert [j["stale"] for j in listed] == [True]
    assert alice.get(f"/api/exports/{job['id']}").json()["stale"] is True
    remade = alice.post(f"/api/exports/{job['id']}/remake")
    assert remade.status_code == 202
    fresh = remade.json()
    assert fresh["id"] != job["id"] and fresh["kind"] == "edl"
    assert fresh["storyline_id"] == line.pk
    services.export_execute(job_id=fresh["id"])
    assert alice.get(f"/api/exports/{fresh['id']}").json()["stale"] is False
    again = alice.post(f"/api/exports/{fresh['id']}/remake")
    assert again.status_code == 200 and again.json()["cached"] is True  # nothing changed


def test_the_cache_key_holds_what_shapes_the_file(alice: Client, seeded_analysis: Any) -> None:
    line = Storyline.objects.get(analysis=seeded_analysis, order=0)
    job = make(alice, seeded_analysis, {"kind": "fcpxml", "storyline_id": line.pk})
    url = f"/api/exports/{job['id']}"
    with override_settings(EXPORT_RECORD_START="10:00:00:00"):
        assert alice.get(url).json()["stale"] is True  # the record start is in the file
    with override_settings(EXPORT_MEDIA_ROOT="/Volumes/Edit"):
        assert alice.get(url).json()["stale"] is True  # so is the media's URL
    assert alice.get(url).json()["stale"] is False
    segment = seeded_analysis.segments.order_by("start_time").first()
    segment.text = "A corrected line"
    segment.save()
    assert alice.get(url).json()["stale"] is True  # a transcript correction too


def test_remaking_someone_elses_export_is_404(
    alice: Client, bob: Client, seeded_analysis: Any
) -> None:
    job = make(alice, seeded_analysis, {"kind": "json"})
    assert bob.post(f"/api/exports/{job['id']}/remake").status_code == 404


def test_a_finished_jobs_event_says_whether_it_is_out_of_date(
    alice: Client, seeded_analysis: Any, user: Any
) -> None:
    # The timeline shows the last word it gets, and a job's last event may be its "completed".
    layer = get_channel_layer()
    channel = async_to_sync(layer.new_channel)()
    async_to_sync(layer.group_add)(group_name(seeded_analysis.pk), channel)

    async def next_event() -> dict[str, Any]:
        return dict(await asyncio.wait_for(layer.receive(channel), timeout=10))

    line = Storyline.objects.get(analysis=seeded_analysis, order=0)
    job = make(alice, seeded_analysis, {"kind": "edl", "storyline_id": line.pk})
    events = [async_to_sync(next_event)()]
    while events[-1]["status"] != "completed":
        events.append(async_to_sync(next_event)())
    assert events[-1]["stale"] is False
    scene = seeded_analysis.scenes.get(index=1)
    story_services.move_scene(
        analysis=seeded_analysis, user=user, scene=scene, storyline_id=line.pk
    )
    publish(ExportJob.objects.get(pk=job["id"]))
    assert async_to_sync(next_event)()["stale"] is True
