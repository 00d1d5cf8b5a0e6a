"""Speech to words, each stretch of speech in its own language.

1. Silero VAD finds the stretches of speech (``windows.speech_stretches``).
2. Unless a language is forced (or the model is English-only), Whisper's detector hears the
   stretches of the first 30 s of speech on their own (``first_look``) and ``languages.decide``
   picks their language among the expected ones.
3. Batched on the CPU, when those are of one language (or the language is forced): the speech
   is encoded once in 30 s windows in time order, the rest of the stretches' languages are
   checked on that encoder output and the windows of one language decoded on it; only the
   speech of windows mixing languages is packed anew by language (``encoded_once``).
   Otherwise every stretch is heard on its own, and the stretches are packed into 30 s chunks
   of one language (``windows.pack``). Each chunk is decoded with its language; words come
   back in film time (``whisper.decode``).

A film in one language decodes exactly the chunks it decoded before, and its language costs
one decoder step per detection window past the first 30 s (bench/speech_languages.py).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from itertools import chain
from typing import Any

from analysis.pipeline.speech import encoded
from analysis.pipeline.speech.batched import Decoder, batches
from analysis.pipeline.speech.languages import Decision, decide
from analysis.pipeline.speech.sound import loudness
from analysis.pipeline.speech.whisper import Heard, decode, detect, finish
from analysis.pipeline.speech.windows import (
    Stretch,
    detection_windows,
    heard_part,
    pack,
    speech_stretches,
)

UNSURE_NOTE_SHARE = 0.2  # more unsure speech than this gets a note in the metadata
FORCED_NOTE_SHARE = 0.5  # a forced language heard in less of the speech than this gets one
FOREIGN_SURE = 0.5  # the detector this sure of a language nobody expected: a note


@dataclass(frozen=True)
class Recognition:
    """Segments in film time and time order, with what was decided about languages."""

    segments: list[Heard]
    decisions: dict[Stretch, Decision]
    notes: list[str] = field(default_factory=list)

    def seconds_per_language(self) -> dict[str, float]:
        """Seconds of speech per language, most spoken first."""
        tally: dict[str, float] = {}
        for stretch, decision in self.decisions.items():
            tally[decision.language] = tally.get(decision.language, 0.0) + stretch.duration
        ordered = sorted(tally.items(), key=lambda item: -item[1])
        return {lang: round(seconds, 2) for lang, seconds in ordered}

    @property
    def language(self) -> str | None:
        """The language spoken most (None without speech)."""
        return next(iter(self.seconds_per_language()), None)


def forced(stretches: list[Stretch], language: str) -> list[Decision]:
    return [Decision(language, 1.0, True) for _ in stretches]


def check_forced(
    stretches: list[Stretch],
    probabilities: list[dict[str, float]],
    cuts: Sequence[float],
    language: str,
    expected: Sequence[str],
) -> list[str]:
    """A note when the forced ``language`` is not what the detector (its ``probabilities`` per
    stretch) hears in most of the speech."""
    candidates = list(dict.fromkeys([*expected, language])) if expected else []
    heard = decide(stretches, probabilities, cuts, candidates)
    total = sum(s.duration for s in stretches)
    own = sum(s.duration for s, d in zip(stretches, heard, strict=True) if d.language == language)
    if total and own / total < FORCED_NOTE_SHARE:
        others = sorted({d.language for d in heard if d.language != language})
        return [
            f"The language was forced to '{language}', but {1 - own / total:.0%} of the speech "
            f"sounds like {', '.join(others)}; it was transcribed as '{language}' all the same."
        ]
    return []


def notes_on(
    stretches: list[Stretch],
    decisions: list[Decision],
    heard: list[dict[str, float]],
    expected: Sequence[str],
) -> list[str]:
    """Notes for the analysis metadata about what the detector could not tell, and about
    speech it is sure is in a language the film was not expected to speak."""
    total = sum(s.duration for s in stretches)
    unsure = sum(s.duration for s, d in zip(stretches, decisions, strict=True) if not d.sure)
    notes = []
    if total and unsure / total > UNSURE_NOTE_SHARE:
        notes.append(
            f"The language of {unsure:.0f} s of {total:.0f} s of speech could not be told "
            "with confidence; it was transcribed as the most likely expected language."
        )
    foreign: dict[str, float] = {}
    for stretch, probabilities in zip(stretches, heard, strict=True):
        top = max(probabilities, key=probabilities.__getitem__, default=None)
        if expected and top and top not in expected and probabilities[top] >= FOREIGN_SURE:
            foreign[top] = foreign.get(top, 0.0) + stretch.duration
    if total and sum(foreign.values()) / total > UNSURE_NOTE_SHARE:
        named = ", ".join(sorted(foreign, key=lambda language: -foreign[language]))
        notes.append(
            f"{sum(foreign.values()):.0f} s of {total:.0f} s of speech sound like {named}, not "
            f"one of the expected languages ({', '.join(expected)}); it was transcribed as the "
            "closest expected language. Name the language, or add it to the expected ones."
        )
    return notes


def hear(
    model: Any, samples: Any, stretches: list[Stretch], cuts: Sequence[float]
) -> list[dict[str, float]]:
    """Whisper's language probabilities for every stretch, heard window by window (see
    ``windows.detection_windows``): each stretch gets its window's."""
    probabilities: list[dict[str, float]] = [{} for _ in stretches]
    groups = detection_windows(stretches, list(cuts))
    hear_windows(model, samples, stretches, groups, probabilities)
    return probabilities


