"""The Whisper calls: language detection per stretch and decoding per language.

Detection encodes each stretch on its own, unpadded (CTranslate2's encoder takes any length up
to 30 s): the cost grows with the speech, not with 30 s per stretch, and the English
probabilities match those of padded windows (bench/speech_languages.py). Batched decoding is
``batched.Decoder``: faster-whisper's batched options and word alignment, with chunks of
several languages in one batch. Window by window, decoding is faster-whisper's own over the
packed audio of one language with each chunk as one clip (``clip_timestamps``).
"""

from __future__ import annotations

import bisect
import functools
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from analysis.pipeline.speech.batched import Decoded, Decoder, batches
from analysis.pipeline.speech.sound import loudness, sounds
from analysis.pipeline.speech.windows import SAMPLE_RATE, Chunk, Stretch, pack

MAX_FRAMES = 3000  # Whisper's 30 s of 10 ms mel frames
RETRY_SECONDS = (
    2.0  # speech a chunk's text passed over is decoded again from this much (``unheard``)
)
HEARD_WORDS_PER_SECOND = 0.25
LONGEST_WORD_SECONDS = 1.5
# Heard stretches lasting no longer than this between two passed-over ones of a chunk are
# decoded again with them (``unheard``).
SANDWICHED_SECONDS = 2.5


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


@functools.cache
def _blas() -> Any:
    from threadpoolctl import ThreadpoolController

    return ThreadpoolController()


def log_mel(model: Any, audio: Any) -> Any:
    """faster-whisper's log-mel features of ``audio`` (``model.feature_extractor``), computed
    on one BLAS thread. Their one matrix product (80 mel bands x 201 frequencies x the frames)
    is small: two OpenBLAS threads cost ~50x the CPU of one on a busy machine and spin after
    it, taking CPU from the CTranslate2 call that follows. Identification computes features
    for every detection window, so it paid this most (bench/RESULTS.md, speech languages)."""
    with _blas().limit(limits=1, user_api="blas"):
        return model.feature_extractor(audio)


def detect(model: Any, samples: Any, stretch: Stretch) -> dict[str, float]:
    """Whisper's probability of every language for ``stretch`` ({} if it is too short)."""
    import ctranslate2
    import numpy as np

    features = log_mel(model, excerpt(samples, stretch))[..., :-1]
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
    """Decoded chunks in film time (a chunk's longest hypothesis of the beam when its text
    passes over speech and that one does not: ``Decoder.longer``), then the speech a chunk's
    text still passed over decoded again (``unheard``): first packed together, then what is
    still unheard stretch by stretch. A chunk's words in the stretches a retry heard are
    dropped for the retry's (they were aligned there from elsewhere). ``db``: the film's
    loudness (``sound.loudness``). A generator."""
    done, missed, held = 0.0, list[Chunk](), list[Heard]()
    for decoded in results:
        decoded, heard, again = _whole(decoder, decoded, db)
        missed += again
        if heard is not None:
            if again:
                held.append(heard)
            else:
                yield heard
        done += decoded.chunk.duration
        progress(done)
    retried: list[Heard] = []
    mixed = str(decoder.model.model.device) == "cpu"
    for alone in (False, True):
        chunks = _retry_chunks(missed, alone)
        missed = []
        for group in batches(chunks, batch, mixed):
            for decoded in decoder.decode(group):
                heard = heard_of(decoded, db)
                missed += unheard(decoded, heard) if not alone else []
                if heard is not None:
                    retried.append(heard)
    covered = [w for h in retried for w in h.words]
    for heard in held:
        kept = without_words_near(heard, covered)
        if kept is not None:
            yield kept
    yield from retried


def _whole(
    decoder: Decoder, decoded: Decoded, db: Any
) -> tuple[Decoded, Heard | None, list[Chunk]]:
    """(``decoded``, its text in film time, the speech it passed over: ``unheard``), or the
    same of the beam's hypothesis that wrote the most (``Decoder.longer``) when that passes
    over none: the speech is then heard in the batch, not decoded again."""
    heard = heard_of(decoded, db)
    again = unheard(decoded, heard)
    longer = decoder.longer(decoded) if again else None
    if longer is not None:
        other = heard_of(longer, db)
        if not unheard(longer, other):
            return longer, other, []
    return decoded, heard, again


