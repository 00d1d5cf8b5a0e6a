"""Transcript stage: faster-whisper speech recognition (or the user's subtitles), per scene.

Recognition: Silero VAD filter, word timestamps, ``condition_on_previous_text`` off (one
misheard line would otherwise repeat on and on), the language forced (``language`` parameter or
``WHISPER_LANGUAGE``) or detected once for the video; faster-whisper's
``BatchedInferencePipeline`` (VAD chunks of up to 30 s decoded independently, in batches: as
fast as sequential decoding on 2 CPU cores, much faster on a GPU, and without the drift that
sequential decoding's window seeking showed here with word timestamps on: see bench/speech.py).

Whisper's segments are long (up to 30 s of speech) and begin where the decoder's window began,
often in the silence before the first word. So segments are rebuilt from the words: each word's
start is moved to where its sound begins (after the last 10 ms, before its loudest, that are
30 dB quieter; word alignment otherwise tends to glue a word to the end of the previous one),
and a new segment starts at every pause (or sentence end) and every scene cut. Each piece is
kept inside exactly one scene.

Subtitles: ``subtitles_path`` (a file under MEDIA_ROOT or SAMPLES_DIR) replaces recognition
(``subtitles_mode`` = ``replace``, the default) or is compared with it (``check``: the word error
rate of the transcript against the subtitles goes to ``metadata["subtitles_check"]``).
"""

from __future__ import annotations

import bisect
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.conf import settings

from analysis.models import Analysis, TranscriptSegment
from analysis.pipeline.base import Stage, StageContext, StageError, register
from analysis.pipeline.decode import SAMPLE_RATE, load_audio
from analysis.pipeline.stages.common import SceneSpan, Throttled, load_scenes
from analysis.subtitles import Cue, SubtitlesError, parse_subtitles

PAUSE_SECONDS = 0.5  # a silence this long starts a new segment
SENTENCE_PAUSE_SECONDS = 0.15  # ... or this long after a full stop
CLAUSE_PAUSE_SECONDS = 0.3  # ... or this long after a comma
MAX_SEGMENT_SECONDS = 12.0
ONSET_DB = 30.0  # quieter than the word's peak by this much is silence before the word
_SENTENCE_END = re.compile(r"[.!?\u2026]['\")\]]*$")
_CLAUSE_END = re.compile(r"[,;:\u2014-]['\")\]]*$")


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
    source: str = "whisper"  # or "subtitles"
    check: dict[str, Any] | None = None


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


def word_onset(samples: Any, word: Word) -> float:
    """Where the sound of ``word`` begins: never earlier than its aligned start."""
    import numpy as np

    hop = SAMPLE_RATE // 100  # 10 ms
    first = int(word.start * SAMPLE_RATE)
    last = int(min(word.end, word.start + 1.0) * SAMPLE_RATE)
    excerpt = np.asarray(samples[first:last], dtype=np.float32)
    count = excerpt.size // hop
    if count < 2:
        return word.start
    energy = np.mean(excerpt[: count * hop].reshape(count, hop) ** 2, axis=1)
    db = 10 * np.log10(energy + 1e-10)
    peak = int(np.argmax(db))
    # The last quiet 10 ms before the loudest one: the word starts after it. (Searching from
    # the peak backwards skips the tail of the previous word that alignment often includes.)
    quiet = np.flatnonzero(db[:peak] < db[peak] - ONSET_DB)
    if not quiet.size:
        return word.start
    onset = word.start + max(0, int(quiet[-1]) - 1) * hop / SAMPLE_RATE  # 20 ms of lead-in
    return round(min(onset, word.end), 3)


def refine_words(samples: Any, words: list[Word]) -> list[Word]:
    """Move every word's start to its onset (see ``word_onset``)."""
    return [Word(w.word, word_onset(samples, w), w.end, w.probability) for w in words]


def breaks_before(previous: Word, word: Word, started: float) -> bool:
    """Whether ``word`` starts a new segment after ``previous``."""
    gap = word.start - previous.end
    text = previous.word.strip()
    return (
        gap >= PAUSE_SECONDS
        or (gap >= SENTENCE_PAUSE_SECONDS and bool(_SENTENCE_END.search(text)))
        or (gap >= CLAUSE_PAUSE_SECONDS and bool(_CLAUSE_END.search(text)))
        or word.end - started > MAX_SEGMENT_SECONDS
    )


def phrases(words: list[Word]) -> list[list[Word]]:
    """Words grouped into segments at pauses and sentence ends."""
    groups: list[list[Word]] = []
    for word in words:
        if groups and not breaks_before(groups[-1][-1], word, groups[-1][0].start):
            groups[-1].append(word)
        else:
            groups.append([word])
    return groups


def requested_language(ctx: StageContext) -> str | None:
    """The language asked for, or None to let Whisper detect it once for the whole video."""
    value = ctx.param("language") or settings.WHISPER_LANGUAGE
    return None if not value or value == "auto" else str(value)


def batch_size(ctx: StageContext, device: str) -> int:
    """Chunks decoded together: 8 on a GPU, 4 on a CPU; ``whisper_batch_size`` = 0 turns the
    batched pipeline off (sequential decoding)."""
    value = ctx.param("whisper_batch_size")
    if value is not None:
        return max(0, int(value))
    return 8 if device == "cuda" else 4


