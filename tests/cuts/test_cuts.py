"""Cut review on a real colour clip: add, remove and move cuts, undo, bad input, the re-run.

The clip (tests/fixtures_timeline.py) has six solid-colour shots of 1.0, 1.6, 1.2, 2.0, 1.4 and
1.8 s at 25 fps with a sine tone; its seeded analysis has one scene per shot in two storylines
and a made-up transcript with word times. The re-run is the real pipeline runner on the clip.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from channels.layers import get_channel_layer
from django.test import Client
from django.utils import timezone

from analysis.models import Analysis, AnalysisStatus, Scene, SceneAudioFeatures, TranscriptSegment
from analysis.pipeline.runner import analysis_execute
from analysis.progress import eta_seconds, tenth_done
from cuts import services
from cuts.models import CutEdit
from cuts.services import CutBusy, CutError, CutNotFound
from exports.selectors import analysis_fingerprint
from story.models import (
    MembershipSource,
    SceneConfidence,
    SceneFeatures,
    SceneRelevance,
    StorylineScene,
)
from tests.decode_spy import decoding, spy_on_av_open
from vision.models import SceneCaption, SceneEmbedding, SceneIndex, SceneObjects

pytestmark = pytest.mark.django_db


def bounds(analysis: Analysis) -> list[tuple[int, float, float, int, int]]:
    return list(
        analysis.scenes.order_by("index").values_list(
            "pk", "start_time", "end_time", "start_frame", "end_frame"
        )
    )


def words_by_scene(analysis: Analysis) -> dict[int, list[float]]:
    """Word start times per scene pk."""
    found: dict[int, list[float]] = {}
    for scene_id, words in TranscriptSegment.objects.filter(analysis=analysis).values_list(
        "scene_id", "words"
    ):
        found.setdefault(scene_id, []).extend(w["start"] for w in words)
    return {k: sorted(v) for k, v in found.items()}


def storyline_of(scene_pk: int) -> tuple[int, str] | None:
    row = StorylineScene.objects.filter(scene_id=scene_pk).values_list("storyline_id", "source")
    return row.first()


def rerun(analysis: Analysis) -> Analysis:
    done = analysis_execute(analysis_id=analysis.pk)
    assert done is not None
    return done


def test_add_cut_splits_the_scene_and_reruns_only_its_halves(
    seeded_analysis: Analysis, monkeypatch: pytest.MonkeyPatch
) -> None:
    analysis = seeded_analysis
    fingerprint = analysis_fingerprint(analysis)
    lines = set(analysis.storylines.values_list("pk", "name", "color"))
    others = {
        pk: storyline_of(pk) for pk in analysis.scenes.exclude(index=3).values_list("pk", flat=True)
    }
    scene4 = analysis.scenes.get(index=3)  # 3.8 .. 5.8 s
    words = words_by_scene(analysis)[scene4.pk]
    line = storyline_of(scene4.pk)

    edit = services.add_cut(analysis=analysis, user=None, time=4.81)

    assert edit.summary == "Cut added at 00:05: scene 4 split into scenes 4 and 5"
    rows = bounds(analysis)
    assert len(rows) == 7
    first, second = rows[3], rows[4]
    assert first[0] == scene4.pk and (first[2], first[4]) == (4.8, 120)  # snapped to a frame
    assert (second[1], second[3]) == (4.8, 120) and second[2] == pytest.approx(5.8)
    assert [r[1] for r in rows[5:]] == pytest.approx([5.8, 7.2])  # later scenes renumbered
    # The transcript's words follow their times; both halves keep the storyline.
    after = words_by_scene(analysis)
    assert after[first[0]] == [w for w in words if w < 4.8]
    assert after[second[0]] == [w for w in words if w >= 4.8]
    assert after[first[0]] and after[second[0]]
    assert storyline_of(first[0]) == line and storyline_of(second[0]) == line
    # Exports made before are out of date; the two halves wait for their re-run.
    assert analysis_fingerprint(analysis) != fingerprint
    analysis.refresh_from_db()
    assert analysis.status == AnalysisStatus.QUEUED
    assert analysis.metadata["rescene"]["scene_ids"] == sorted([first[0], second[0]])
    assert analysis.message == "Re-running scenes 4, 5"

    seen: list[float] = []
    opened = spy_on_av_open(monkeypatch)
    done = analysis_execute(analysis_id=analysis.pk, listener=lambda a: seen.append(a.progress))

    assert done is not None and done.status == AnalysisStatus.COMPLETED
    assert "rescene" not in done.metadata
    assert seen[0] < 0.05 and seen == sorted(seen)  # the bar spans the re-run stages only
    # The pictures of the two halves are decoded (seeking to them), not the whole video: fewer
    # video packets and frames read than the video has frames.
    reads = sum(c.video_reads for c in decoding(opened))
    halves_frames = second[4] - first[3]
    assert halves_frames <= reads < analysis.video.frame_count, (reads, halves_frames)
    measured = set(
        SceneAudioFeatures.objects.filter(scene__analysis=analysis).values_list(
            "scene_id", flat=True
        )
    )
    assert measured == {first[0], second[0]}  # the seeded scenes had none: only these re-ran
    halves = Scene.objects.filter(pk__in=[first[0], second[0]]).order_by("index")
    assert all(s.keyframe and s.thumbnail for s in halves)
    assert all(s.start_time <= s.keyframe_time < s.end_time for s in halves)
    tone = SceneAudioFeatures.objects.get(scene_id=second[0])
    assert tone.rms_energy > 0.01 and tone.spectral_centroid_mean > 100  # the 330 Hz sine
    # What the vision stages found, of the halves only (the seeded scenes had none).
    for model in (SceneEmbedding, SceneObjects, SceneCaption, SceneIndex):
        found = model.objects.filter(analysis=analysis).values_list("scene_id", flat=True)
        assert set(found) == {first[0], second[0]}, model.__name__
    # Storylines keep their rows, the untouched scenes their storyline; the halves are placed
    # with the graph (relevance over both storylines, reasons) and their signals are stored.
    assert set(analysis.storylines.values_list("pk", "name", "color")) == lines
    assert {pk: storyline_of(pk) for pk in others} == others
    for pk in (first[0], second[0]):
        assert storyline_of(pk)[1] == MembershipSource.AUTO
        assert SceneRelevance.objects.filter(scene_id=pk).count() == 2
        assert SceneConfidence.objects.get(scene_id=pk).reasons
        assert SceneFeatures.objects.get(scene_id=pk).data["colour"] is not None
    # The seeded scenes had no stored signals: the re-run measured them once, for the graph.
    assert SceneFeatures.objects.filter(scene__analysis=analysis).count() == 7


def test_remove_cut_merges_and_undo_brings_back_the_same_scene(seeded_analysis: Analysis) -> None:
    analysis = seeded_analysis
    before = bounds(analysis)
    second = analysis.scenes.get(index=2)  # 2.6 .. 3.8, storyline A
    placed = storyline_of(second.pk)
    StorylineScene.objects.filter(scene=second).update(source=MembershipSource.EDITOR)
    first = analysis.scenes.get(index=1)  # 1.0 .. 2.6 (longer), storyline B, automatic
    words = words_by_scene(analysis)

    edit = services.remove_cut(analysis=analysis, user=None, scene_id="scene_3")

    assert edit.summary == "Cut at 00:03 removed: scenes 2 and 3 merged into scene 2"
    rows = bounds(analysis)
    assert len(rows) == 5 and rows[1][0] == first.pk
    assert rows[1][1:3] == pytest.approx((1.0, 3.8))
    assert not Scene.objects.filter(pk=second.pk).exists()
    assert words_by_scene(analysis)[first.pk] == sorted(words[first.pk] + words[second.pk])
    # The editor's decision on the shorter part beats the machine's on the longer one.
    assert storyline_of(first.pk) == (placed[0], MembershipSource.EDITOR)
    rerun(analysis)

    services.undo_cut(analysis=analysis, user=None)

    assert bounds(analysis) == before
    assert storyline_of(second.pk) == (placed[0], MembershipSource.EDITOR)
    assert words_by_scene(analysis) == words
    analysis.refresh_from_db()
    assert analysis.metadata["rescene"]["scene_ids"] == sorted([first.pk, second.pk])
    rerun(analysis)
    assert CutEdit.objects.get(pk=edit.pk).undone_at is not None
    with pytest.raises(CutError, match="No cut edit to undo"):
        services.undo_cut(analysis=analysis, user=None)


def test_move_cut_and_undo(seeded_analysis: Analysis) -> None:
    analysis = seeded_analysis
    before = bounds(analysis)
    words = words_by_scene(analysis)

    edit = services.move_cut(analysis=analysis, user=None, time=5.8, to=5.2)

    assert edit.summary == "Scene 5 now starts at 00:05 (was 00:06)"
    rows = bounds(analysis)
    assert rows[3][2] == rows[4][1] == 5.2 and rows[4][3] == 130
    moved = words_by_scene(analysis)
    pooled = sorted(words[before[3][0]] + words[before[4][0]])
    assert moved[rows[3][0]] == [w for w in pooled if w < 5.2]
    assert moved[rows[4][0]] == [w for w in pooled if w >= 5.2]
    rerun(analysis)
    services.undo_cut(analysis=analysis, user=None)
    assert bounds(analysis) == before and words_by_scene(analysis) == words


@pytest.mark.parametrize(
    ("call", "kwargs", "error", "message"),
    [
        ("add_cut", {"time": -1.0}, CutError, "inside the video"),
        ("add_cut", {"time": 0.0}, CutError, "inside the video"),
        ("add_cut", {"time": 9.0}, CutError, "inside the video"),
        ("add_cut", {"time": 2.6}, CutError, "already a cut at 00:03"),
        ("add_cut", {"time": 2.61}, CutError, "already a cut"),  # the same frame
        ("add_cut", {"time": 2.9}, CutError, "at least 0.6 s"),
        ("remove_cut", {"scene_id": "scene_1"}, CutError, "not a cut"),
        ("remove_cut", {"time": 0.0}, CutError, "start of the video"),
        ("remove_cut", {"time": 9.0}, CutError, "end of the video"),
        ("remove_cut", {"time": 4.5}, CutNotFound, "no cut at 4.500"),
        ("remove_cut", {"scene_id": "scene_99"}, CutNotFound, "No scene scene_99"),
        ("move_cut", {"scene_id": "scene_3", "to": 4.0}, CutError, "between the cuts"),
        ("move_cut", {"scene_id": "scene_3", "to": 3.5}, CutError, "at least 0.6 s"),
        ("move_cut", {"scene_id": "scene_3", "to": 2.6}, CutError, "already at"),
    ],
)
def test_bad_edits_change_nothing(
    seeded_analysis: Analysis, call: str, kwargs: dict[str, Any], error: type, message: str
) -> None:
    analysis = seeded_analysis
    before, words, fingerprint = (
        bounds(analysis),
        words_by_scene(analysis),
        analysis_fingerprint(analysis),
    )
    with pytest.raises(error, match=message):
        getattr(services, call)(analysis=analysis, user=None, **kwargs)
    assert bounds(analysis) == before and words_by_scene(analysis) == words
    assert analysis_fingerprint(analysis) == fingerprint and not CutEdit.objects.exists()
    analysis.refresh_from_db()
    assert analysis.status == AnalysisStatus.COMPLETED


def test_no_edit_while_the_analysis_runs_but_edits_during_a_rerun_join_it(
    seeded_analysis: Analysis,
) -> None:
    analysis = seeded_analysis
    Analysis.objects.filter(pk=analysis.pk).update(status=AnalysisStatus.RUNNING)
    with pytest.raises(CutBusy, match="still running"):
        services.add_cut(analysis=analysis, user=None, time=4.8)
    with pytest.raises(CutBusy, match="still running"):
        services.undo_cut(analysis=analysis, user=None)
    Analysis.objects.filter(pk=analysis.pk).update(status=AnalysisStatus.FAILED)
    with pytest.raises(CutBusy, match="finished analysis"):
        services.add_cut(analysis=analysis, user=None, time=4.8)
    Analysis.objects.filter(pk=analysis.pk).update(status=AnalysisStatus.COMPLETED)
    first = services.add_cut(analysis=analysis, user=None, time=4.8)
    # A worker holds the re-run; a second edit takes it over and adds its scenes.
    Analysis.objects.filter(pk=analysis.pk).update(
        status=AnalysisStatus.RUNNING, lease_owner="w1", lease_expires_at=timezone.now()
    )
    second = services.remove_cut(analysis=analysis, user=None, scene_id="scene_2")
    analysis.refresh_from_db()
    assert analysis.status == AnalysisStatus.QUEUED and analysis.lease_owner == ""
    assert analysis.metadata["rescene"]["scene_ids"] == sorted(
        {*first.scene_ids, *second.scene_ids}
    )
    done = rerun(analysis)
    assert done.status == AnalysisStatus.COMPLETED
    measured = SceneAudioFeatures.objects.filter(scene__analysis=analysis)
    assert set(measured.values_list("scene_id", flat=True)) == {*first.scene_ids, *second.scene_ids}


def test_api_edits_answer_with_the_cuts_and_refuse_bad_input(
    alice: Client, bob: Client, seeded_analysis: Analysis
) -> None:
    base = f"/api/analyses/{seeded_analysis.pk}/cuts"
    listed = alice.get(base).json()
    assert [c["time"] for c in listed["cuts"]] == pytest.approx([1.0, 2.6, 3.8, 5.8, 7.2])
    assert listed["can_undo"] is False and listed["min_scene_seconds"] == 0.6
    assert bob.get(base).status_code == 404
    assert bob.post(base, {"time": 4.8}, content_type="application/json").status_code == 404
    unknown = "/api/analyses/00000000-0000-0000-0000-000000000000/cuts"
    assert alice.post(unknown, {"time": 4.8}, content_type="application/json").status_code == 404
    bad = alice.post(base, {"time": 3.9}, content_type="application/json")
    assert bad.status_code == 400 and "at least 0.6 s" in bad.json()["detail"]
    gone = alice.post(f"{base}/remove", {"scene_id": "scene_42"}, content_type="application/json")
    assert gone.status_code == 404

    body = alice.post(base, {"time": 4.8}, content_type="application/json").json()

    assert body["edit"]["summary"].startswith("Cut added at 00:05")
    assert len(body["cuts"]) == 6 and body["can_undo"] is True
    assert len(body["rescene_scene_ids"]) == 2
    rerun(seeded_analysis)
    moved = alice.post(
        f"{base}/move", {"scene_id": "scene_5", "to": 5.0}, content_type="application/json"
    )
    assert moved.status_code == 200 and moved.json()["cuts"][3]["time"] == 5.0
    rerun(seeded_analysis)
    undone = alice.post(f"{base}/undo", content_type="application/json").json()
    assert undone["edit"]["undone"] is True and undone["cuts"][3]["time"] == 4.8


def test_a_cut_edit_and_its_undo_announce_the_tab_that_asked(
    alice: Client,
    seeded_analysis: Analysis,
    django_capture_on_commit_callbacks: Any,
    monkeypatch: Any,
) -> None:
    sent: list[dict[str, Any]] = []

    async def record(group: str, event: dict[str, Any]) -> None:
        sent.append(event)

    monkeypatch.setattr(get_channel_layer(), "group_send", record)
    base = f"/api/analyses/{seeded_analysis.pk}"
    with django_capture_on_commit_callbacks(execute=True):
        added = alice.post(
            f"{base}/cuts",
            {"time": 4.8},
            content_type="application/json",
            headers={"X-Tab-Id": "a1"},
        )
    rerun(seeded_analysis)
    with django_capture_on_commit_callbacks(execute=True):
        alice.post(f"{base}/timeline/undo", headers={"X-Tab-Id": "b2"})
    changes = [e for e in sent if e["type"] == "cuts.changed"]
    assert [(e["step"], e["tab"], e["edit"]["id"]) for e in changes] == [
        ("edit", "a1", added.json()["edit"]["id"]),
        ("undo", "b2", added.json()["edit"]["id"]),
    ]


def test_storyline_undo_after_a_merge_skips_the_scene_that_went(
    user: Any, seeded_analysis: Analysis
) -> None:
    from story import services as story

    analysis = seeded_analysis
    gone = analysis.scenes.get(index=2)
    story.exclude_scene(analysis=analysis, user=user, scene=gone)
    services.remove_cut(analysis=analysis, user=user, scene_id="scene_3")
    rerun(analysis)

    story.undo(analysis=analysis, user=user)  # its snapshot names the removed scene

    kept = set(
        StorylineScene.objects.filter(scene__analysis=analysis).values_list("scene_id", flat=True)
    )
    assert kept == set(analysis.scenes.values_list("pk", flat=True))


def test_timeline_undo_takes_back_the_newer_of_a_correction_and_a_cut_edit(
    alice: Client, user: Any, seeded_analysis: Analysis
) -> None:
    from story import services as story

    analysis = seeded_analysis
    base = f"/api/analyses/{analysis.pk}"
    services.add_cut(analysis=analysis, user=user, time=4.8)
    rerun(analysis)
    scene5 = analysis.scenes.get(index=4)
    story.exclude_scene(analysis=analysis, user=user, scene=scene5)
    # The cut edit cannot be undone before the correction made after it.
    with pytest.raises(CutError, match="undo those first"):
        services.undo_cut(analysis=analysis, user=user)

    first = alice.post(f"{base}/timeline/undo", content_type="application/json").json()

    assert (
        first["kind"] == "storyline" and first["summary"] == "Scene 5 taken out of every storyline"
    )
    assert storyline_of(scene5.pk) is not None
    second = alice.post(f"{base}/timeline/undo", content_type="application/json").json()
    assert second["kind"] == "cut" and second["summary"].startswith("Cut added at 00:05")
    assert analysis.scenes.count() == 6
    rerun(analysis)
    nothing = alice.post(f"{base}/timeline/undo", content_type="application/json")
    assert nothing.status_code == 400 and nothing.json()["detail"] == "Nothing to undo."
    Analysis.objects.filter(pk=analysis.pk).update(status=AnalysisStatus.RUNNING)
    busy = alice.post(f"{base}/cuts", {"time": 4.8}, content_type="application/json")
    assert busy.status_code == 409 and "still running" in busy.json()["detail"]


EDITS = {
    "add": lambda a: services.add_cut(analysis=a, user=None, time=4.8),
    "remove": lambda a: services.remove_cut(analysis=a, user=None, scene_id="scene_3"),
    "move": lambda a: services.move_cut(analysis=a, user=None, scene_id="scene_5", to=5.2),
}


@pytest.mark.parametrize("action", sorted(EDITS))
def test_redo_makes_the_undone_cut_edit_again_with_the_same_scenes(
    seeded_analysis: Analysis, action: str
) -> None:
    analysis = seeded_analysis
    before, words = bounds(analysis), words_by_scene(analysis)
    edit = EDITS[action](analysis)
    after, moved_words = bounds(analysis), words_by_scene(analysis)
    services.undo_cut(analysis=analysis, user=None)
    assert bounds(analysis) == before
    with pytest.raises(CutError, match="No cut edit to undo"):
        services.undo_cut(analysis=analysis, user=None)

    redone = services.redo_cut(analysis=analysis, user=None)

    assert redone.pk == edit.pk and redone.undone_at is None
    # The same scene rows (ids included) and the words where the edit had put them.
    assert bounds(analysis) == after and words_by_scene(analysis) == moved_words
    analysis.refresh_from_db()
    assert analysis.status == AnalysisStatus.QUEUED
    assert set(redone.scene_ids) <= set(analysis.metadata["rescene"]["scene_ids"])
    with pytest.raises(CutError, match="No cut edit to redo"):
        services.redo_cut(analysis=analysis, user=None)
    # A redone edit is undone like any other.
    services.undo_cut(analysis=analysis, user=None)
    assert bounds(analysis) == before and words_by_scene(analysis) == words


def test_a_new_edit_or_correction_after_an_undo_leaves_nothing_to_redo(
    user: Any, seeded_analysis: Analysis
) -> None:
    from story import services as story

    analysis = seeded_analysis
    services.add_cut(analysis=analysis, user=user, time=4.8)
    services.undo_cut(analysis=analysis, user=user)
    rerun(analysis)  # storylines are corrected once the scenes are re-run
    story.exclude_scene(analysis=analysis, user=user, scene=analysis.scenes.get(index=0))
    before = bounds(analysis)
    with pytest.raises(CutError, match="undo those first"):
        services.redo_cut(analysis=analysis, user=user)
    assert bounds(analysis) == before
    services.move_cut(analysis=analysis, user=user, scene_id="scene_5", to=5.2)
    with pytest.raises(CutError, match="No cut edit to redo"):
        services.redo_cut(analysis=analysis, user=user)


def test_timeline_redo_makes_again_what_undo_took_back_last_first(
    alice: Client, user: Any, seeded_analysis: Analysis
) -> None:
    from story import services as story

    analysis = seeded_analysis
    base = f"/api/analyses/{analysis.pk}"
    services.add_cut(analysis=analysis, user=user, time=4.8)
    rerun(analysis)
    scene5 = analysis.scenes.get(index=4)
    story.exclude_scene(analysis=analysis, user=user, scene=scene5)
    assert alice.get(f"{base}/timeline").json()["can_redo"] is False
    for _ in range(2):  # the correction, then the cut edit
        assert alice.post(f"{base}/timeline/undo").status_code == 200
    assert analysis.scenes.count() == 6
    assert alice.get(f"{base}/timeline").json()["can_redo"] is True

    first = alice.post(f"{base}/timeline/redo").json()

    assert first["kind"] == "cut" and first["summary"].startswith("Cut added at 00:05")
    assert analysis.scenes.count() == 7
    busy = alice.post(f"{base}/timeline/redo")  # a correction waits for the re-run
    assert busy.status_code == 409
    rerun(analysis)
    second = alice.post(f"{base}/timeline/redo").json()
    assert second["kind"] == "storyline"
    assert second["summary"] == "Scene 5 taken out of every storyline"
    assert storyline_of(scene5.pk) is None
    nothing = alice.post(f"{base}/timeline/redo")
    assert nothing.status_code == 400 and nothing.json()["detail"] == "Nothing to redo."
    cuts = alice.get(f"{base}/cuts").json()
    assert cuts["can_redo"] is False and len(cuts["cuts"]) == 6


def test_a_failed_rerun_keeps_the_analysis_completed_and_can_be_retried(
    alice: Client, seeded_analysis: Analysis
) -> None:
    analysis = seeded_analysis
    base = f"/api/analyses/{analysis.pk}/cuts"
    nothing = alice.post(f"{base}/retry")
    assert nothing.status_code == 400 and "nothing to retry" in nothing.json()["detail"]
    edit = services.add_cut(analysis=analysis, user=None, time=4.8)
    stored = Path(analysis.video.file.path)
    away = stored.with_name("away.mp4")
    stored.rename(away)  # the re-run cannot read the video

    failed = rerun(analysis)

    assert failed.status == AnalysisStatus.COMPLETED and failed.progress == 1.0
    assert failed.error == "" and "rescene" not in failed.metadata
    assert failed.metadata["rescene_failed"]["scene_ids"] == sorted(edit.scene_ids)
    listed = alice.get(base).json()
    assert "missing from storage" in listed["rescene_error"]
    assert listed["rescene_failed_scenes"] == ["scene_4", "scene_5"]
    assert listed["rescene_scenes"] == [] and listed["status"] == "completed"
    assert not SceneAudioFeatures.objects.filter(scene__analysis=analysis).exists()
    away.rename(stored)

    retried = alice.post(f"{base}/retry").json()

    assert retried["status"] == "queued" and retried["rescene_error"] == ""
    assert retried["rescene_scenes"] == ["scene_4", "scene_5"]
    done = rerun(analysis)
    assert done.status == AnalysisStatus.COMPLETED and "rescene_failed" not in done.metadata
    measured = SceneAudioFeatures.objects.filter(scene__analysis=analysis)
    assert set(measured.values_list("scene_id", flat=True)) == set(edit.scene_ids)


def test_a_rerun_shows_the_time_left_priced_by_the_touched_scenes(
    seeded_analysis: Analysis, user: Any
) -> None:
    """A partial re-run's time left comes from the costs whole runs taught, for the scenes it
    redoes: here every stage cost 0.1 s per second of a 100 s video, and the two halves of
    scene 4 last 2 s, so each stage is expected to take 0.2 s (not 0.9 s, the 9 s clip's)."""
    from analysis.pipeline import build_pipeline
    from cuts.rescene import RESCENE_STAGES
    from tests.analysis.test_progress_eta import finished

    analysis = seeded_analysis
    stages = [s.name for s in build_pipeline(analysis.parameters.get("stages"))]
    redone = [name for name in stages if name in RESCENE_STAGES]
    # Timed cold only: those costs stand for warm runs too, whichever this process runs.
    finished(user, 100.0, dict.fromkeys(stages, 10.0), cold_stages=stages)
    services.add_cut(analysis=analysis, user=None, time=4.81)

    seen: list[tuple[float, float | None, float | None, int]] = []
    before_a_tenth: list[float | None] = []

    def watch(current: Analysis) -> None:
        eta = eta_seconds(current, now=current.updated_at)
        done = len(current.completed_stages)
        seen.append((current.work_done, current.time_left_seconds, eta, done))
        left = current.time_left_seconds
        if not tenth_done(current.work_done, current.work_seconds, left):
            before_a_tenth.append(eta)

    done = rerun_with(analysis, watch)

    assert done.status == AnalysisStatus.COMPLETED
    # Nothing measured at the start of the re-run: no time left yet.
    kept = seen[0][3]
    assert seen[0][1] is None
    # Once a stage is done: priced by the touched scenes (0.2 s a stage, not the 9 s clip's
    # 0.9 s), one lane inside a test's transaction, the stages one after the other.
    later = [(left, count) for _w, left, _e, count in seen if count > kept]
    assert later and all(left is not None for left, _count in later)
    first, count = later[0]
    assert first is not None and first <= 0.2 * (len(redone) - (count - kept)) * 4 + 0.1
    shown = [eta for _work, _left, eta, _c in seen if eta is not None]
    assert shown and all(eta >= 0 for eta in shown)
    assert all(eta is None for eta in before_a_tenth)


def rerun_with(analysis: Analysis, listener: Any) -> Analysis:
    done = analysis_execute(analysis_id=analysis.pk, listener=listener)
    assert done is not None
    return done