def hear_windows(
    model: Any,
    samples: Any,
    stretches: list[Stretch],
    groups: list[list[int]],
    probabilities: list[dict[str, float]],
) -> None:
    """Fills ``probabilities`` for the stretches of the detection windows ``groups`` not
    heard yet, each window heard on its own (its middle, ``windows.heard_part``)."""
    for window in groups:
        if probabilities[window[0]]:
            continue
        span = heard_part(Stretch(stretches[window[0]].start, stretches[window[-1]].end))
        heard = detect(model, samples, span)
        for index in window:
            probabilities[index] = heard


def identify(
    model: Any, samples: Any, *, cuts: Sequence[float], expected: Sequence[str]
) -> list[tuple[Stretch, Decision]]:
    """The stretches of speech in ``samples`` with their languages, without transcribing them
    (the description service places its descriptions by them)."""
    stretches = speech_stretches(samples)
    probabilities = hear(model, samples, stretches, cuts)
    return list(zip(stretches, decide(stretches, probabilities, cuts, expected), strict=True))


def recognise(
    model: Any,
    samples: Any,
    *,
    cuts: Sequence[float],
    language: str | None,
    expected: Sequence[str],
    batch: int,
    progress: Callable[[float, str], None],
) -> Recognition:
    """Recognise the speech in ``samples`` (16 kHz mono).

    Args:
        model: a loaded ``faster_whisper.WhisperModel``.
        cuts: scene cuts in seconds (language smoothing never crosses one).
        language: force this language everywhere; None: per stretch.
        expected: the languages the film may speak (empty: any).
        batch: VAD chunks decoded together (0: window by window).
        progress: called with (fraction, message).
    """
    stretches = speech_stretches(samples)
    if not stretches:
        return Recognition([], {}, ["No speech was found in the audio."])
    if language is None and not model.model.is_multilingual:
        language = "en"
    speech = max(sum(s.duration for s in stretches), 1e-6)

    def decoded(seconds: float) -> None:
        progress(seconds / speech, f"Transcribing: {seconds:.0f} s of {speech:.0f} s of speech")

    shared = bool(batch) and str(model.model.device) == "cpu"  # see ``encoded_once``
    if language is not None:
        decisions = forced(stretches, language)
        if shared:
            return encoded_once(model, samples, stretches, cuts, language, expected, batch, decoded)
        notes = []
        if model.model.is_multilingual:  # the detector's pass is cheap next to decoding
            heard = hear(model, samples, stretches, cuts)
            notes = check_forced(stretches, heard, cuts, language, expected)
    else:
        progress(0.0, f"Identifying the language of {len(stretches)} stretches of speech")
        groups = detection_windows(stretches, list(cuts))
        probabilities: list[dict[str, float]] = [{} for _ in stretches]
        head = first_look(model, samples, stretches, groups, probabilities)
        first = {d.language for d in decide(*head, cuts, expected)}
        if shared and len(first) == 1:
            look = (first.pop(), probabilities)
            return encoded_once(
                model, samples, stretches, cuts, None, expected, batch, decoded, look
            )
        hear_windows(model, samples, stretches, groups, probabilities)
        decisions = decide(stretches, probabilities, cuts, expected)
        notes = notes_on(stretches, decisions, probabilities, expected)
    chunks = pack(stretches, [d.language for d in decisions])
    segments = sorted(decode(model, samples, chunks, batch, decoded), key=lambda h: h.start)
    by_stretch = dict(zip(stretches, decisions, strict=True))
    return Recognition(segments, by_stretch, notes)


