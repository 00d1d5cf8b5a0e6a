"""The Whisper calls: language detection per stretch and decoding per language.

Detection encodes each stretch on its own, unpadded (CTranslate2's encoder takes any length up
to 30 s): the cost grows with the speech, not with 30 s per stretch, and the English
probabilities match those of padded windows (bench/speech_languages.py). Batched decoding is
``batched.Decoder``: faster-whisper's batched options and word alignment, with chunks of
several languages in one batch. Window by window, decoding is faster-whisper's own over the
packed audio of one language with each chunk as one clip (``clip_timestamps``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from analysis.pipeline.speech.batched import Decoded, Decoder, batches
from analysis.pipeline.speech.sound import loudness, sounds
from analysis.pipeline.speech.windows import SAMPLE_RATE, Chunk, Stretch, pack

MAX_FRAMES = 3000  # Whisper's 30 s of 10 ms mel frames
RETRY_SECONDS = 2.0  # unheard speech at the end of a chunk decoded again (``unheard_tail``)


@dataclass(frozen=True)
class Word:
    word: str
    start: float
    end: float
    probability: float


@dataclass(frozen=True)
class Heard:
    """A decoded segment in film time; ``stretch`` is the stretch of its first word."""

    start: float
    end: float
    text: str
    words: list[Word]
    language: str
    stretch: Stretch | None


def excerpt(samples: Any, stretch: Stretch) -> Any:
    return samples[round(stretch.start * SAMPLE_RATE) : round(stretch.end * SAMPLE_RATE)]


def detect(model: Any, samples: Any, stretch: Stretch) -> dict[str, float]:
    """Whisper's probability of every language for ``stretch`` ({} if it is too short)."""
    import ctranslate2
    import numpy as np

    features = model.feature_extractor(excerpt(samples, stretch))[..., :-1]
    frames = min(MAX_FRAMES, features.shape[-1] - features.shape[-1] % 2)
    if frames < 2:
        return {}
    view = ctranslate2.StorageView.from_array(np.ascontiguousarray(features[None, :, :frames]))
    encoded = model.model.encode(view, to_cpu=False)
    return {token[2:-2]: float(p) for token, p in model.model.detect_language(encoded)[0]}


def packed_audio(samples: Any, chunks: list[Chunk]) -> Any:
    """The stretches of ``chunks`` (all of one language) back to back."""
    import numpy as np

    parts = [excerpt(samples, s) for chunk in chunks for s in chunk.stretches]
    return np.concatenate(parts) if parts else np.zeros(0, dtype=np.float32)


def segments_of(model: Any, audio: Any, chunks: list[Chunk], language: str) -> Any:
    """faster-whisper's segments of ``audio`` (packed ``chunks``), decoded window by window,
    each chunk one clip."""
    flat = [time for chunk in chunks for time in (chunk.at, chunk.at + chunk.duration)]
    segments, _ = model.transcribe(
        audio,
        clip_timestamps=flat,
        vad_filter=False,
        condition_on_previous_text=False,
        language=language,
        word_timestamps=True,
    )
    return segments


def anchor(chunk: Chunk, start: float, end: float, db: Any) -> float:
    """The time (seconds in the packed audio) whose stretch a word aligned from ``start`` to
    ``end`` is given to (``Chunk.film_time``): its middle, unless the word spans a seam and
    sounds after it, when the stretch of its end. Packing removes the pause before a stretch,
    and alignment glues the first word after it to the end of the word before (its start lies
    in the previous stretch, often in another scene, its end where it is spoken); a last word
    aligned past the seam has only the next stretch's silent lead-in there."""
    middle = (start + end) / 2
    stretch, at = chunk.locate(end)
    if at <= start:  # one stretch holds the whole word
        return middle
    before, before_at = chunk.locate(start)
    head = Stretch(before.start + max(0.0, start - before_at), before.end)
    tail = Stretch(stretch.start, stretch.start + end - at)
    return end if sounds(db, tail, [head, tail]) else middle


def to_film(segment: Any, chunks: list[Chunk], language: str, db: Any) -> Heard:
    """``segment`` (times in the packed audio) in film time; ``db``: the film's loudness."""

    def chunk_at(time: float) -> Chunk:
        return next((c for c in reversed(chunks) if c.at <= time), chunks[0])

    words = []
    for w in segment.words or []:
        chunk = chunk_at((w.start + w.end) / 2)
        side = anchor(chunk, w.start, w.end, db)
        start, end = chunk.film_time(w.start, side), chunk.film_time(w.end, side)
        words.append(Word(w.word, start, end, w.probability))
    middle = (segment.start + segment.end) / 2
    chunk = chunk_at(middle)
    stretch = chunk.locate(segment.words[0].start if segment.words else middle)[0]
    if words:
        return Heard(words[0].start, words[-1].end, segment.text, words, language, stretch)
    start, end = chunk.film_time(segment.start, middle), chunk.film_time(segment.end, middle)
    return Heard(start, end, segment.text, [], language, stretch)


