"""The pipeline runner end to end on a real clip: completion, resume, cancel, failure."""

from __future__ import annotations

import io
import json
import os
import re
from pathlib import Path
from typing import Any

import pytest

from analysis import services
from analysis.models import Analysis, Scene, SceneAudioFeatures, Video
from analysis.pipeline import DEFAULT_PIPELINE
from analysis.pipeline.runner import analysis_execute
from analysis.selectors import analysis_result_path, analysis_status_json
from story.models import SceneFeatures, StorylineScene
from tests.decode_spy import decoding, spy_on_av_open
from vision.models import SceneObjects

pytestmark = [pytest.mark.django_db, pytest.mark.slow]


class Crash(BaseException):
    """Stands in for a worker killed mid-stage: nothing in the runner may catch it."""


def start(user: Any, clip: Path, **params: Any) -> Analysis:
    video = services.video_create_from_path(owner=user, path=clip)
    return services.analysis_start(video=video, parameters=params, enqueue=False)


def assert_usage_recorded(done: Analysis) -> None:
    """Every stage's CPU seconds and the run's totals are in the metadata and add up."""
    cpu = done.metadata["stage_cpu_seconds"]
    usage = done.metadata["usage"]
    assert set(cpu) == set(done.completed_stages)
    assert all(seconds >= 0 for seconds in cpu.values())
    # The decode pass and Whisper cannot run without the CPU; the ledger shares the run's CPU
    # time among the stages, so they never add up to more than the run's.
    assert cpu["shots"] > 0 and cpu["transcript"] > 0
    assert sum(cpu.values()) <= usage["cpu_seconds"] + 0.01
    assert usage["cores"] >= 1 and usage["wall_seconds"] == done.analysis_time_seconds
    expected_idle = usage["cores"] * usage["wall_seconds"] - usage["cpu_seconds"]
    assert usage["idle_core_seconds"] == pytest.approx(max(0.0, expected_idle), abs=0.01)


def test_full_run_completes_with_every_stage_timed(user: Any, three_shot_clip: Path) -> None:
    analysis = start(user, three_shot_clip, num_storylines=2)
    seen: list[tuple[str, float]] = []
    done = analysis_execute(
        analysis_id=analysis.id, listener=lambda a: seen.append((a.current_stage, a.progress))
    )
    assert done is not None and done.status == "completed", done.error if done else None
    assert done.progress == 1.0 and done.completed_stages == DEFAULT_PIPELINE
    assert set(done.metadata["stage_seconds"]) == set(DEFAULT_PIPELINE)
    assert done.analysis_time_seconds and done.analysis_time_seconds > 0
    assert_usage_recorded(done)
    # A stage that saves facts on the row itself (the keyframes' strip) keeps them.
    assert done.metadata["thumbnail_strip"]["count"] >= 3
    # Progress rose monotonically through the stages in order.
    progresses = [p for _, p in seen]
    assert progresses == sorted(progresses)
    stages_in_order = list(dict.fromkeys(stage for stage, _ in seen))
    assert stages_in_order == DEFAULT_PIPELINE
    # Three shots with hard cuts at frames 30 and 60.
    scenes = list(done.scenes.order_by("index"))
    assert [s.start_frame for s in scenes] == [0, 30, 60]
    assert all(s.keyframe.name and Path(s.keyframe.path).is_file() for s in scenes)
    assert SceneAudioFeatures.objects.filter(scene__analysis=done).count() == 3
    assert StorylineScene.objects.filter(scene__analysis=done).count() == 3
    assert done.storylines.count() == 2
    # The result is in the original shape and also kept as a file.
    body = analysis_status_json(done)
    assert body["result"]["total_scenes"] == 3
    stored = json.loads(analysis_result_path(done).read_text())
    assert stored["total_scenes"] == 3 and stored["metadata"]["fps"] == pytest.approx(25)


def test_a_killed_run_resumes_from_the_last_finished_stage(
    user: Any, three_shot_clip: Path
) -> None:
    analysis = start(user, three_shot_clip, num_storylines=1)

    def crash_in_audio(current: Analysis) -> None:
        if current.current_stage == "audio":
            raise Crash()

    with pytest.raises(Crash):
        analysis_execute(analysis_id=analysis.id, listener=crash_in_audio)
    analysis.refresh_from_db()
    assert analysis.status == "running"
    assert analysis.completed_stages == ["probe", "shots", "keyframes"]
    first_attempt = analysis.metadata["usage"]
    scene_ids = list(analysis.scenes.order_by("index").values_list("id", flat=True))
    calls: list[str] = []
    done = analysis_execute(
        analysis_id=analysis.id, listener=lambda a: calls.append(a.current_stage)
    )
    assert done is not None and done.status == "completed"
    assert "shots" not in calls and "keyframes" not in calls  # not redone
    assert list(done.scenes.order_by("index").values_list("id", flat=True)) == scene_ids
    assert done.attempts == 2
    assert Scene.objects.filter(analysis=done).count() == 3
    # The run's time and CPU seconds count both attempts.
    assert done.metadata["usage"]["wall_seconds"] > first_attempt["wall_seconds"]
    assert done.metadata["usage"]["cpu_seconds"] > first_attempt["cpu_seconds"]
    assert_usage_recorded(done)


def test_a_rerun_of_a_stage_replaces_its_rows(user: Any, three_shot_clip: Path) -> None:
    analysis = start(user, three_shot_clip, num_storylines=1)
    analysis_execute(analysis_id=analysis.id)
    # Pretend the last stages never finished, as after a crash during their commit.
    Analysis.objects.filter(pk=analysis.pk).update(
        status="running", completed_stages=["probe", "shots", "keyframes"]
    )
    done = analysis_execute(analysis_id=analysis.id)
    assert done is not None and done.status == "completed"
    assert SceneAudioFeatures.objects.filter(scene__analysis=done).count() == 3
    assert StorylineScene.objects.filter(scene__analysis=done).count() == 3


