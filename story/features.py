"""Signals measured from the media for every scene, without decoding the video again.

Everything here is computed by the storylines stage and stored as ``SceneFeatures.data`` (plain
JSON), so the graph can be rebuilt after an editor's correction without touching the video.
The pictures come from the run's one decode pass (``StageContext.frame_pass``):

- ``colour``: the colour layout of the scene: its frames (about 4 a second) shrunk to 8 x 6
  cells (the pass's ``layout.u8``), in CIE Lab and averaged, which captures both the palette
  and the framing (black bars, a bright sky at the top) and separates footage from different
  sources well;
- ``motion``: mean absolute difference between consecutive 64-pixel grey frames (0..1), the
  cut frame itself excluded (the pass's ``motion.npy``);
- ``voice``: mean MFCCs 1..19 over the scene's loud audio frames (c0, the loudness, left
  out), a cheap fingerprint of the voice *and* the recording chain (microphone, room, codec);
- ``loudness_change``: spread of the 0.5-second loudness (dB) inside the scene;
- ``text`` / ``words`` / ``text_vector``: the transcript, its content words and its sentence
  embedding (multilingual USE);
- ``language``: the language of the scene's words (script first, then the recogniser's);
- ``unsure``: words the recogniser gave a low probability (often a garbled hearing): names
  are not made of them;
- ``words_per_second``: speech density;
- ``continues``: the speech runs on over the cut before the scene (one utterance, so one scene
  of the story cut into shots).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from analysis.pipeline.base import StageContext
from analysis.pipeline.stages.common import SceneSpan, scene_scope
from mediakit.audio import SAMPLE_RATE, Track, load_track
from story.text import content_words, embed_texts, text_language

if TYPE_CHECKING:
    import numpy as np

COLOUR_SAMPLES_PER_SECOND = 4.0
MIN_VOICE_SECONDS = 0.5
MFCC_COUNT = 20
TOKEN = re.compile(r"[^\W\d_]+", re.UNICODE)


def mean_layout(cells: np.ndarray) -> list[float] | None:
    """Mean CIE Lab of 8 x 6 pictures (``(frames, 6, 8, 3)`` BGR), flattened: where the colours
    are (framing, borders); None without a picture."""
    import cv2
    import numpy as np

    if not len(cells):
        return None
    # All the pictures stacked into one image: one colour conversion instead of one per frame.
    stacked = np.ascontiguousarray(cells).reshape(-1, cells.shape[2], 3)
    lab = cv2.cvtColor(stacked, cv2.COLOR_BGR2LAB).astype(np.float64)
    return [round(float(v), 2) for v in lab.reshape(len(cells), -1).mean(axis=0)]


def picture_features(ctx: StageContext, scenes: list[SceneSpan]) -> list[dict[str, Any]]:
    """Colour and motion of every scene, from what the run's decode pass kept."""
    files = ctx.frame_pass()
    layouts = files.layouts()
    every = max(1, round((ctx.analysis.video.fps or 25.0) / COLOUR_SAMPLES_PER_SECOND))
    result = []
    for scene in scenes:
        # About 4 frames a second, counted from the scene's first frame.
        cells = None if layouts is None else layouts[scene.start_frame : scene.end_frame : every]
        motion = files.motion(scene.start_frame, scene.end_frame)
        colour = None if cells is None else mean_layout(cells)
        result.append({"colour": colour, "motion": round(motion, 5)})
    return result


