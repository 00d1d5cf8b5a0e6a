"""The runner's lanes on a real clip with speech: the sound stages run beside the picture stages,
give the same results as one after the other, and a run killed in either lane resumes.

The lanes use database connections of their own, so these tests commit (``transaction=True``);
inside a test's transaction the runner runs every stage on one thread (``lanes_allowed``).
"""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest

from analysis import services
from analysis.models import Analysis, TranscriptSegment
from analysis.pipeline import DEFAULT_PIPELINE
from analysis.pipeline.runner import analysis_execute
from people.models import Speaker
from story.models import StorylineScene
from tests.fixtures_media import Clip

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]
SOUND = ("audio", "transcript", "speakers")


class Crash(BaseException):
    """Stands in for a worker killed mid-stage: nothing in the runner may catch it."""


def start(user: Any, clip: Clip) -> Analysis:
    video = services.video_create_from_path(owner=user, path=clip.path)
    return services.analysis_start(video=video, parameters={"num_storylines": 2}, enqueue=False)


def outcome(analysis: Analysis) -> dict[str, Any]:
    """What the run found, without ids or timings."""
    segments = TranscriptSegment.objects.filter(analysis=analysis).order_by("start_time")
    storylines = StorylineScene.objects.filter(scene__analysis=analysis).order_by("scene__index")
    return {
        "scenes": list(analysis.scenes.order_by("index").values_list("start_frame", "end_frame")),
        "transcript": [(s.scene.index, s.start_time, s.end_time, s.text) for s in segments],
        "speakers": Speaker.objects.filter(analysis=analysis).count(),
        "storylines": [
            (row.scene.index, row.storyline.order, row.storyline.name) for row in storylines
        ],
        "language": analysis.metadata["language"],
    }


def test_the_transcript_runs_while_the_picture_stages_do(user: Any, speech_clip: Clip) -> None:
    analysis = start(user, speech_clip)
    seen: dict[str, Any] = {}

    def hold_keyframes(current: Analysis) -> None:
        # Keep the main lane inside the keyframes stage until the sound lane finished the
        # transcript: one after the other, the transcript would never come.
        if current.current_stage != "keyframes" or threading.current_thread().name != "MainThread":
            return
        if "held" in seen:
            return
        seen["held"] = True
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline:
            done = Analysis.objects.get(pk=current.pk).completed_stages
            if "transcript" in done:
                seen["transcript_done_during_keyframes"] = "keyframes" not in done
                return
            time.sleep(0.2)

    done = analysis_execute(analysis_id=analysis.id, listener=hold_keyframes)
    assert done is not None and done.status == "completed", done.error if done else None
    assert seen.get("transcript_done_during_keyframes") is True
    assert sorted(done.completed_stages) == sorted(DEFAULT_PIPELINE)
    # The stages that read the transcript ran after it.
    order = done.completed_stages
    assert order.index("scene_index") > order.index("speakers") > order.index("transcript")
    assert order.index("storylines") > order.index("audio")
    assert set(done.metadata["stage_cpu_seconds"]) == set(DEFAULT_PIPELINE)
    assert done.progress == 1.0


def test_lanes_give_the_same_results_as_one_after_the_other(
    user: Any, speech_clip: Clip, settings: Any
) -> None:
    settings.ANALYSIS_LANES = False
    alone = analysis_execute(analysis_id=start(user, speech_clip).id)
    settings.ANALYSIS_LANES = True
    progress: list[float] = []
    together = analysis_execute(
        analysis_id=start(user, speech_clip).id, listener=lambda a: progress.append(a.progress)
    )
    assert alone is not None and together is not None
    assert alone.status == together.status == "completed", (alone.error, together.error)
    assert alone.completed_stages == DEFAULT_PIPELINE  # in pipeline order
    expected = outcome(alone)
    assert expected["transcript"] and expected["language"] == "en"
    assert outcome(together) == expected
    # Two lanes reporting at once still move the bar forward only.
    assert progress == sorted(progress)
    # Both runs keep the same metadata about what they did.
    for key in ("language", "faces", "speakers", "storylines", "scene_detector"):
        assert key in together.metadata, key


def in_transcript(current: Analysis) -> bool:
    """A report of the sound lane from inside the transcript stage."""
    return threading.current_thread().name == "lane-sound" and (
        current.current_stage == "transcript" or "Transcribing speech" in current.message
    )


def in_faces(current: Analysis) -> bool:
    return threading.current_thread().name == "MainThread" and current.current_stage == "faces"


@pytest.mark.parametrize(("stage", "inside"), [("transcript", in_transcript), ("faces", in_faces)])
def test_a_run_killed_in_one_lane_resumes_both(
    user: Any, speech_clip: Clip, stage: str, inside: Any
) -> None:
    analysis = start(user, speech_clip)

    def crash(current: Analysis) -> None:
        if inside(current):
            raise Crash()

    with pytest.raises(Crash):
        analysis_execute(analysis_id=analysis.id, listener=crash)
    analysis.refresh_from_db()
    assert analysis.status == "running"
    assert stage not in analysis.completed_stages
    assert {"probe", "shots"} <= set(analysis.completed_stages)
    scene_ids = list(analysis.scenes.order_by("index").values_list("id", flat=True))
    ran: set[str] = set()
    done = analysis_execute(analysis_id=analysis.id, listener=lambda a: ran.add(a.current_stage))
    assert done is not None and done.status == "completed", done.error if done else None
    assert "shots" not in ran  # not redone
    assert sorted(done.completed_stages) == sorted(DEFAULT_PIPELINE)
    assert list(done.scenes.order_by("index").values_list("id", flat=True)) == scene_ids
    segments = TranscriptSegment.objects.filter(analysis=done)
    assert segments.exists()
    # Each segment once, even though the transcript may have run twice.
    assert len({(s.start_time, s.text) for s in segments}) == segments.count()


def test_a_failure_in_the_sound_lane_fails_the_run_with_its_reason(
    user: Any, speech_clip: Clip
) -> None:
    analysis = start(user, speech_clip)
    # Subtitles from outside the media folder: the transcript stage refuses them.
    parameters = {**analysis.parameters, "subtitles_path": "/etc/passwd"}
    Analysis.objects.filter(pk=analysis.pk).update(parameters=parameters)
    done = analysis_execute(analysis_id=analysis.id)
    assert done is not None and done.status == "failed"
    assert "subtitles file must be" in done.error
    assert "transcript" not in done.completed_stages
    assert "storylines" not in done.completed_stages  # the main lane stopped too