def first_look(
    model: Any,
    samples: Any,
    stretches: list[Stretch],
    groups: list[list[int]],
    probabilities: list[dict[str, float]],
) -> tuple[list[Stretch], list[dict[str, float]]]:
    """The detector's probabilities (into ``probabilities``) for the detection windows that
    start in the first 30 s of speech; returns those stretches and their probabilities."""
    size = len(pack(stretches, [""] * len(stretches))[0].stretches)
    head = [group for group in groups if group[0] < size]
    hear_windows(model, samples, stretches, head, probabilities)
    end = head[-1][-1] + 1
    return stretches[:end], probabilities[:end]


def screened(
    model: Any,
    samples: Any,
    stretches: list[Stretch],
    windows: list[encoded.Encoded],
    cuts: Sequence[float],
    language: str,
    probabilities: list[dict[str, float]],
) -> list[dict[str, float]]:
    """``probabilities`` for every stretch: the detection windows not heard yet are heard on
    the encoder output of their stretches, and heard again on their own (``hear_windows``)
    when that does not name ``language`` first. Heard on a slice of a padded window, German
    that the detector places on its own (p 0.74) came out as Latin (0.48): a slice is good
    to confirm the language around it, not to name another one."""
    where = encoded.holder(windows)
    for group in detection_windows(stretches, list(cuts)):
        if probabilities[group[0]]:
            continue
        heard = encoded.detect(model, where, [stretches[i] for i in group])
        if max(heard, key=heard.__getitem__) != language:
            hear_windows(model, samples, stretches, [group], probabilities)
            continue
        for index in group:
            probabilities[index] = heard
    return probabilities


def encoded_once(
    model: Any,
    samples: Any,
    stretches: list[Stretch],
    cuts: Sequence[float],
    language: str | None,
    expected: Sequence[str],
    batch: int,
    decoded: Callable[[float], None],
    look: tuple[str, list[dict[str, float]]] | None = None,
) -> Recognition:
    """``recognise`` batched on the CPU when the language is forced or the first 30 s of
    speech are of one language (``look``: that language and the detector's probabilities
    there, ``first_look``): the speech
    encoded once, in time order; the rest of the languages checked on that encoder output
    (``screened``), the windows of one language decoded on it, the speech of windows holding
    several languages packed anew by language (``speech.encoded``). A film whose first 30 s
    mix languages is likely to mix them throughout: there the stretches are heard on their own
    (``hear``), cheaper than encoding windows whose encoder output would mostly be thrown
    away."""
    decoder = Decoder(model, samples)
    windows = encoded.encode(decoder, stretches, batch)
    main, heard = look or (language or "", [{} for _ in stretches])
    if language is not None:
        decisions = forced(stretches, language)
        notes = []
        if model.model.is_multilingual:
            screened(model, samples, stretches, windows, cuts, main, heard)
            notes = check_forced(stretches, heard, cuts, language, expected)
    else:
        screened(model, samples, stretches, windows, cuts, main, heard)
        decisions = decide(stretches, heard, cuts, expected)
        notes = notes_on(stretches, decisions, heard, expected)
    languages = {s: d.language for s, d in zip(stretches, decisions, strict=True)}
    whole, again = encoded.split(windows, languages)
    results = chain(
        encoded.decode(decoder, whole, batch),
        (found for group in batches(again, batch, True) for found in decoder.decode(group)),
    )
    segments = finish(decoder, results, loudness(samples), batch, decoded)
    ordered = sorted(segments, key=lambda h: h.start)
    return Recognition(ordered, dict(zip(stretches, decisions, strict=True)), notes)
