"""The analysis page's insights: people, speakers, tags and on-screen text by scene."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from analysis.models import TranscriptSegment
from frontend.insights import _covered_seconds
from frontend.seeding import seed_insights

pytestmark = pytest.mark.django_db


def test_covered_seconds_counts_overlaps_once() -> None:
    assert _covered_seconds([(0, 2), (1, 3), (5, 6), (5.5, 5.8)]) == 4.0
    assert _covered_seconds([]) == 0.0


def test_insights_of_an_analysis(alice: Client, seeded_analysis: Any) -> None:
    seed_insights(seeded_analysis)
    response = alice.get(f"/api/analyses/{seeded_analysis.pk}/insights")
    assert response.status_code == 200
    body = response.json()
    assert body["scene_count"] == 6
    people = {p["name"]: p for p in body["people"]}
    assert set(people) == {"Anna", "Character 2"}
    assert people["Anna"]["scenes"] == [0, 2, 4]
    assert people["Anna"]["seconds"] == pytest.approx(0.8 + 1.0 + 1.2)
    assert [a["scene"] for a in people["Character 2"]["appearances"]] == [1, 3, 4]
    speakers = {s["name"]: s for s in body["speakers"]}
    assert speakers["Speaker 1"]["scenes"] == [0, 2, 4]
    assert speakers["Speaker 2"]["scenes"] == [1, 3, 5]
    spoken = {
        i: sum(s.end_time - s.start_time for s in TranscriptSegment.objects.filter(scene__index=i))
        for i in range(6)
    }
    assert speakers["Speaker 1"]["seconds"] == pytest.approx(spoken[0] + spoken[2] + spoken[4])
    assert sum(s["share"] for s in body["speakers"]) == pytest.approx(1.0, abs=1e-3)
    assert body["tags"] == [
        {"label": "beach", "scenes": [2, 3]},
        {"label": "car", "scenes": [0, 1]},
        {"label": "street", "scenes": [0, 4]},
        {"label": "dog", "scenes": [3]},
    ]
    assert body["texts"] == [
        {"text": "EXIT", "scenes": [1, 5]},
        {"text": "Погода на завтра", "scenes": [3]},
    ]


def test_an_analysis_without_findings_has_empty_insights(
    alice: Client, seeded_analysis: Any
) -> None:
    body = alice.get(f"/api/analyses/{seeded_analysis.pk}/insights").json()
    assert body["people"] == body["speakers"] == body["tags"] == body["texts"] == []


def test_someone_elses_insights_are_not_found(bob: Client, seeded_analysis: Any) -> None:
    assert bob.get(f"/api/analyses/{seeded_analysis.pk}/insights").status_code == 404