def test_each_run_decodes_the_video_frames_once(
    user: Any, three_shot_clip: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Three frames a scene: the faces stage reads more than the stored keyframes.
    analysis = start(user, three_shot_clip, num_storylines=1, face_frames_per_scene=3)
    opened = spy_on_av_open(monkeypatch)
    done = analysis_execute(analysis_id=analysis.id)
    assert done is not None and done.status == "completed", done.error if done else None
    assert done.completed_stages == DEFAULT_PIPELINE
    # Probes read the first picture only; the shots stage's pass reads every frame, once.
    (decoded,) = decoding(opened)
    assert decoded.video_reads >= 90 and all(c.video_reads <= 1 for c in opened if c != decoded)
    # Every consumer of pictures got them from that pass.
    assert done.metadata["faces"]["frames"] > 2 * 3
    scenes = list(done.scenes.order_by("index"))
    assert all(s.keyframe.name for s in scenes)
    features = [SceneFeatures.objects.get(scene=s).data for s in scenes]
    assert all(len(f["colour"]) == 8 * 6 * 3 for f in features)
    assert features[0]["motion"] > 0 and features[1]["motion"] == 0  # testsrc2 moves, bars not
    assert all(o.motion is not None for o in SceneObjects.objects.filter(analysis=done))

    # The run's scratch files are gone once it completes: a run of the later stages makes them
    # again, with one pass for all of them.
    Analysis.objects.filter(pk=analysis.pk).update(
        status="running", completed_stages=["probe", "shots", "keyframes"]
    )
    opened.clear()
    again = analysis_execute(analysis_id=analysis.id)
    assert again is not None and again.status == "completed", again.error if again else None
    (decoded,) = decoding(opened)
    assert decoded.video_reads >= 90
    assert [SceneFeatures.objects.get(scene=s).data["colour"] for s in scenes] == [
        f["colour"] for f in features
    ]


def test_cancel_stops_the_run(user: Any, three_shot_clip: Path) -> None:
    analysis = start(user, three_shot_clip)
    reached: list[str] = []

    def cancel_in_keyframes(current: Analysis) -> None:
        reached.append(current.current_stage)
        if current.current_stage == "keyframes":
            services.analysis_cancel(analysis=Analysis.objects.get(pk=current.pk))

    done = analysis_execute(analysis_id=analysis.id, listener=cancel_in_keyframes)
    assert done is not None and done.status == "cancelled"
    assert "transcript" not in reached
    assert "storylines" not in done.completed_stages
    # A cancelled analysis is not picked up again.
    assert analysis_execute(analysis_id=analysis.id) is None


def test_a_file_broken_after_upload_fails_with_a_reason(user: Any, three_shot_clip: Path) -> None:
    analysis = start(user, three_shot_clip)
    Path(analysis.video.file.path).write_bytes(b"garbage" * 10)
    done = analysis_execute(analysis_id=analysis.id)
    assert done is not None and done.status == "failed"
    assert "not a video" in done.error
    assert done.finished_at is not None


def test_a_completed_analysis_is_not_run_twice(user: Any, three_shot_clip: Path) -> None:
    analysis = start(user, three_shot_clip, num_storylines=1)
    analysis_execute(analysis_id=analysis.id)
    assert analysis_execute(analysis_id=analysis.id) is None
    assert Video.objects.count() == 1


def test_deleting_a_video_leaves_no_file_behind(
    user: Any, three_shot_clip: Path, settings: Any, django_capture_on_commit_callbacks: Any
) -> None:
    analysis = start(user, three_shot_clip, num_storylines=1)
    analysis_execute(analysis_id=analysis.id)
    media = Path(settings.MEDIA_ROOT)
    assert any((media / "analyses" / str(analysis.id)).iterdir())
    assert analysis_result_path(analysis).exists()
    with django_capture_on_commit_callbacks(execute=True):
        services.video_delete(video=analysis.video)
    assert [p for p in media.rglob("*") if p.is_file()] == []
    assert not analysis_result_path(analysis).exists()


def test_analyze_command_runs_in_the_foreground(
    user: Any, three_shot_clip: Path, tmp_path: Path
) -> None:
    from django.core.management import call_command

    out = tmp_path / "result.json"
    call_command("analyze", str(three_shot_clip), "--storylines", "2", "--json", str(out))
    body = json.loads(out.read_text())
    assert body["status"] == "completed"
    assert body["result"]["total_scenes"] == 3
    assert len(body["result"]["storylines"]) == 2
    assert Analysis.objects.get(pk=body["task_id"]).video.owner.username == "cli"


def test_analyze_command_shows_the_time_left(user: Any, three_shot_clip: Path) -> None:
    """The bar's line says how long is left once the installation has timed the stages (the
    first run has nothing to go on, the second has the first's timings)."""
    from django.core.management import call_command

    lines = []
    for _ in range(2):
        err = io.StringIO()
        call_command("analyze", str(three_shot_clip), "--json", os.devnull, stderr=err)
        lines.append(err.getvalue())
    assert "estimating the time left" in lines[0]
    assert re.search(r"(about [0-9.]+ (min|h)|less than a minute) left", lines[1]), lines[1]


def test_analyze_command_reports_a_bad_file(tmp_path: Path) -> None:
    from django.core.management import CommandError, call_command

    bad = tmp_path / "bad.mp4"
    bad.write_bytes(b"not a video at all")
    with pytest.raises(CommandError, match="not a video"):
        call_command("analyze", str(bad))
