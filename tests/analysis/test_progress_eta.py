"""Stage weights from measured costs, and the time-left estimate built on them."""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.utils import timezone

from analysis import services
from analysis.models import Analysis, AnalysisStatus, Video
from analysis.pipeline import build_pipeline
from analysis.pipeline.runner import analysis_execute
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


def test_cold_runs_weigh_a_stage_apart_from_warm_ones(user: Any) -> None:
    # Audio's first run in a process compiled its kernels: 2.0 s per second of video, 0.1 later.
    finished(
        user, 10.0, {"shots": 2.0, "audio": 20.0, "faces": 2.0}, cold_stages=["shots", "audio"]
    )
    finished(user, 10.0, {"shots": 1.0, "audio": 1.0, "faces": 2.0})
    warm = stage_weights(STAGES)
    assert warm == pytest.approx({"shots": 0.1, "audio": 0.1, "faces": 0.2})
    cold = stage_weights(STAGES, cold=["audio", "faces"])
    # Faces never ran cold here: its warm runs stand in.
    assert cold == pytest.approx({"shots": 0.1, "audio": 2.0, "faces": 0.2})


def running(owner: Any, done: float, worked: float, **fields: Any) -> Analysis:
    fields.setdefault("progress", done)
    return Analysis.objects.create(
        video=video(owner, 60.0),
        status=AnalysisStatus.RUNNING,
        work_done=done,
        work_seconds=worked,
        started_at=timezone.now() - timedelta(seconds=worked),
        **fields,
    )


def test_the_time_left_follows_the_pace_of_the_work_once_a_tenth_is_done(user: Any) -> None:
    early = running(user, 0.05, 30.0)
    assert eta_seconds(early, now=early.updated_at) is None
    quarter = running(user, 0.25, 60.0)
    assert eta_seconds(quarter, now=quarter.updated_at) == 180.0
    # 30 s without a report: the work so far took longer, so what is left will too.
    assert eta_seconds(quarter, now=quarter.updated_at + timedelta(seconds=30)) == 270.0
    assert progress_event(quarter)["eta_seconds"] is not None
    quarter.status = AnalysisStatus.COMPLETED
    assert eta_seconds(quarter) is None


def test_a_resumed_run_counts_neither_the_time_down_nor_the_lost_work(user: Any) -> None:
    # Started an hour ago; the bar stands at 60 %, but the crash lost the stage in progress:
    # the kept work is 40 % of the whole, done in 80 s of work.
    resumed = running(user, 0.4, 80.0, progress=0.6)
    resumed.started_at = timezone.now() - timedelta(hours=1)
    assert eta_seconds(resumed, now=resumed.updated_at) == 120.0


def test_the_api_gives_the_time_left(alice: Any, user: Any) -> None:
    analysis = running(user, 0.5, 40.0)
    body = alice.get(f"/api/analyses/{analysis.pk}").json()
    # Half done in 40 s of work (plus however long since it was saved): 40 s more at least.
    slack = (timezone.now() - analysis.updated_at).total_seconds()
    assert 40.0 - 0.1 <= body["eta_seconds"] <= 40.0 + slack + 0.1


class Crash(BaseException):
    """Stands in for a worker killed mid-stage: nothing in the runner may catch it."""


@pytest.mark.slow
def test_a_run_resumed_after_a_crash_estimates_from_its_kept_work(
    user: Any, three_shot_clip: Path
) -> None:
    stages = ["probe", "shots", "keyframes", "audio"]
    video_row = services.video_create_from_path(owner=user, path=three_shot_clip)
    analysis = services.analysis_start(video=video_row, parameters={}, enqueue=False)
    # The first stages only (a pipeline of the runner's, not a request's parameter): quicker.
    Analysis.objects.filter(pk=analysis.pk).update(parameters={"stages": stages})

    def crash_in_audio(current: Analysis) -> None:
        if current.current_stage == "audio":
            raise Crash()

    with pytest.raises(Crash):
        analysis_execute(analysis_id=analysis.id, listener=crash_in_audio)
    analysis.refresh_from_db()
    kept = analysis.metadata["usage"]["wall_seconds"]
    # The takeover came an hour later (recovery waits for the lease to run out).
    Analysis.objects.filter(pk=analysis.pk).update(started_at=timezone.now() - timedelta(hours=1))

    seen: list[tuple[float, float, float, float, float | None]] = []
    began = time.perf_counter()

    def watch(current: Analysis) -> None:
        at = time.perf_counter() - began
        eta = eta_seconds(current, now=current.updated_at)
        seen.append((at, current.work_seconds, current.work_done, current.progress, eta))

    weights = stage_weights(build_pipeline(stages))  # as the resumed run will weigh them
    kept_share = sum(weights[name] for name in stages[:3]) / sum(weights.values())
    done = analysis_execute(analysis_id=analysis.id, listener=watch)
    assert done is not None and done.status == "completed" and done.attempts == 2
    at, worked, work_done, progress, eta = seen[0]  # audio begins again
    # The kept work's time and this attempt's so far: not the hour down.
    assert kept <= worked <= kept + at
    assert work_done == pytest.approx(kept_share, abs=1e-3) and progress >= round(work_done, 4)
    if work_done >= 0.1:
        assert eta == pytest.approx(worked * (1 - work_done) / work_done, abs=0.1)
    assert all(w <= kept + a for a, w, *_ in seen)