def _retry_chunks(missed: list[Chunk], alone: bool) -> list[Chunk]:
    """The stretches of ``missed`` to decode again: packed by language, or (``alone``) each
    stretch a chunk of its own."""
    tails = [(stretch, c.language) for c in missed for stretch in c.stretches]
    if alone:
        return [Chunk(language, (stretch,), 0.0) for stretch, language in tails]
    return pack([stretch for stretch, _ in tails], [language for _, language in tails])


def without_words_near(heard: Heard, others: list[Word]) -> Heard | None:
    """``heard`` without its words that overlap any of ``others`` (None when none is left)."""
    if not others or not heard.words:
        return heard
    spans = sorted((w.start, w.end) for w in others)
    words = [w for w in heard.words if not _overlaps(spans, w)]
    if len(words) == len(heard.words):
        return heard
    if not words:
        return None
    text = "".join(w.word for w in words)
    return Heard(words[0].start, words[-1].end, text, words, heard.language, heard.stretch)


def _overlaps(spans: list[tuple[float, float]], word: Word) -> bool:
    # Words of one transcript do not nest: of the spans starting before ``word`` ends, one
    # that overlaps it is among the last few.
    index = bisect.bisect_left(spans, (word.end, word.end))
    return any(
        start < word.end and word.start < end for start, end in spans[max(0, index - 8) : index]
    )


def unheard(decoded: Decoded, heard: Heard | None) -> list[Chunk]:
    """The stretches of a chunk its text passed over, when they hold at least
    ``RETRY_SECONDS`` of speech, as a chunk to decode again. Without timestamp tokens Whisper
    sometimes follows one voice of a packed chunk and skips another scene's speech packed
    beside it (a text that ends early, or a last word aligned over the stretches it skipped),
    and that speech is lost; heard on their own those stretches are transcribed. A stretch is
    passed over when fewer than ``HEARD_WORDS_PER_SECOND`` words a second of it lie in it
    (speech runs at 2-3 words a second), counting only words no longer than
    ``LONGEST_WORD_SECONDS``: a word aligned over seconds of speech stands for what was
    skipped. Nothing heard at all is taken for silence."""
    if heard is None or not heard.words:
        return []
    middles = sorted(
        (w.start + w.end) / 2 for w in heard.words if w.end - w.start <= LONGEST_WORD_SECONDS
    )

    def words_in(stretch: Stretch) -> int:
        return bisect.bisect_right(middles, stretch.end) - bisect.bisect_left(
            middles, stretch.start
        )

    chunk = decoded.chunk
    over = [words_in(s) < HEARD_WORDS_PER_SECOND * s.duration for s in chunk.stretches]
    marked = with_sandwiched(chunk.stretches, over)
    passed = tuple(s for s, skipped in zip(chunk.stretches, marked, strict=True) if skipped)
    if sum(s.duration for s in passed) < RETRY_SECONDS:
        return []
    return [Chunk(chunk.language, passed, 0.0)]


def with_sandwiched(stretches: Sequence[Stretch], over: list[bool]) -> list[bool]:
    """``over`` (the stretches passed over) and the runs of other stretches between two
    passed-over ones lasting at most ``SANDWICHED_SECONDS``. When Whisper skips the speech
    of a few stretches, alignment spreads the words after the gap over them and leaves a
    short stretch holding a word or two of the speech after it (mix_real_ru seed 22: "But
    thou" of the next scene aligned over JFK's "ask not", the stretches either side of it
    passed over): those words are in the wrong place, and the stretch's own speech is lost."""
    marked = list(over)
    start = 0
    while start < len(stretches):
        end = start
        while end < len(stretches) and not over[end]:
            end += 1
        run = stretches[start:end]
        inside = start > 0 and end < len(stretches)
        if run and inside and sum(s.duration for s in run) <= SANDWICHED_SECONDS:
            marked[start:end] = [True] * len(run)
        start = end + 1
    return marked


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
