"""Transcript stage: faster-whisper speech recognition (or the user's subtitles), per scene.

Recognition: Silero VAD filter, word timestamps, ``condition_on_previous_text`` off (one
misheard line would otherwise repeat on and on), the language forced (``language`` parameter or
``WHISPER_LANGUAGE``) or detected once for the video from its first 30 s, as plain
``model.transcribe`` does. Everything else is faster-whisper's default decoding (beam 5).
Speech is decoded in batches with faster-whisper's batched options (``speech/batched.py``, chunks
of several languages in one batch): the VAD chunks are decoded
4 at a time on the CPU and 8 on a GPU (``whisper_batch_size`` overrides both), text only (no
timestamp tokens: the word alignment gives the times) and without temperature fallback. On
the speech corpus of bench/speech.py that is faster than plain transcription (total RTF 0.142
vs 0.149, sonnet 0.064 vs 0.087) at a lower word error rate (0.068 vs 0.077); on a 10-minute
film it is several times faster than decoding window by window (bench/pipeline_bench.py).
Window-by-window decoding (timestamp tokens, temperature fallback) stays available for audio
shorter than ``WHISPER_BATCH_MIN_SECONDS`` (default 0: none): on an earlier machine it heard
a few more words of the sonnet (corpus WER 0.060 vs 0.081 batched), on the benchmark machine
of 2026-12-04 a few fewer (sonnet 0.093 vs 0.083) and it was 35% slower there.

Whisper's segments are long (up to 30 s of speech) and begin where the decoder's window began,
often in the silence before the first word. So segments are rebuilt from the words:

* each word's start moves to where its sound begins: after the last 10 ms before its loudest
  that are silent, i.e. 30 dB below that peak or within 6 dB of the local noise floor (the
  10th percentile of the surrounding 4 s), whichever is louder. Word alignment otherwise glues
  a word to the end of the previous one or starts it in the pause.
* a new segment starts at every pause (or sentence end) and every scene cut; each piece lies
  inside exactly one scene.
* a segment starts ``LEAD_IN_SECONDS`` (0.45 s) before its first sound, but not before the
  sound of the previous word (anything within 15 dB of the first word's loudest) nor its aligned
  end, nor before the scene: subtitles are timed with a lead-in so the text is up when the
  voice starts. Forced aligners (aeneas) put a line boundary anywhere in the pause between two
  lines: at the end of the previous line's sound after a long pause, at the next onset after a
  short one. A start 0.45 s ahead of the voice is within 0.5 s of either end of pauses up to
  0.95 s (in bench/speech.py's read sonnet, the longer pauses, up to 1.1 s, had the boundary
  0.1-0.25 s after the previous line's end).

Subtitles: ``subtitles_path`` (a file under MEDIA_ROOT or SAMPLES_DIR) replaces recognition
(``subtitles_mode`` = ``replace``, the default) or is compared with it (``check``: the word error
rate of the transcript against the subtitles goes to ``metadata["subtitles_check"]``).
"""

from __future__ import annotations

import bisect
import dataclasses
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.conf import settings

from analysis.conf import setting
from analysis.models import Analysis, TranscriptSegment
from analysis.pipeline.base import Stage, StageContext, StageError, register
from analysis.pipeline.speech.sound import (
    FRAME_SECONDS,
    MIN_ONSET_DB,
    loudness,
    silence_level,
)
from analysis.pipeline.speech.whisper import Word
from analysis.pipeline.stages.common import SceneSpan, load_scenes
from analysis.subtitles import Cue, SubtitlesError, main_language, parse_subtitles
from mediakit.audio import SAMPLE_RATE, load_audio
from videoanalyzer.progress import ProgressThrottle

PAUSE_SECONDS = 0.5  # a silence this long starts a new segment
SENTENCE_PAUSE_SECONDS = 0.15  # ... or this long after a full stop
CLAUSE_PAUSE_SECONDS = 0.3  # ... or this long after a comma
MAX_SEGMENT_SECONDS = 12.0
LEAD_IN_SECONDS = 0.45  # a segment starts this long before its first sound (see above)
MAX_WORD_SECONDS = 2.0  # a word's peak is looked for this far after its aligned start
_SENTENCE_END = re.compile(r"[.!?\u2026]['\")\]]*$")
_CLAUSE_END = re.compile(r"[,;:\u2014-]['\")\]]*$")