def heard_of(decoded: Decoded, db: Any) -> Heard | None:
    """A batch-decoded chunk in film time (None when Whisper heard nothing); ``db``: the
    film's loudness (``sound.loudness``)."""
    chunk = decoded.chunk
    sides = [anchor(chunk, chunk.at + w.start, chunk.at + w.end, db) for w in decoded.words]
    words = [
        Word(
            w.word,
            chunk.film_time(chunk.at + w.start, side),
            chunk.film_time(chunk.at + w.end, side),
            w.probability,
        )
        for w, side in zip(decoded.words, sides, strict=True)
    ]
    if words:
        stretch = chunk.locate(sides[0])[0]
        return Heard(words[0].start, words[-1].end, decoded.text, words, chunk.language, stretch)
    if not decoded.text.strip():
        return None
    first, last = chunk.stretches[0], chunk.stretches[-1]
    return Heard(first.start, last.end, decoded.text, [], chunk.language, first)


def decode(
    model: Any,
    samples: Any,
    chunks: list[Chunk],
    batch: int,
    progress: Callable[[float], None],
) -> Iterator[Heard]:
    """Every chunk decoded in its language, ``batch`` chunks at a time of any language (0:
    window by window, language by language); segments in film time. ``progress`` gets the
    seconds of speech decoded so far. A generator."""
    db = loudness(samples)
    if not batch:
        yield from sequential(model, samples, chunks, db, progress)
        return
    decoder = Decoder(model, samples)
    mixed = str(model.model.device) == "cpu"
    results = (found for group in batches(chunks, batch, mixed) for found in decoder.decode(group))
    yield from finish(decoder, results, db, batch, progress)


def finish(
    decoder: Decoder,
    results: Iterable[Decoded],
    db: Any,
    batch: int,
    progress: Callable[[float], None],
) -> Iterator[Heard]:
    """Decoded chunks in film time, then once more the speech a chunk's text ended before (see
    ``unheard_tail``); ``db``: the film's loudness (``sound.loudness``). A generator."""
    done, missed = 0.0, list[Chunk]()
    for decoded in results:
        heard = heard_of(decoded, db)
        missed += unheard_tail(decoded, heard)
        if heard is not None:
            yield heard
        done += decoded.chunk.duration
        progress(done)
    tails = [(stretch, c.language) for c in missed for stretch in c.stretches]
    again = pack([stretch for stretch, _ in tails], [language for _, language in tails])
    mixed = str(decoder.model.model.device) == "cpu"
    for group in batches(again, batch, mixed):
        for decoded in decoder.decode(group):
            heard = heard_of(decoded, db)
            if heard is not None:
                yield heard


def unheard_tail(decoded: Decoded, heard: Heard | None) -> list[Chunk]:
    """The stretches at the end of a chunk after its last word, when they hold at least
    ``RETRY_SECONDS`` of speech, as a chunk to decode again. Without timestamp tokens Whisper
    sometimes ends a packed chunk's text early, where the voice or recording changes (another
    scene's speech packed behind), and the rest of the chunk's speech is lost; heard on their
    own those stretches are transcribed."""
    chunk = decoded.chunk
    last = heard.words[-1].end if heard is not None and heard.words else None
    tail = tuple(s for s in chunk.stretches if last is None or s.start >= last)
    if not heard or sum(s.duration for s in tail) < RETRY_SECONDS:
        return []
    return [Chunk(chunk.language, tail, 0.0)]


def sequential(
    model: Any, samples: Any, chunks: list[Chunk], db: Any, progress: Callable[[float], None]
) -> Iterator[Heard]:
    """``decode`` window by window: each language's packed audio in one ``transcribe``."""
    done = 0.0
    for language in dict.fromkeys(chunk.language for chunk in chunks):
        own = [chunk for chunk in chunks if chunk.language == language]
        audio = packed_audio(samples, own)
        for segment in segments_of(model, audio, own, language):
            yield to_film(segment, own, language, db)
            progress(done + segment.end)
        done += sum(chunk.duration for chunk in own)
