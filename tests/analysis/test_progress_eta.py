"""Stage weights from measured costs, and the time-left estimate built on them."""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.utils import timezone

from analysis import services, stagecosts
from analysis.models import Analysis, AnalysisStatus, Scene, Video
from analysis.pipeline import build_pipeline
from analysis.pipeline.runner import analysis_execute
from analysis.progress import eta_seconds, progress_event, stage_weights
from analysis.stagecosts import (
    OVERRUN,
    Going,
    TimeLeft,
    scenes_per_second,
    stage_costs,
)
from tests.fixtures_db import stored_video

pytestmark = pytest.mark.django_db


@dataclass
class FakeStage:
    name: str
    weight: float


STAGES = [FakeStage("shots", 2.0), FakeStage("audio", 1.0), FakeStage("faces", 1.0)]


def finished(owner: Any, duration: float, seconds: dict[str, float], **metadata: Any) -> Analysis:
    return Analysis.objects.create(
        video=stored_video(owner, duration),
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


def running(owner: Any, done: float, left: float | None, **fields: Any) -> Analysis:
    fields.setdefault("progress", done)
    return Analysis.objects.create(
        video=stored_video(owner, 60.0),
        status=AnalysisStatus.RUNNING,
        work_done=done,
        time_left_seconds=left,
        **fields,
    )


def test_the_time_left_is_shown_once_a_tenth_is_done_and_counts_down(user: Any) -> None:
    early = running(user, 0.05, 300.0)
    assert eta_seconds(early, now=early.updated_at) is None
    quarter = running(user, 0.25, 180.0)
    assert eta_seconds(quarter, now=quarter.updated_at) == 180.0
    assert eta_seconds(quarter, now=quarter.updated_at + timedelta(seconds=30)) == 150.0
    assert progress_event(quarter)["eta_seconds"] is not None
    quarter.status = AnalysisStatus.COMPLETED
    assert eta_seconds(quarter) is None


def test_the_time_left_is_shown_once_a_tenth_of_the_time_is_worked_with_the_bar_behind(
    user: Any,
) -> None:
    """A fresh process imports its libraries before the first stage, which no stage's share
    of the bar counts: the bar stands under a tenth while a tenth of the time went by."""
    lagging = running(user, 0.05, 90.0, work_seconds=12.0)  # 12 s of 102: over a tenth
    assert eta_seconds(lagging, now=lagging.updated_at) == 90.0
    starting = running(user, 0.05, 90.0, work_seconds=8.0)  # 8 s of 98: under a tenth
    assert eta_seconds(starting, now=starting.updated_at) is None


def test_no_time_left_is_shown_when_it_is_not_known(user: Any) -> None:
    unknown = running(user, 0.5, None)
    assert eta_seconds(unknown, now=unknown.updated_at) is None


def test_costs_are_learnt_as_a_fixed_part_a_part_per_second_and_the_loading(user: Any) -> None:
    # Warm runs: 2 s + 0.1 s per second of video. The cold run also loaded a model for 30 s.
    for duration in (10.0, 40.0, 100.0):
        finished(user, duration, {"faces": 2.0 + 0.1 * duration, "audio": 0.5 * duration})
    finished(user, 20.0, {"faces": 34.0, "audio": 10.0}, cold_stages=["faces"])
    costs = stage_costs(["faces", "audio", "ocr"])
    assert set(costs) == {"faces", "audio"}  # ocr was never timed
    assert costs["faces"].seconds(50.0, cold=False) == pytest.approx(7.0)
    assert costs["faces"].seconds(50.0, cold=True) == pytest.approx(37.0)
    assert costs["audio"].seconds(50.0, cold=False) == pytest.approx(25.0)
    # Audio never ran cold here: what its first run in a process costs is not known.
    assert costs["audio"].seconds(50.0, cold=True) is None


def test_videos_of_one_length_give_a_cost_in_proportion_to_it(user: Any) -> None:
    finished(user, 60.0, {"faces": 6.0})
    finished(user, 60.0, {"faces": 12.0})
    assert stage_costs(["faces"])["faces"].seconds(30.0, cold=False) == pytest.approx(4.5)


@dataclass
class Planned:
    name: str
    needs: tuple[str, ...] = ()
    lane: str = "main"


PLAN = [
    Planned("shots"),
    Planned("audio", ("shots",), "sound"),
    Planned("keyframes"),
    Planned("scene_index", ("audio",)),
]
EXPECTED = {"shots": 10.0, "audio": 30.0, "keyframes": 5.0, "scene_index": 2.0}


def measured(plan: TimeLeft, seconds: float = 10.0) -> TimeLeft:
    """``plan`` after its first stage took as long as expected: the pace is 1."""
    plan.finished("shots", seconds * plan.expected["shots"] / 10.0, at=seconds)
    return plan


def test_the_time_left_lays_the_stages_out_on_their_lanes() -> None:
    lanes = {p.name: p.lane for p in PLAN}
    # Keyframes runs beside audio; scene index waits for audio: 30 + 2.
    assert measured(TimeLeft(PLAN, lanes, dict(EXPECTED))).seconds(at=10.0) == pytest.approx(32.0)
    # One lane: every stage after the other.
    assert measured(TimeLeft(PLAN, {}, dict(EXPECTED))).seconds(at=10.0) == pytest.approx(37.0)


def test_no_time_left_before_the_attempt_measured_work_of_its_own() -> None:
    # A resumed attempt: shots was done by the crashed one; audio starts in a fresh process.
    plan = TimeLeft(PLAN, {}, dict(EXPECTED), done=["shots"])
    assert plan.seconds([Going("audio", 0.0, 0.0)], at=0.0) is None
    # Loading its model for 40 s and reporting nothing: still none, and not 40 s of pace.
    assert plan.seconds([Going("audio", 0.0, 40.0)], at=40.0) is None
    # Its work shows: a tenth at 41 s, not enough seconds of it yet.
    assert plan.seconds([Going("audio", 0.1, 41.0)], at=41.0) is None
    # 7 s later, 7 s of its 30 s done more: the history's pace.
    left = plan.seconds([Going("audio", 0.1 + 7.0 / 30.0, 48.0)], at=48.0)
    assert left is not None
    assert left == pytest.approx(30.0 * (2.0 / 3.0) + 5.0 + 2.0, rel=0.2)


def test_the_run_s_own_pace_scales_what_is_left() -> None:
    plan = TimeLeft(PLAN, {}, dict(EXPECTED))
    plan.finished("shots", 30.0, at=30.0)  # expected 10 s: this run is slower than the history
    pace = plan.pace()
    assert 1.5 < pace < 3.0  # towards 3, held back by the prior until more is seen
    assert plan.seconds(at=30.0) == pytest.approx(37.0 * pace)
    plan.finished("keyframes", 15.0, at=45.0)  # 3x again: more sure of it
    assert pace < plan.pace() < 3.0


def test_one_stage_the_history_mispriced_does_not_set_the_pace() -> None:
    expected = {**EXPECTED, "shots": 600.0}  # a first run's compiling, taken for its cost
    plan = TimeLeft(PLAN, {}, expected)
    plan.finished("shots", 20.0, at=20.0)  # 30 times quicker: counted as 4 times (PACE_LIMITS)
    plan.finished("audio", 60.0, at=80.0)  # twice as slow as expected
    assert 1.0 < plan.pace() < 2.0  # a ratio of sums would say 80 / 630: eight times quicker


def run_stages(
    plan: TimeLeft, costs: list[tuple[str, float]], speed: Any
) -> list[tuple[float, float | None, float]]:
    """Run ``costs`` (name, expected seconds) one after another, each reporting its fraction
    every second at the machine's ``speed(t)`` (expected seconds done per second): (time,
    estimate, truth) at every report."""
    t, trace, ends = 0.0, [], []
    for name, cost in costs:
        began, done = t, 0.0
        while done < cost:
            done += speed(t)
            t += 1.0
            trace.append((t, plan.seconds([Going(name, min(done / cost, 1.0), t - began)], at=t)))
        plan.finished(name, t - began, at=t)
        ends.append(t)
    return [(at, eta, t - at) for at, eta in trace]


def within(trace: list[tuple[float, float | None, float]], after: float) -> float:
    """Share of the estimates from ``after`` seconds on within ±20 % of the truth."""
    shown = [(eta, truth) for at, eta, truth in trace if at >= after and eta is not None]
    return sum(abs(eta - truth) <= 0.2 * truth for eta, truth in shown) / len(shown)


def test_the_pace_follows_the_machine_when_its_load_changes_mid_run(monkeypatch: Any) -> None:
    stages = [Planned(f"s{i}") for i in range(8)]
    costs = [(s.name, 30.0) for s in stages]

    def run() -> list[tuple[float, float | None, float]]:
        # The first half at the history's speed, then another job halves it.
        return run_stages(
            TimeLeft(stages, {}, dict(costs)), costs, lambda t: 1.0 if t < 120 else 0.5
        )

    trace = run()
    # Two minutes after the change, the estimates are right within a fifth.
    assert within(trace, after=240.0) >= 0.9
    # A pace of the whole attempt alike (no more weight for recent work) lags behind.
    monkeypatch.setattr(stagecosts, "HALF_LIFE", math.inf)
    assert within(run(), after=240.0) < within(trace, after=240.0)


def test_a_stage_past_its_cost_still_has_time_left() -> None:
    plan = TimeLeft(PLAN, {}, dict(EXPECTED), done=["shots", "audio"])
    plan.finished("keyframes", 5.0, at=5.0)  # as expected: the pace is 1
    # scene_index was expected to take 2 s, has run 8 s and says nothing of its progress.
    left = plan.seconds([Going("scene_index", 0.0, 8.0)], at=13.0)
    assert left == pytest.approx(OVERRUN * 8.0)


def test_a_stage_in_progress_blends_its_cost_with_its_own_pace() -> None:
    plan = TimeLeft(PLAN, {}, dict(EXPECTED), done=["shots", "audio"])
    plan.finished("keyframes", 5.0, at=5.0)
    assert plan.seconds([Going("scene_index", 0.1, 1.0)], at=6.0) is not None  # first progress
    # From 10 % to 50 % in 4 s: its own pace leaves 5 s where its cost of 2 s left 1 s; with
    # 44 % of its work seen, its own pace counts most.
    left = plan.seconds([Going("scene_index", 0.5, 5.0)], at=10.0)
    assert left is not None and 3.0 < left < 5.0


def test_a_resumed_stage_s_loading_is_not_its_pace() -> None:
    """After a crash the fresh process loads audio's model (40 s where the history said 10 s of
    loading), then works at the history's pace: the estimate is the history's, not 4x."""
    plan = TimeLeft(PLAN, {}, dict(EXPECTED), done=["shots"], load={"audio": 10.0})
    plan.seconds([Going("audio", 0.0, 40.0)], at=40.0)
    plan.seconds([Going("audio", 0.05, 40.5)], at=40.5)
    left = plan.seconds([Going("audio", 0.05 + 6.0 / 20.0, 46.5)], at=46.5)
    truth = 20.0 * (1 - 0.35) + 5.0 + 2.0  # audio's work was 20 s of its 30 expected
    assert left == pytest.approx(truth, rel=0.2)


def test_a_stage_without_a_cost_makes_the_time_left_unknown() -> None:
    expected = {k: v for k, v in EXPECTED.items() if k != "keyframes"}
    assert measured(TimeLeft(PLAN, {}, dict(expected))).seconds(at=10.0) is None
    assert measured(TimeLeft(PLAN, {}, expected, done=["keyframes"])).seconds(at=10.0) == 32.0


def test_the_api_gives_the_time_left(alice: Any, user: Any) -> None:
    analysis = running(user, 0.5, 40.0)
    body = alice.get(f"/api/analyses/{analysis.pk}").json()
    # 40 s left at the last report, less however long since it was saved.
    slack = (timezone.now() - analysis.updated_at).total_seconds()
    assert 40.0 - slack - 0.1 <= body["eta_seconds"] <= 40.0 + 0.1


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
    at, worked, work_done, progress, _eta = seen[0]  # audio begins again
    # The kept work's time and this attempt's so far: not the hour down.
    assert kept <= worked <= kept + at
    assert work_done == pytest.approx(kept_share, abs=1e-3) and progress >= round(work_done, 4)
    # No finished analysis timed these stages here: no estimate rather than a made-up one.
    assert all(e is None for *_, e in seen)
    assert all(w <= kept + a for a, w, *_ in seen)


@pytest.mark.slow
def test_a_resumed_attempt_gives_no_time_left_before_it_measured_work(
    user: Any, three_shot_clip: Path
) -> None:
    """With every stage timed here, a resumed attempt still starts without an estimate: its
    new process's first seconds (loading, catching up) are not the run's pace."""
    stages = ["probe", "shots", "keyframes", "audio"]

    def started() -> Analysis:
        video_row = services.video_create_from_path(owner=user, path=three_shot_clip)
        analysis = services.analysis_start(video=video_row, parameters={}, enqueue=False)
        Analysis.objects.filter(pk=analysis.pk).update(parameters={"stages": stages})
        return analysis

    timed = analysis_execute(analysis_id=started().pk)  # the history: each stage's cost
    assert timed is not None and timed.status == "completed"
    analysis = started()

    def crash_in_audio(current: Analysis) -> None:
        if current.current_stage == "audio":
            raise Crash()

    with pytest.raises(Crash):
        analysis_execute(analysis_id=analysis.pk, listener=crash_in_audio)
    seen: list[tuple[str, float | None]] = []
    done = analysis_execute(
        analysis_id=analysis.pk,
        listener=lambda current: seen.append((current.current_stage, current.time_left_seconds)),
    )
    assert done is not None and done.status == "completed" and done.attempts == 2
    assert seen[0] == ("audio", None)  # known costs, but nothing measured yet


def with_scenes(analysis: Analysis, count: int) -> Analysis:
    length = analysis.video.duration / count
    Scene.objects.bulk_create(
        Scene(
            analysis=analysis,
            index=i,
            start_time=i * length,
            end_time=(i + 1) * length,
            start_frame=round(i * length * 25),
            end_frame=round((i + 1) * length * 25),
        )
        for i in range(count)
    )
    return analysis


def test_a_stage_whose_cost_follows_the_scenes_is_priced_per_scene(user: Any) -> None:
    # Faces cost 2 s a scene whatever the length; shots 0.5 s a second whatever the scenes.
    for duration, scenes in ((60.0, 10), (60.0, 30), (20.0, 5)):
        seconds = {"faces": 2.0 * scenes, "shots": 0.5 * duration}
        with_scenes(finished(user, duration, seconds), scenes)
    costs = stage_costs(["faces", "shots"])
    assert costs["faces"].per_scene and not costs["shots"].per_scene
    assert costs["faces"].seconds(100.0, cold=False, scenes=7) == pytest.approx(14.0)
    assert costs["shots"].seconds(100.0, cold=False, scenes=7) == pytest.approx(50.0)
    assert scenes_per_second() == pytest.approx(0.25)  # median of 1/6, 1/2 and 1/4


def test_without_sound_the_stages_that_listen_cost_nothing(user: Any) -> None:
    finished(user, 60.0, {"transcript": 30.0, "shots": 6.0})  # a video with sound
    costs = stage_costs(["transcript", "shots"], has_audio=False, listening={"transcript"})
    assert costs["transcript"].seconds(60.0, cold=True) == 0.0
    assert costs["shots"].seconds(60.0, cold=False) == pytest.approx(6.0)
    heard = stage_costs(["transcript"], has_audio=True, listening={"transcript"})
    assert heard["transcript"].seconds(60.0, cold=False) == pytest.approx(30.0)


def test_counting_the_scenes_prices_the_stages_still_to_do() -> None:
    plan = TimeLeft(PLAN, {}, dict(EXPECTED), reprice=lambda n, _speech: {"keyframes": 1.0 * n})
    plan.finished("shots", 10.0)
    plan.scenes_known(20)
    assert plan.expected["keyframes"] == 20.0 and plan.expected["shots"] == 10.0
    assert plan.seconds() == pytest.approx(30.0 + 20.0 + 2.0)


def with_speech(analysis: Analysis, count: int, share: float) -> Analysis:
    """``count`` scenes, each with ``share`` of its time speech (as the audio stage finds)."""
    from analysis.models import SceneAudioFeatures

    with_scenes(analysis, count)
    SceneAudioFeatures.objects.bulk_create(
        SceneAudioFeatures(
            scene=scene,
            rms_energy=0.1,
            spectral_centroid_mean=1000.0,
            zero_crossing_rate=0.1,
            tempo=0.0,
            speech_ratio=share,
        )
        for scene in analysis.scenes.all()
    )
    return analysis


def test_the_transcript_is_priced_per_second_of_speech(user: Any) -> None:
    # Whisper took 1.5 s per second of speech, whatever the length: 60 s with a tenth of it
    # speech, 60 s nearly all speech, 20 s half of it.
    for duration, share in ((60.0, 0.1), (60.0, 0.9), (20.0, 0.5)):
        talk = duration * share
        with_speech(finished(user, duration, {"transcript": 1.5 * talk}), 4, share)
    costs = stage_costs(["transcript"], follows={"transcript": "speech"})
    assert costs["transcript"].per_speech
    assert costs["transcript"].seconds(100.0, cold=False, speech=30.0) == pytest.approx(45.0)
    # Learnt per second of video, one film with little speech and one with much disagree.
    by_length = stage_costs(["transcript"])["transcript"].seconds(100.0, cold=False)
    assert by_length == pytest.approx(100.0 * 0.75)  # the median of 0.15, 1.35 and 0.75


def test_finding_the_speech_prices_the_transcript() -> None:
    plan = TimeLeft(
        PLAN,
        {},
        dict(EXPECTED),
        reprice=lambda _scenes, speech: {"scene_index": 0.5 * (speech or 0.0)},
    )
    plan.finished("shots", 10.0)
    plan.finished("audio", 30.0)
    plan.speech_known(40.0)
    assert plan.expected["scene_index"] == 20.0


def test_a_stage_declared_per_scene_waits_for_scene_counts_that_tell_its_parts_apart(
    user: Any,
) -> None:
    # Faces work scene by scene: 4 s a run plus 1 s a scene. Learnt on a one-scene film alone,
    # its 5 s are not the cost of one scene (36 x 5 s for 36 scenes) nor of any film of that
    # length (5 s): until scene counts tell the parts apart, the cost grows with the square
    # root of the scenes (5 s x 6).
    with_scenes(finished(user, 60.0, {"faces": 5.0}), 1)
    alone = stage_costs(["faces"], follows={"faces": "scenes"})["faces"]
    assert not alone.per_scene and alone.hedged
    assert alone.seconds(60.0, cold=False, scenes=36) == pytest.approx(30.0)
    assert alone.seconds(60.0, cold=False, scenes=1) == pytest.approx(5.0)
    # A second film with 11 scenes tells the two parts apart: 4 s + 1 s a scene.
    with_scenes(finished(user, 60.0, {"faces": 15.0}), 11)
    both = stage_costs(["faces"], follows={"faces": "scenes"})["faces"]
    assert both.per_scene
    assert both.seconds(60.0, cold=False, scenes=36) == pytest.approx(40.0)


def test_a_first_run_that_compiled_kernels_is_not_the_loading_of_later_first_runs(
    user: Any,
) -> None:
    # Audio: 0.5 s per second of video warm. Its first run on this installation compiled
    # librosa's kernels into an empty cache (+300 s); the next first run in a process loaded
    # them (+10 s).
    finished(user, 60.0, {"audio": 330.0}, cold_stages=["audio"])
    finished(user, 60.0, {"audio": 30.0})
    finished(user, 60.0, {"audio": 40.0}, cold_stages=["audio"])
    cost = stage_costs(["audio"])["audio"]
    assert cost.seconds(60.0, cold=True) == pytest.approx(40.0)


def test_two_lengths_tell_a_fixed_cost_from_a_cost_per_second(user: Any) -> None:
    # Storylines: 3 s a run plus 0.05 s per second of video, timed on two films.
    finished(user, 20.0, {"storylines": 4.0})
    finished(user, 200.0, {"storylines": 13.0})
    cost = stage_costs(["storylines"])["storylines"]
    assert cost.seconds(100.0, cold=False) == pytest.approx(8.0)


def test_a_silent_video_s_picture_stages_are_learnt_from_silent_videos(user: Any) -> None:
    # Faces took 40 s on a film with sound (the sound lane ran beside it), 20 s on a silent
    # one of the same length and scenes: alone, it had the cores to itself.
    finished(user, 60.0, {"faces": 40.0})
    silent = finished(user, 60.0, {"faces": 20.0})
    Video.objects.filter(pk=silent.video_id).update(has_audio=False)
    assert stage_costs(["faces"], has_audio=False)["faces"].seconds(60.0, False) == 20.0
    assert stage_costs(["faces"], has_audio=True)["faces"].seconds(60.0, False) == 40.0


def test_a_stage_s_cpu_time_tells_the_machine_s_pace_apart_from_a_mispriced_cost() -> None:
    # Shots usually takes 3 wall seconds per CPU second here. This film's shots took 30 s
    # where its cost said 10 s, on 10 CPU seconds: its content cost more, the machine is as
    # usual, and the stages to come keep their costs.
    usual = TimeLeft(PLAN, {}, dict(EXPECTED), per_cpu={"shots": 3.0})
    usual.finished("shots", 30.0, at=30.0, cpu=10.0)
    assert usual.pace() == pytest.approx(1.0)
    assert usual.seconds(at=30.0) == pytest.approx(37.0)
    # On 5 CPU seconds, it got half the CPU it usually gets: the machine is busier.
    busy = TimeLeft(PLAN, {}, dict(EXPECTED), per_cpu={"shots": 3.0})
    busy.finished("shots", 30.0, at=30.0, cpu=5.0)
    assert 1.3 < busy.pace() < 2.0  # towards 2, held back by the prior
    # Without its CPU time, the cost's error is read as the machine's pace.
    blind = TimeLeft(PLAN, {}, dict(EXPECTED))
    blind.finished("shots", 30.0, at=30.0)
    assert blind.pace() > busy.pace()


def test_wall_seconds_per_cpu_second_are_learnt_from_warm_runs(user: Any) -> None:
    finished(user, 60.0, {"faces": 30.0}, stage_cpu_seconds={"faces": 10.0})
    finished(user, 60.0, {"faces": 20.0}, stage_cpu_seconds={"faces": 10.0})
    finished(user, 60.0, {"faces": 90.0}, stage_cpu_seconds={"faces": 10.0}, cold_stages=["faces"])
    assert stage_costs(["faces"])["faces"].per_cpu == pytest.approx(2.5)


def test_a_silent_video_s_first_run_loads_as_silent_videos_first_runs_did(user: Any) -> None:
    # Faces: 40 s warm beside the sound lane, 100 s on a first run there; 20 s warm on a
    # silent film, 30 s on a first run of one. The first run with sound is no measure of the
    # silent one's loading (its extra over the silent warm run is mostly the lane beside).
    finished(user, 60.0, {"faces": 100.0}, cold_stages=["faces"])
    finished(user, 60.0, {"faces": 40.0})
    for seconds, cold in ((30.0, ["faces"]), (20.0, [])):
        silent = finished(user, 60.0, {"faces": seconds}, cold_stages=cold)
        Video.objects.filter(pk=silent.video_id).update(has_audio=False)
    assert stage_costs(["faces"], has_audio=False)["faces"].seconds(60.0, True) == 30.0
    assert stage_costs(["faces"], has_audio=True)["faces"].seconds(60.0, True) == 100.0