@dataclass(frozen=True)
class Piece:
    """A transcript segment lying inside one scene."""

    scene_index: int
    start_time: float
    end_time: float
    text: str
    words: list[Word] = field(default_factory=list)
    language: str = ""
    language_probability: float | None = None  # None: forced or given, not detected


@dataclass(frozen=True)
class Transcript:
    language: str | None  # the language spoken most
    pieces: list[Piece]
    model: str = ""
    source: str = "whisper"  # or "subtitles"
    check: dict[str, Any] | None = None
    languages: dict[str, float] = field(default_factory=dict)  # seconds of speech per language
    notes: list[str] = field(default_factory=list)


def scene_at(time: float, scenes: list[SceneSpan]) -> SceneSpan:
    """The scene containing ``time`` (the first or last one when outside the video)."""
    starts = [scene.start_time for scene in scenes]
    return scenes[max(0, bisect.bisect_right(starts, time) - 1)]


@dataclass(frozen=True)
class Spoken:
    """The language of a phrase and how sure its detection was (None: forced or given)."""

    language: str = ""
    probability: float | None = None


def _piece(
    scene: SceneSpan, start: float, end: float, text: str, words: list[Word], spoken: Spoken
) -> Piece:
    start = min(max(start, scene.start_time), scene.end_time)
    end = min(max(end, start), scene.end_time)
    return Piece(
        scene.index,
        round(start, 3),
        round(end, 3),
        text.strip(),
        words,
        spoken.language,
        spoken.probability,
    )


def split_at_scenes(
    start: float,
    end: float,
    text: str,
    words: list[Word],
    scenes: list[SceneSpan],
    spoken: Spoken = Spoken(),
) -> list[Piece]:
    """Cut one segment into per-scene pieces (one piece when it fits a scene). The first piece
    starts at ``start``, the others at their first word."""
    if not words:
        return [_piece(scene_at((start + end) / 2, scenes), start, end, text, [], spoken)]
    groups: list[tuple[SceneSpan, list[Word]]] = []
    for word in words:
        scene = scene_at((word.start + word.end) / 2, scenes)
        if groups and groups[-1][0].index == scene.index:
            groups[-1][1].append(word)
        else:
            groups.append((scene, [word]))
    if len(groups) == 1:
        return [_piece(groups[0][0], start, end, text, words, spoken)]
    return [
        _piece(
            scene,
            start if number == 0 else ws[0].start,
            ws[-1].end,
            "".join(w.word for w in ws),
            ws,
            spoken,
        )
        for number, (scene, ws) in enumerate(groups)
    ]


def word_peak(db: Any, word: Word) -> tuple[int, int]:
    """(first frame, frame of the loudest) of ``word`` in the envelope ``db``."""
    import numpy as np

    first = min(int(word.start / FRAME_SECONDS), max(len(db) - 1, 0))
    last = min(int(min(word.end, word.start + MAX_WORD_SECONDS) / FRAME_SECONDS), len(db))
    return first, first + int(np.argmax(db[first : max(last, first + 1)]))


def word_onset(db: Any, word: Word) -> float:
    """Where the sound of ``word`` begins in the envelope ``db`` (see ``loudness``): after the
    last silent frame before its loudest; never earlier than its aligned start."""
    import numpy as np

    first, peak = word_peak(db, word)
    # The last silent frame before the loudest one: the word starts after it. (Searching from
    # the peak backwards skips the tail of the previous word that alignment often includes.)
    quiet = np.flatnonzero(db[first:peak] < silence_level(db, first, float(db[peak])))
    if not quiet.size:
        return word.start
    onset = (first + int(quiet[-1]) - 1) * FRAME_SECONDS  # 20 ms before the first loud frame
    return round(min(max(onset, word.start), word.end), 3)


def refine_words(db: Any, words: list[Word]) -> list[Word]:
    """Move every word's start to its onset (see ``word_onset``)."""
    return [Word(w.word, word_onset(db, w), w.end, w.probability) for w in words]