def recognise(ctx: StageContext, samples: Any) -> tuple[list[Any], Any, str]:
    """(segments generator, info, model name) from faster-whisper with our options."""
    from analysis.pipeline.models import load_whisper_model

    size = str(ctx.param("whisper_model") or settings.WHISPER_MODEL_SIZE)
    ctx.report(0.0, f"Loading the speech model ({size})")
    model = load_whisper_model(size)
    options: dict[str, Any] = {
        "language": requested_language(ctx),
        "vad_filter": True,
        "word_timestamps": True,
        "condition_on_previous_text": False,  # stops one misheard line from repeating
    }
    batch = batch_size(ctx, str(model.model.device))
    if batch and options["language"] is None and model.model.is_multilingual:
        # Detected as plain transcription does (on the first 30 s as they are): the batched
        # pipeline's guess from speech-only chunks mistook synthetic Russian for Polish.
        options["language"] = model.detect_language(audio=samples)[0]
    if batch:
        from faster_whisper import BatchedInferencePipeline

        segments, info = BatchedInferencePipeline(model).transcribe(
            samples, batch_size=batch, **options
        )
    else:
        segments, info = model.transcribe(samples, **options)
    return segments, info, size


def transcribe(ctx: StageContext, samples: Any, scenes: list[SceneSpan]) -> Transcript:
    """Run Whisper over ``samples`` (16 kHz mono) and rebuild segments from the words."""
    segments, info, size = recognise(ctx, samples)
    duration = max(float(info.duration), 1e-6)
    progress, pieces = Throttled(ctx.report), []
    for segment in segments:  # a generator: recognition happens while iterating
        words = [Word(w.word, w.start, w.end, w.probability) for w in segment.words or []]
        if not words:
            pieces.extend(split_at_scenes(segment.start, segment.end, segment.text, [], scenes))
        for group in phrases(refine_words(samples, words)):
            text = "".join(w.word for w in group)
            pieces.extend(split_at_scenes(group[0].start, group[-1].end, text, group, scenes))
        progress(segment.end / duration, f"Transcribing: {segment.end:.0f} s of {duration:.0f} s")
    return Transcript(language=info.language, pieces=[p for p in pieces if p.text], model=size)


def subtitles_file(ctx: StageContext) -> Path | None:
    """The user's subtitles file, which must lie in the media or samples folder."""
    value = ctx.param("subtitles_path")
    if not value:
        return None
    path = Path(str(value))
    if not path.is_absolute():
        path = Path(settings.MEDIA_ROOT) / path
    path = path.resolve()
    roots = [Path(settings.MEDIA_ROOT).resolve(), Path(settings.SAMPLES_DIR).resolve()]
    if not any(path.is_relative_to(root) for root in roots):
        raise StageError("The subtitles file must be an uploaded file or a sample.")
    return path


def from_cues(cues: list[Cue], scenes: list[SceneSpan], language: str | None) -> Transcript:
    """Subtitles as transcript pieces (a cue across a cut goes to the scene of its middle)."""
    pieces = [
        _piece(scene_at((cue.start + cue.end) / 2, scenes), cue.start, cue.end, cue.text, [])
        for cue in cues
    ]
    return Transcript(language=language, pieces=pieces, model="", source="subtitles")


def word_error_rate(reference: str, hypothesis: str) -> float:
    """WER of ``hypothesis`` against ``reference`` after lower-casing and removing punctuation."""
    import jiwer

    def norm(text: str) -> str:
        return " ".join(re.findall(r"\w+(?:'\w+)?", text.lower()))

    ref, hyp = norm(reference), norm(hypothesis)
    if not ref:
        return 0.0 if not hyp else 1.0
    return float(jiwer.wer(ref, hyp or "<empty>"))


def with_subtitles(
    ctx: StageContext, path: Path, samples: Any, scenes: list[SceneSpan]
) -> Transcript:
    try:
        cues = parse_subtitles(path)
    except SubtitlesError as exc:
        raise StageError(str(exc)) from exc
    mode = str(ctx.param("subtitles_mode") or "replace")
    if mode == "replace" or samples is None or samples.size == 0:
        return from_cues(cues, scenes, requested_language(ctx))
    if mode != "check":
        raise StageError("subtitles_mode must be 'replace' or 'check'.")
    heard = transcribe(ctx, samples, scenes)
    wer = word_error_rate(" ".join(c.text for c in cues), " ".join(p.text for p in heard.pieces))
    check = {"wer": round(wer, 4), "cues": len(cues), "file": path.name}
    return Transcript(heard.language, heard.pieces, heard.model, "whisper", check)


@register
class TranscriptStage(Stage[Transcript]):
    """Transcribe the speech (or read the subtitles) and attach each segment to its scene."""

    name = "transcript"
    label = "Transcribing speech"
    weight = 4.0

    def compute(self, ctx: StageContext) -> Transcript:
        scenes = load_scenes(ctx.analysis)
        subtitles = subtitles_file(ctx)
        samples = load_audio(ctx.video_path, ctx.workdir)
        if subtitles is not None and scenes:
            result = with_subtitles(ctx, subtitles, samples, scenes)
        elif samples is None or samples.size == 0 or not scenes:
            ctx.report(1.0, "No audio to transcribe")
            return Transcript(language=None, pieces=[])
        else:
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
        metadata = {
            **(analysis.metadata or {}),
            "language": result.language,
            "whisper_model": result.model or None,
            "transcript_source": result.source,
        }
        if result.check is not None:
            metadata["subtitles_check"] = result.check
        analysis.metadata = metadata
        analysis.save(update_fields=["metadata"])
        ctx.analysis.metadata = analysis.metadata