def voice_features(track: Track | None, scene: SceneSpan) -> dict[str, Any]:
    """MFCC fingerprint of the scene's loud frames and the spread of its loudness."""
    import numpy as np

    empty: dict[str, Any] = {"voice": None, "loudness_change": 0.0}
    if track is None:
        return empty
    excerpt = track.excerpt(scene.start_time, scene.end_time)
    if excerpt.size < SAMPLE_RATE // 4:
        return empty
    import librosa

    hop = 512
    rms = librosa.feature.rms(y=excerpt, hop_length=hop)[0]
    db = 20 * np.log10(np.maximum(rms, 1e-5))
    half = max(1, int(0.5 * SAMPLE_RATE / hop))
    windows = [db[i : i + half].mean() for i in range(0, len(db), half)]
    change = float(np.std(windows)) if len(windows) > 1 else 0.0
    loud = db > max(db.max() - 30.0, -60.0)  # frames within 30 dB of the loudest: the voice
    result: dict[str, Any] = {"voice": None, "loudness_change": round(change, 3)}
    if loud.sum() * hop / SAMPLE_RATE < MIN_VOICE_SECONDS:
        return result
    mfcc = librosa.feature.mfcc(y=excerpt, sr=SAMPLE_RATE, n_mfcc=MFCC_COUNT, hop_length=hop)
    mfcc = mfcc[:, : len(loud)][:, loud[: mfcc.shape[1]]]
    vector = mfcc[1:].mean(axis=1)
    result["voice"] = [round(float(v), 4) for v in vector]
    return result


def text_features(
    texts: list[str],
    words_per_scene: list[int],
    scenes: list[SceneSpan],
    languages: list[str] | None = None,
    unsure: list[list[str]] | None = None,
) -> list[dict[str, Any]]:
    """Transcript, content words, sentence embedding, language and words per second of every
    scene (``languages``: the recogniser's language of each scene, when known; ``unsure``: the
    words it heard with a low probability)."""
    vectors = embed_texts(texts)
    languages = languages or [""] * len(texts)
    unsure = unsure or [[] for _ in texts]
    result = []
    for i, (text, scene) in enumerate(zip(texts, scenes, strict=True)):
        duration = max(scene.end_time - scene.start_time, 1e-3)
        result.append(
            {
                "text": text,
                "words": content_words(text),
                "text_vector": [round(float(v), 5) for v in vectors[i]] if text.strip() else None,
                "words_per_second": round(words_per_scene[i] / duration, 3),
                "language": text_language(text, languages[i]),
                "unsure": unsure[i],
            }
        )
    return result


# A word the recogniser heard with less probability than this is not used in names.
UNSURE_PROBABILITY = 0.5


@dataclass
class SceneSpeech:
    """What the transcript says in each scene (lists in scene order)."""

    texts: list[str]
    counts: list[int]  # spoken words
    languages: list[str]  # the language most of its words were recognised in
    unsure: list[list[str]]  # lower-cased words heard with a low probability


def scene_texts(ctx: StageContext, scenes: list[SceneSpan]) -> SceneSpeech:
    """Each scene's transcript, from the transcript stage."""
    from collections import Counter

    from analysis.models import TranscriptSegment

    by_scene: dict[int, list[str]] = {s.id: [] for s in scenes}
    counts: dict[int, int] = dict.fromkeys(by_scene, 0)
    languages: dict[int, Counter[str]] = {s.id: Counter() for s in scenes}
    unsure: dict[int, set[str]] = {s.id: set() for s in scenes}
    rows = TranscriptSegment.objects.filter(analysis=ctx.analysis).order_by("start_time")
    for scene_id, text, words, language in rows.values_list(
        "scene_id", "text", "words", "language"
    ):
        if scene_id in by_scene and text.strip():
            by_scene[scene_id].append(text.strip())
            spoken = len(words) if words else len(text.split())
            counts[scene_id] += spoken
            if language:
                languages[scene_id][language] += spoken
            unsure[scene_id] |= _unsure_words(words or [])
    return SceneSpeech(
        texts=[" ".join(by_scene[s.id]) for s in scenes],
        counts=[counts[s.id] for s in scenes],
        languages=[(languages[s.id].most_common(1) or [("", 0)])[0][0] for s in scenes],
        unsure=[sorted(unsure[s.id]) for s in scenes],
    )


