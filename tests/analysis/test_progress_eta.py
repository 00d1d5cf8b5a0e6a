"""Stage weights from measured costs, and the time-left estimate built on them."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from analysis.models import Analysis, AnalysisStatus, Video
from analysis.progress import eta_seconds, progress_event, stage_weights

pytestmark = pytest.mark.django_db


@dataclass
class FakeStage:
    name: str
    weight: float


STAGES = [FakeStage("shots", 2.0), FakeStage("audio", 1.0), FakeStage("faces", 1.0)]


def video(owner: Any, duration: float) -> Video:
    pk = uuid.uuid4()
    return Video.objects.create(
        id=pk,
        owner=owner,
        file=f"videos/{pk}/source.mp4",
        original_name="film.mp4",
        sha256=uuid.uuid4().hex * 2,
        size_bytes=1,
        duration=duration,
        fps=25.0,
        frame_count=int(duration * 25),
        width=320,
        height=240,
        has_audio=True,
    )


def finished(owner: Any, duration: float, seconds: dict[str, float], **metadata: Any) -> Analysis:
    return Analysis.objects.create(
        video=video(owner, duration),
        status=AnalysisStatus.COMPLETED,
        finished_at=timezone.now(),
        metadata={"stage_seconds": seconds, **metadata},
    )


def test_without_history_the_declared_weights_stand(user: Any) -> None:
    assert stage_weights(STAGES) == {"shots": 2.0, "audio": 1.0, "faces": 1.0}


def test_measured_costs_per_second_of_video_weigh_the_stages(user: Any) -> None:
    # Audio cost 0.5 s per second of video in both runs; shots 0.1 and 0.3 (median 0.2).
    finished(user, 100.0, {"shots": 10.0, "audio": 50.0, "faces": 20.0})
    finished(user, 10.0, {"shots": 3.0, "audio": 5.0, "faces": 2.0})
    # Seeded analyses never ran a stage: they do not count.
    finished(user, 10.0, {"shots": 900.0, "audio": 0.0, "faces": 0.0}, seeded=True)
    weights = stage_weights(STAGES)
    assert weights == pytest.approx({"shots": 0.2, "audio": 0.5, "faces": 0.2})


def test_a_stage_never_timed_keeps_its_declared_share_scaled_to_the_measured(user: Any) -> None:
    finished(user, 100.0, {"shots": 20.0, "audio": 10.0})  # 2.0 + 1.0 declared = 0.3 measured
    weights = stage_weights(STAGES)
    assert weights["shots"] == pytest.approx(0.2)
    assert weights["faces"] == pytest.approx(1.0 * 0.3 / 3.0)


def running(owner: Any, progress: float, elapsed: float) -> Analysis:
    return Analysis.objects.create(
        video=video(owner, 60.0),
        status=AnalysisStatus.RUNNING,
        progress=progress,
        started_at=timezone.now() - timedelta(seconds=elapsed),
    )


def test_the_time_left_follows_the_pace_so_far_once_a_tenth_is_done(user: Any) -> None:
    early = running(user, 0.05, 30.0)
    assert eta_seconds(early, now=early.started_at + timedelta(seconds=30)) is None
    quarter = running(user, 0.25, 60.0)
    assert eta_seconds(quarter, now=quarter.started_at + timedelta(seconds=60)) == 180.0
    assert progress_event(quarter)["eta_seconds"] is not None
    quarter.status = AnalysisStatus.COMPLETED
    assert eta_seconds(quarter) is None


def test_the_api_gives_the_time_left(alice: Any, user: Any) -> None:
    began = timezone.now()
    analysis = running(user, 0.5, 40.0)
    body = alice.get(f"/api/analyses/{analysis.pk}").json()
    # Half done in 40 s (plus however long this request took): 40 s more.
    slack = (timezone.now() - began).total_seconds()
    assert 40.0 - 0.1 <= body["eta_seconds"] <= 40.0 + slack + 0.1
