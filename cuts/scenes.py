"""The row work of a cut edit: split, merge and re-bound scenes, and carry what hangs on them.

What the stages make again from the media (audio, pictures, vision, storyline signals) is left
to the partial re-run; what they cannot make again without recognising speech or an editor's
hand is carried here: transcript segments (re-assigned to the new bounds by their words' times,
with their speaker turns), faces found on the scene's frames, and the editor's storyline
decisions. Call everything inside the transaction that holds the analysis row lock.
"""

from __future__ import annotations

from typing import Any

from django.db.models import F

from analysis.models import Analysis, Scene, TranscriptSegment
from analysis.pipeline.speech.whisper import Word
from analysis.pipeline.stages.common import SceneSpan
from analysis.pipeline.stages.transcript import split_at_scenes
from people.models import FaceAppearance, SpeakerTurn
from story.models import (
    MembershipSource,
    SceneConfidence,
    SceneExclusion,
    SceneRelevance,
    StorylineScene,
)

INDEX_OFFSET = 1_000_000  # indexes are unique per analysis: park rows here while renumbering


def shift_indexes(analysis: Analysis, after: int, by: int) -> None:
    """Add ``by`` to the index of every scene after index ``after``."""
    later = Scene.objects.filter(analysis=analysis, index__gt=after, index__lt=INDEX_OFFSET)
    later.update(index=F("index") + INDEX_OFFSET)
    parked = Scene.objects.filter(analysis=analysis, index__gte=INDEX_OFFSET)
    parked.update(index=F("index") - INDEX_OFFSET + by)


def span(scene: Scene) -> SceneSpan:
    return SceneSpan(
        scene.pk, scene.index, scene.start_time, scene.end_time, scene.start_frame, scene.end_frame
    )


def set_bounds(
    scene: Scene, *, start: tuple[int, float] | None, end: tuple[int, float] | None
) -> None:
    """Give ``scene`` a new start and/or end, each ``(frame, seconds)``."""
    if start is not None:
        scene.start_frame, scene.start_time = start
    if end is not None:
        scene.end_frame, scene.end_time = end
    scene.save(update_fields=["start_frame", "start_time", "end_frame", "end_time"])


# --- Transcript segments --------------------------------------------------------------------


def segments_state(scenes: list[Scene]) -> list[dict[str, Any]]:
    """The segments of ``scenes`` with their speaker turns, as JSON (for undo)."""
    rows = TranscriptSegment.objects.filter(scene__in=scenes).select_related("speaker_turn")
    state = []
    for seg in rows.order_by("start_time", "pk"):
        turn = getattr(seg, "speaker_turn", None)
        state.append(
            {
                "id": seg.pk,
                "scene_id": seg.scene_id,
                "start_time": seg.start_time,
                "end_time": seg.end_time,
                "text": seg.text,
                "words": seg.words,
                "language": seg.language,
                "language_probability": seg.language_probability,
                "turn": None
                if turn is None
                else {
                    "speaker_id": turn.speaker_id,
                    "start_time": turn.start_time,
                    "end_time": turn.end_time,
                    "embedding": turn.embedding,
                },
            }
        )
    return state


def segments_restore(analysis: Analysis, scenes: list[Scene], state: list[dict[str, Any]]) -> None:
    """Put back the segments ``segments_state`` recorded (same ids) in place of the ones of
    ``scenes`` now."""
    from people.models import Speaker

    TranscriptSegment.objects.filter(scene__in=scenes).delete()  # their turns go with them
    speakers = set(Speaker.objects.filter(analysis=analysis).values_list("pk", flat=True))
    for item in state:
        fields = {k: v for k, v in item.items() if k not in ("id", "turn")}
        seg = TranscriptSegment.objects.create(pk=item["id"], analysis=analysis, **fields)
        turn = item["turn"]
        if turn is not None and turn["speaker_id"] in speakers:  # a speaker merged away: no turn
            SpeakerTurn.objects.create(segment=seg, scene_id=seg.scene_id, **turn)