def _unsure_words(words: list[dict[str, Any]]) -> set[str]:
    out = set()
    for w in words:
        probability = w.get("probability")
        if probability is not None and float(probability) < UNSURE_PROBABILITY:
            out |= {t.lower() for t in TOKEN.findall(str(w.get("word") or ""))}
    return out


# Words on both sides of a cut with at most this pause between them, each close to the cut, are
# one utterance going on over the cut (a line of dialogue over a reverse shot), not a new
# scene's first words. Word timestamps are only good to a few tenths of a second: a word counts
# as spoken over the cut only when it lasts well past both sides of it, and otherwise belongs
# to the side most of it lies on (a new scene's first word is often stamped to start a little
# before its cut: counted before the cut, it would be the "last word" of the speech ending there
# and the next scene's second word its continuation).
CONTINUOUS_PAUSE_SECONDS = 0.3
NEAR_CUT_SECONDS = 0.25
OVER_CUT_SECONDS = 0.2
LONGEST_WORD_SECONDS = 1.5


def speech_continuity(analysis: Any, scenes: Sequence[Any]) -> list[bool | None]:
    """Per scene (anything with a ``start_time``): does speech run on over the cut before it
    (None for the first scene)?"""
    from analysis.models import TranscriptSegment

    spans = sorted(
        (float(w["start"]), float(w["end"]))
        for words in TranscriptSegment.objects.filter(analysis=analysis).values_list(
            "words", flat=True
        )
        for w in words or []
        if w.get("start") is not None and w.get("end") is not None
    )
    return [None if i == 0 else _continues(spans, s.start_time) for i, s in enumerate(scenes)]


def _continues(spans: list[tuple[float, float]], cut: float) -> bool:
    """Do the words (``(start, end)``, sorted) run on over ``cut``?"""
    import bisect

    # The words that can touch the cut: none lasts longer than LONGEST_WORD_SECONDS.
    lo = bisect.bisect_left(spans, (cut - LONGEST_WORD_SECONDS, cut - LONGEST_WORD_SECONDS))
    hi = bisect.bisect_right(spans, (cut + LONGEST_WORD_SECONDS, cut + LONGEST_WORD_SECONDS))
    around = spans[lo:hi]
    for start, end in around:
        if end - start <= LONGEST_WORD_SECONDS and min(cut - start, end - cut) >= OVER_CUT_SECONDS:
            return True  # a word spoken over the cut
    before = [end for start, end in around if start + end < 2 * cut]
    after = [start for start, end in around if start + end >= 2 * cut]
    if not before or not after:
        return False
    last_end, next_start = max(before), min(after)
    near = cut - last_end <= NEAR_CUT_SECONDS and next_start - cut <= NEAR_CUT_SECONDS
    return near and next_start - last_end <= CONTINUOUS_PAUSE_SECONDS


def measure(ctx: StageContext, scenes: list[SceneSpan]) -> list[dict[str, Any]]:
    """Every signal of every scene, as JSON-ready dicts in scene order."""
    pictures = picture_features(ctx, scenes)
    ctx.report(0.6, "Listening to the voices")
    # A partial re-run (after a cut edit) decodes the sound of its scenes only.
    partial = scene_scope(ctx.analysis) is not None
    spans = [(s.start_time, s.end_time) for s in scenes] if partial else None
    track = _audio(ctx.video_path, ctx.workdir, spans)
    voices = [voice_features(track, scene) for scene in scenes]
    ctx.report(0.75, "Reading the transcript")
    speech = scene_texts(ctx, scenes)
    words = text_features(speech.texts, speech.counts, scenes, speech.languages, speech.unsure)
    continuity = speech_continuity(ctx.analysis, scenes)
    return [
        {**p, **v, **w, "continues": c}
        for p, v, w, c in zip(pictures, voices, words, continuity, strict=True)
    ]


def _audio(path: Path, workdir: Path, spans: list[tuple[float, float]] | None) -> Track | None:
    track = load_track(path, workdir, spans)
    return track if track is not None and any(p.samples.size for p in track.parts) else None