def lead_in(db: Any, word: Word, previous_end: float) -> float:
    """Start of a segment whose first word is ``word`` (start at its onset): up to
    ``LEAD_IN_SECONDS`` earlier, as far as the silence before the word reaches, and not before
    the previous word's aligned end."""
    import numpy as np

    first, peak = word_peak(db, word)
    reach = round(LEAD_IN_SECONDS / FRAME_SECONDS)
    before = db[max(0, first - reach) : first]
    loud = np.flatnonzero(before >= db[peak] - MIN_ONSET_DB)  # the previous word, not noise
    silent = before.size - (int(loud[-1]) + 1 if loud.size else 0)
    start = max(word.start - silent * FRAME_SECONDS, min(previous_end, word.start), 0.0)
    return round(start, 3)


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


class Phrases:
    """Words in, pieces out. A phrase ends at a pause, a sentence end, a change of language or
    after ``MAX_SEGMENT_SECONDS``, whatever Whisper's own segments were (sequential decoding
    ends them where a 30 s window ended, often inside a sentence)."""

    def __init__(self, db: Any, scenes: list[SceneSpan]) -> None:
        self.db, self.scenes = db, scenes
        self.words: list[Word] = []
        self.spoken = Spoken()
        self.previous_end = 0.0

    def add(self, word: Word, spoken: Spoken = Spoken()) -> list[Piece]:
        """Pieces completed by the arrival of ``word`` (usually none)."""
        open_ = self.words
        breaks = bool(open_) and (
            spoken.language != self.spoken.language
            or breaks_before(open_[-1], word, open_[0].start)
        )
        done = self.flush() if breaks else []
        self.spoken = weaker(self.spoken, spoken) if self.words else spoken
        self.words.append(word)
        return done

    def flush(self) -> list[Piece]:
        """The pieces of the open phrase, which is closed."""
        if not self.words:
            return []
        words, self.words = self.words, []
        start = lead_in(self.db, words[0], self.previous_end)
        self.previous_end = words[-1].end
        text = "".join(w.word for w in words)
        return split_at_scenes(start, words[-1].end, text, words, self.scenes, self.spoken)

    def bare(self, start: float, end: float, text: str, spoken: Spoken = Spoken()) -> list[Piece]:
        """Pieces of a segment Whisper gave no words for (after the open phrase's)."""
        done = self.flush() + split_at_scenes(start, end, text, [], self.scenes, spoken)
        self.previous_end = max(self.previous_end, end)
        return done


def weaker(first: Spoken, second: Spoken) -> Spoken:
    """A phrase is as sure of its language as its least sure word."""
    if first.probability is None or second.probability is None:
        return second if first.probability is None else first
    return first if first.probability <= second.probability else second


def requested_language(ctx: StageContext) -> str | None:
    """The language asked for, or None to identify it stretch by stretch."""
    value = ctx.param("language") or setting("WHISPER_LANGUAGE")
    return None if not value or value == "auto" else str(value)


def expected_languages(ctx: StageContext) -> list[str]:
    """The languages a film may speak (``expected_languages`` parameter, a list or a comma
    separated text, else ``WHISPER_EXPECTED_LANGUAGES``); empty: any language."""
    value = ctx.param("expected_languages")
    if value is None:
        value = setting("WHISPER_EXPECTED_LANGUAGES")
    if isinstance(value, str):
        value = value.split(",")
    return [str(lang).strip().lower() for lang in value if str(lang).strip()]


def batch_size(ctx: StageContext, device: str, seconds: float) -> int:
    """VAD chunks decoded together: 8 on a GPU; on a CPU 4 (more only pads on 2 cores) for
    audio longer than ``WHISPER_BATCH_MIN_SECONDS`` (default: all), else 0 (window by window;
    see the module docstring). The parameter ``whisper_batch_size`` overrides all of these."""
    value = ctx.param("whisper_batch_size")
    if value is not None:
        return max(0, int(value))
    if device == "cuda":
        return 8
    return 4 if seconds > setting("WHISPER_BATCH_MIN_SECONDS") else 0


def recognise(ctx: StageContext, samples: Any, scenes: list[SceneSpan]) -> tuple[Any, str]:
    """(the ``Recognition`` of ``samples``, model name) with our options."""
    from analysis.pipeline.models import load_whisper_model
    from analysis.pipeline.speech.recognise import recognise as recognise_speech

    size = str(ctx.param("whisper_model") or setting("WHISPER_MODEL_SIZE"))
    ctx.report(0.0, f"Loading the speech model ({size})")
    model = load_whisper_model(size)
    recognition = recognise_speech(
        model,
        samples,
        cuts=[scene.start_time for scene in scenes[1:]],
        language=requested_language(ctx),
        expected=expected_languages(ctx),
        batch=batch_size(ctx, str(model.model.device), len(samples) / SAMPLE_RATE),
        progress=ProgressThrottle(ctx.report),
    )
    return recognition, size


