"""Transcript stage: faster-whisper speech recognition, segments split at scene cuts.

Whisper's segments ignore the picture, so a sentence may run across a cut. Using the word
timestamps, such a segment is split into one piece per scene (each word goes to the scene
holding its midpoint), which keeps every transcript segment inside exactly one scene.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings

from analysis.models import Analysis, TranscriptSegment
from analysis.pipeline.base import Stage, StageContext, register
from analysis.pipeline.decode import load_audio
from analysis.pipeline.stages.common import SceneSpan, Throttled, load_scenes


@dataclass(frozen=True)
class Word:
    word: str
    start: float
    end: float
    probability: float


@dataclass(frozen=True)
class Piece:
    """A transcript segment lying inside one scene."""

    scene_index: int
    start_time: float
    end_time: float
    text: str
    words: list[Word] = field(default_factory=list)


@dataclass(frozen=True)
class Transcript:
    language: str | None
    pieces: list[Piece]
    model: str = ""


def scene_at(time: float, scenes: list[SceneSpan]) -> SceneSpan:
    """The scene containing ``time`` (the first or last one when outside the video)."""
    starts = [scene.start_time for scene in scenes]
    return scenes[max(0, bisect.bisect_right(starts, time) - 1)]


def _piece(scene: SceneSpan, start: float, end: float, text: str, words: list[Word]) -> Piece:
    start = min(max(start, scene.start_time), scene.end_time)
    end = min(max(end, start), scene.end_time)
    return Piece(scene.index, round(start, 3), round(end, 3), text.strip(), words)


def split_at_scenes(
    start: float, end: float, text: str, words: list[Word], scenes: list[SceneSpan]
) -> list[Piece]:
    """Cut one recognised segment into per-scene pieces (one piece when it fits a scene)."""
    if not words:
        return [_piece(scene_at((start + end) / 2, scenes), start, end, text, [])]
    groups: list[tuple[SceneSpan, list[Word]]] = []
    for word in words:
        scene = scene_at((word.start + word.end) / 2, scenes)
        if groups and groups[-1][0].index == scene.index:
            groups[-1][1].append(word)
        else:
            groups.append((scene, [word]))
    if len(groups) == 1:
        return [_piece(groups[0][0], start, end, text, words)]
    return [
        _piece(scene, ws[0].start, ws[-1].end, "".join(w.word for w in ws), ws)
        for scene, ws in groups
    ]


def requested_language(ctx: StageContext) -> str | None:
    """The language asked for, or None to let Whisper detect it once for the whole video."""
    value = ctx.param("language") or settings.WHISPER_LANGUAGE
    return None if not value or value == "auto" else str(value)


def transcribe(ctx: StageContext, samples: Any, scenes: list[SceneSpan]) -> Transcript:
    """Run Whisper over ``samples`` (16 kHz mono) and split its segments at the cuts."""
    from analysis.pipeline.models import load_whisper_model

    size = str(ctx.param("whisper_model") or settings.WHISPER_MODEL_SIZE)
    ctx.report(0.0, f"Loading the speech model ({size})")
    model = load_whisper_model(size)
    segments, info = model.transcribe(
        samples,
        language=requested_language(ctx),
        vad_filter=True,
        word_timestamps=True,
        condition_on_previous_text=False,  # stops one misheard line from repeating on and on
    )
    duration = max(float(info.duration), 1e-6)
    progress, pieces = Throttled(ctx.report), []
    for segment in segments:  # a generator: recognition happens while iterating
        words = [Word(w.word, w.start, w.end, w.probability) for w in segment.words or []]
        pieces.extend(split_at_scenes(segment.start, segment.end, segment.text, words, scenes))
        progress(segment.end / duration, f"Transcribing: {segment.end:.0f} s of {duration:.0f} s")
    return Transcript(language=info.language, pieces=[p for p in pieces if p.text], model=size)


@register
class TranscriptStage(Stage[Transcript]):
    """Transcribe the speech and attach each segment to its scene."""

    name = "transcript"
    label = "Transcribing speech"
    weight = 4.0

    def compute(self, ctx: StageContext) -> Transcript:
        scenes = load_scenes(ctx.analysis)
        samples = load_audio(ctx.video_path, ctx.workdir)
        if samples is None or samples.size == 0 or not scenes:
            ctx.report(1.0, "No audio to transcribe")
            return Transcript(language=None, pieces=[])
        result = transcribe(ctx, samples, scenes)
        ctx.report(1.0, f"Transcribed {len(result.pieces)} segments ({result.language})")
        return result

    def persist(self, ctx: StageContext, result: Transcript) -> None:
        scene_ids = dict(ctx.analysis.scenes.values_list("index", "id"))
        TranscriptSegment.objects.filter(analysis=ctx.analysis).delete()
        TranscriptSegment.objects.bulk_create(
            TranscriptSegment(
                analysis=ctx.analysis,
                scene_id=scene_ids[piece.scene_index],
                start_time=piece.start_time,
                end_time=piece.end_time,
                text=piece.text,
                words=[vars(word) for word in piece.words],
                language=result.language or "",
            )
            for piece in result.pieces
        )
        analysis = Analysis.objects.select_for_update().get(pk=ctx.analysis.pk)
        analysis.metadata = {
            **(analysis.metadata or {}),
            "language": result.language,
            "whisper_model": result.model or None,
        }
        analysis.save(update_fields=["metadata"])
        ctx.analysis.metadata = analysis.metadata
