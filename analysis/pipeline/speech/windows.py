"""Stretches of speech and the chunks they are decoded in.

A stretch is one span of Silero VAD speech (faster-whisper's own settings for batched
decoding: pauses of 160 ms split, at most 30 s). Stretches of one language are packed back to
back, silences removed, into chunks of at most ``CHUNK_SECONDS``, as faster-whisper's batched
decoding packs them, except that a chunk never mixes languages. Stretches of one language need
not be neighbours in the film: an English film with a Russian storyline still decodes its
English in as many 30 s windows as before and its Russian in a few more.
"""

from __future__ import annotations

import bisect
from collections.abc import Sequence
from dataclasses import dataclass

SAMPLE_RATE = 16_000
CHUNK_SECONDS = 30.0  # Whisper's window


@dataclass(frozen=True, order=True)
class Stretch:
    """A span of speech in film time (seconds)."""

    start: float
    end: float

    @property
    def duration(self) -> float:
        return self.end - self.start


@dataclass(frozen=True)
class Chunk:
    """Stretches of one language decoded together, placed back to back from ``at`` seconds of
    the language's packed audio."""

    language: str
    stretches: tuple[Stretch, ...]
    at: float

    @property
    def duration(self) -> float:
        return sum(s.duration for s in self.stretches)

    def locate(self, middle: float) -> tuple[Stretch, float]:
        """(the stretch holding ``middle`` (seconds in the packed audio), where it starts in
        the packed audio)."""
        starts, position = [], self.at
        for stretch in self.stretches:
            starts.append(position)
            position += stretch.duration
        index = max(0, bisect.bisect_right(starts, middle) - 1)
        return self.stretches[index], starts[index]

    def film_time(self, time: float, middle: float) -> float:
        """Film time of ``time`` (seconds in the packed audio), in the stretch that holds
        ``middle`` (a word's middle, so both ends of a word land in one stretch), clamped to it:
        a word never reaches into the silence that packing removed."""
        stretch, packed_start = self.locate(middle)
        film = stretch.start + time - packed_start
        return round(float(min(max(film, stretch.start), stretch.end)), 3)


def speech_stretches(samples: object) -> list[Stretch]:
    """The stretches of speech in ``samples`` (16 kHz mono), in order."""
    from faster_whisper.vad import VadOptions, get_speech_timestamps

    options = VadOptions(max_speech_duration_s=CHUNK_SECONDS, min_silence_duration_ms=160)
    spans = get_speech_timestamps(samples, options)
    return [Stretch(s["start"] / SAMPLE_RATE, s["end"] / SAMPLE_RATE) for s in spans]


def pack(stretches: list[Stretch], languages: list[str]) -> list[Chunk]:
    """Chunks of each language (in order of first appearance), each at most ``CHUNK_SECONDS``
    long; a chunk's ``at`` counts from the start of its language's packed audio."""
    chunks: list[Chunk] = []
    for language in dict.fromkeys(languages):
        own = [s for s, lang in zip(stretches, languages, strict=True) if lang == language]
        at, group = 0.0, list[Stretch]()
        for stretch in own:
            if group and sum(s.duration for s in group) + stretch.duration > CHUNK_SECONDS:
                chunks.append(Chunk(language, tuple(group), at))
                at += sum(s.duration for s in group)
                group = []
            group.append(stretch)
        if group:
            chunks.append(Chunk(language, tuple(group), at))
    return chunks


DETECT_SECONDS = 4.0  # a detection window gathers stretches until it holds this much speech
DETECT_GAP_SECONDS = 1.0  # ... across pauses no longer than this, inside one scene
# The detector hears at most this much of a window, from its middle: its encoder pass costs as
# much as the audio it hears, and 4 s are what it needs to be sure (``detection_windows``): on
# the bench's three mixed films the middle 4 s decide every stretch as the middle 10 s did
# (bench/RESULTS.md, speech languages).
DETECT_MAX_SECONDS = DETECT_SECONDS


def detection_windows(stretches: list[Stretch], cuts: list[float]) -> list[list[int]]:
    """Stretches grouped for language detection: Whisper's detector is unsure of a 1-2 s
    stretch (synthetic English at p(en) 0.05-0.65) and sure of the same speech heard 4 s at a
    time, so short neighbours in one scene are heard together; a pause over
    ``DETECT_GAP_SECONDS`` or a cut ends a window, so a change of language there is caught."""
    windows: list[list[int]] = []
    for index, stretch in enumerate(stretches):
        if windows:
            last = windows[-1]
            previous = stretches[last[-1]]
            speech = sum(stretches[i].duration for i in last)
            joins = (
                speech < DETECT_SECONDS
                and stretch.start - previous.end <= DETECT_GAP_SECONDS
                and scene_number(stretch, cuts) == scene_number(previous, cuts)
            )
            if joins:
                last.append(index)
                continue
        windows.append([index])
    return windows


def scene_number(stretch: Stretch, cuts: Sequence[float]) -> int:
    """The number of the scene holding the middle of ``stretch`` (VAD pads a stretch with up to
    0.4 s of silence, which may reach across a cut)."""
    return bisect.bisect_right(cuts, (stretch.start + stretch.end) / 2)


def heard_part(span: Stretch) -> Stretch:
    """The part of a detection window the detector hears: its middle ``DETECT_MAX_SECONDS``."""
    extra = span.duration - DETECT_MAX_SECONDS
    if extra <= 0:
        return span
    return Stretch(span.start + extra / 2, span.end - extra / 2)