def reassign_segments(scenes: list[Scene]) -> None:
    """Attach every segment of the neighbouring ``scenes`` (in order, their bounds already
    new) to the scene its words are in, splitting a segment that now spans a cut."""
    spans = [span(scene) for scene in scenes]
    rows = TranscriptSegment.objects.filter(scene__in=scenes).select_related("speaker_turn")
    for seg in list(rows.order_by("start_time", "pk")):
        words = [Word(**w) for w in seg.words or []]
        pieces = split_at_scenes(seg.start_time, seg.end_time, seg.text, words, spans)
        by_index = {s.index: s.id for s in spans}
        turn = getattr(seg, "speaker_turn", None)
        for number, piece in enumerate(pieces):
            row = seg if number == 0 else TranscriptSegment(analysis_id=seg.analysis_id)
            row.scene_id = by_index[piece.scene_index]
            row.start_time, row.end_time, row.text = piece.start_time, piece.end_time, piece.text
            row.words = [vars(w) for w in piece.words] if len(pieces) > 1 else seg.words
            row.language, row.language_probability = seg.language, seg.language_probability
            row.save()
            if turn is not None:
                _turn_for(row, turn, fresh=number > 0)


def _turn_for(segment: TranscriptSegment, turn: SpeakerTurn, *, fresh: bool) -> None:
    """The piece's speaker turn: the segment's own one moved, or a copy for a new piece."""
    fields = {
        "scene_id": segment.scene_id,
        "start_time": segment.start_time,
        "end_time": segment.end_time,
    }
    if fresh:
        SpeakerTurn.objects.create(
            speaker_id=turn.speaker_id, segment=segment, embedding=turn.embedding, **fields
        )
    else:
        SpeakerTurn.objects.filter(pk=turn.pk).update(**fields)


# --- Faces --------------------------------------------------------------------------------------


def reassign_faces(scenes: list[Scene]) -> None:
    """Faces seen on a frame belong to the scene the frame is in."""
    for scene in scenes:
        FaceAppearance.objects.filter(
            scene__in=scenes, frame_time__gte=scene.start_time, frame_time__lt=scene.end_time
        ).exclude(scene=scene).update(scene=scene)
    last = scenes[-1]  # a frame at the very end of the video
    FaceAppearance.objects.filter(scene__in=scenes, frame_time__gte=last.end_time).update(
        scene=last
    )


# --- Storyline decisions ------------------------------------------------------------------------


def story_state(scene: Scene) -> dict[str, Any]:
    """The scene's storyline rows as JSON: its primary storyline, relevance, exclusion and
    confidence."""
    member = StorylineScene.objects.filter(scene=scene).values(
        "storyline_id", "relevance", "source"
    )
    confidence = SceneConfidence.objects.filter(scene=scene).values(
        "confidence", "reasons", "against", "runner_up_id", "needs_review"
    )
    return {
        "members": list(member),
        "relevance": list(
            SceneRelevance.objects.filter(scene=scene).values("storyline_id", "relevance")
        ),
        "excluded": SceneExclusion.objects.filter(scene=scene).exists(),
        "confidence": list(confidence),
    }


def story_restore(scene: Scene, state: dict[str, Any]) -> None:
    """Give ``scene`` the storyline rows ``state`` holds (storylines deleted since are left out)."""
    from story.models import Storyline

    alive = set(
        Storyline.objects.filter(analysis_id=scene.analysis_id).values_list("pk", flat=True)
    )
    for model in (StorylineScene, SceneRelevance, SceneExclusion, SceneConfidence):
        model.objects.filter(scene=scene).delete()  # type: ignore[attr-defined]
    StorylineScene.objects.bulk_create(
        StorylineScene(scene=scene, **m) for m in state["members"] if m["storyline_id"] in alive
    )
    SceneRelevance.objects.bulk_create(
        SceneRelevance(scene=scene, **r) for r in state["relevance"] if r["storyline_id"] in alive
    )
    if state["excluded"]:
        SceneExclusion.objects.create(scene=scene)
    for row in state["confidence"]:
        if row["runner_up_id"] not in alive:
            row = {**row, "runner_up_id": None}
        SceneConfidence.objects.create(scene=scene, **row)


def merged_story(first: Scene, second: Scene) -> dict[str, Any]:
    """The storyline rows a merge of ``first`` and ``second`` keeps: an editor's decision
    (placed or excluded by hand) wins over the machine's; between two of a kind, the longer
    part's."""
    states = [story_state(first), story_state(second)]

    def by_editor(state: dict[str, Any]) -> bool:
        placed = any(m["source"] == MembershipSource.EDITOR for m in state["members"])
        return placed or bool(state["excluded"])

    parts = [(by_editor(states[0]), first.duration), (by_editor(states[1]), second.duration)]
    return states[1] if parts[1] > parts[0] else states[0]