def spoken_at(recognition: Any, time: float) -> Spoken:
    """The language decided for the stretch of speech around ``time``."""
    for stretch, decision in recognition.decisions.items():
        if stretch.start <= time <= stretch.end:
            return Spoken(decision.language, decision.probability)
    return Spoken()


def transcribe(ctx: StageContext, samples: Any, scenes: list[SceneSpan]) -> Transcript:
    """Run Whisper over ``samples`` (16 kHz mono) and rebuild segments from the words, in time
    order (a segment of a packed chunk may hold words of stretches far apart in the film)."""
    recognition, size = recognise(ctx, samples, scenes)
    forced = requested_language(ctx) is not None

    def spoken(language: str, time: float) -> Spoken:
        return Spoken(language, None if forced else spoken_at(recognition, time).probability)

    db = loudness(samples)
    heard: list[tuple[float, Word | None, Any, Spoken]] = []
    for segment in recognition.segments:
        if not segment.words:
            middle = (segment.start + segment.end) / 2
            heard.append((segment.start, None, segment, spoken(segment.language, middle)))
        for word in refine_words(db, segment.words):
            middle = (word.start + word.end) / 2
            heard.append((word.start, word, segment, spoken(segment.language, middle)))
    heard.sort(key=lambda item: item[0])
    pieces: list[Piece] = []
    phrases = Phrases(db, scenes)
    for _start, heard_word, segment, said in heard:
        if heard_word is None:
            pieces += phrases.bare(segment.start, segment.end, segment.text, said)
        else:
            pieces += phrases.add(heard_word, said)
    pieces += phrases.flush()
    return Transcript(
        language=recognition.language,
        pieces=[p for p in pieces if p.text],
        model=size,
        languages=recognition.seconds_per_language(),
        notes=recognition.notes,
    )


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
    """Subtitles as transcript pieces (a cue across a cut goes to the scene of its middle), each
    in the language its file gives it (``<lang>`` spans, a ``Language:`` header), else in
    ``language``."""
    pieces = [
        _piece(
            scene_at((c.start + c.end) / 2, scenes),
            c.start,
            c.end,
            c.text,
            [],
            Spoken(c.language or language or ""),
        )
        for c in cues
    ]
    main = main_language(cues) or language
    return Transcript(language=main, pieces=pieces, model="", source="subtitles")


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
    return dataclasses.replace(heard, check=check)


@register
class TranscriptStage(Stage[Transcript]):
    """Transcribe the speech (or read the subtitles) and attach each segment to its scene."""

    name = "transcript"
    label = "Transcribing speech"
    weight = 4.0
    lane = "sound"
    needs = ("shots",)  # a segment never crosses a cut
    cost_follows = "speech"  # Whisper decodes the stretches of speech only
    imports = ("numpy", "ctranslate2", "faster_whisper")

    def compute(self, ctx: StageContext) -> Transcript:
        scenes = load_scenes(ctx.analysis)
        subtitles = subtitles_file(ctx)
        samples = load_audio(ctx.video_path, ctx.workdir)
        if subtitles is not None and scenes:
            result = with_subtitles(ctx, subtitles, samples, scenes)
        elif samples is None or samples.size == 0 or not scenes:
            ctx.report(1.0, "No audio to transcribe")
            return Transcript(
                language=None, pieces=[], notes=["The video has no audio to transcribe."]
            )
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
                language=piece.language or result.language or "",
                language_probability=piece.language_probability,
            )
            for piece in result.pieces
        )
        analysis = Analysis.objects.select_for_update().get(pk=ctx.analysis.pk)
        metadata = {
            **(analysis.metadata or {}),
            "language": result.language,
            "languages": result.languages,
            "transcript_notes": result.notes,
            "whisper_model": result.model or None,
            "transcript_source": result.source,
        }
        if result.check is not None:
            metadata["subtitles_check"] = result.check
        analysis.metadata = metadata
        analysis.save(update_fields=["metadata"])
        ctx.analysis.metadata = analysis.metadata
