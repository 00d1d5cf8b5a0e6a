# ruff: noqa: RUF001  (Russian function words are meant to be Cyrillic)
"""Dialogue continuity: speech that goes on from an earlier scene's, and shared names and
key phrases.

Read from the stored transcript of each scene, so a regroup needs no media:

- a scene whose speech continues the last speech before it (that speech stops without ending
  its sentence and this one starts inside a sentence, in lower case or after a hyphen; or the
  word timestamps run on over the cut) is tied to that scene, however many silent shots lie
  between: one line of dialogue cut into shots, or a reading resumed;
- two scenes that say the same names (capitalised words inside sentences) or the same key
  phrases (two content words in a row) are tied by the share of them they have in common,
  compared by word stem, so "поезд" and "поезда", "boat" and "boats" count as one.
"""

from __future__ import annotations

import functools
import itertools
import re
from collections.abc import Sequence
from typing import Any

from story.text import STOPWORDS

TOKEN = re.compile(r"[^\W\d_]+(?:['’-][^\W\d_]+)*", re.UNICODE)
SENTENCE = re.compile(r"[.!?…;:\n]+")
CYRILLIC = re.compile(r"[\u0400-\u04ff]")
# Short words that are no names or topics (sentence-internal capitals such as "I", "Mr").
_SHORT_WORDS = (
    "the and for but not you his her was are had has all any can our out who its him she one two "
    "may now how why did get got let say see too yet nor off own mr mrs dr st "
    "как что так все для нет уже был она они его это тот где кто чем при про над под без"
)
_SHORT = frozenset(_SHORT_WORDS.split())
# Speech ending like this has not finished its sentence: a trailing hyphen or dash, a comma,
# an ellipsis (the recogniser's mark for words cut off) or a last word without a stop.
CLOSED = re.compile(r"(?<!\.)[.!?»\"”]\s*$")
# Speech starting like this is inside a sentence: a lower-case first letter or a hyphen.
INSIDE = re.compile(r"^\W*?(-|[^\W\d_])", re.UNICODE)
# A speech more than this many seconds after the last one is not its continuation.
MAX_GAP_SECONDS = 20.0


@functools.cache
def _stemmer(language: str) -> Any:
    import snowballstemmer

    return snowballstemmer.stemmer(language)


@functools.lru_cache(maxsize=65536)
def stem(word: str) -> str:
    """The lower-cased Snowball stem of ``word`` (Russian for Cyrillic, else English)."""
    low = word.lower()
    return str(_stemmer("russian" if CYRILLIC.search(low) else "english").stemWord(low))


def _content(token: str) -> bool:
    low = token.lower()
    return len(low) >= 3 and low not in STOPWORDS and low not in _SHORT


def mentions(text: str) -> set[str]:
    """The names (``n:`` stem) and key phrases (``p:`` stem stem) a text says."""
    out: set[str] = set()
    for sentence in SENTENCE.split(text):
        tokens = TOKEN.findall(sentence)
        for token in tokens[1:]:
            if token[:1].isupper() and token[1:].islower() and _content(token):
                out.add(f"n:{stem(token)}")
        for a, b in itertools.pairwise(tokens):
            # A name then a lower-case word is mostly who does what ("Anna waited"), not what
            # is talked about: phrases are all lower case or all names ("John Dashwood").
            if _content(a) and _content(b) and a[:1].isupper() == b[:1].isupper():
                out.add(f"p:{stem(a)} {stem(b)}")
    return out


def ends_open(text: str) -> bool:
    """Speech that stops without ending its sentence."""
    text = text.strip()
    return bool(text) and not CLOSED.search(text)


def starts_inside(text: str) -> bool:
    """Speech that starts inside a sentence (lower case, or a hyphen)."""
    match = INSIDE.match(text.strip())
    return match is not None and (match.group(1) == "-" or match.group(1).islower())


def continuations(
    texts: Sequence[str], starts: Sequence[float], ends: Sequence[float], timed: Sequence[Any]
) -> list[tuple[int, int]]:
    """(earlier, later) scene positions where the later scene's speech continues the last
    speech before it (``timed``: the word timestamps say the speech runs on over the cut)."""
    pairs = []
    last: int | None = None
    for j, text in enumerate(texts):
        if not text.strip():
            continue
        if last is not None and starts[j] - ends[last] <= MAX_GAP_SECONDS:
            adjacent_timed = bool(timed[j]) and last == j - 1
            if adjacent_timed or (ends_open(texts[last]) and starts_inside(text)):
                pairs.append((last, j))
        last = j
    return pairs
