"""Telling words from gibberish in what Tesseract read, with English and Russian dictionaries.

Tesseract reads texture, foliage and interface icons as confident strings ("lIl", "Wee",
"ЁЁ"), which then show up as on-screen text and pollute search. A line is kept only when at
least half of its words are dictionary words (pyspellchecker's frequency lists, English for
Latin script and Russian for Cyrillic); inside a kept line, numbers and confidently read
unknown words (names, brands) stay, fragments and mixed-script tokens go.
"""

from __future__ import annotations

import functools
import re
from typing import Any

MIN_KNOWN_SHARE = 0.5  # dictionary words among a line's words for the line to count as text
UNKNOWN_MIN_CONFIDENCE = 85.0  # a non-dictionary word (a name) in a kept line needs this
UNKNOWN_MIN_LETTERS = 3
EDGE_PUNCTUATION = "\"'`.,:;!?()[]{}<>«»“”‘’|/\\-_—–*~^="  # noqa: RUF001
JUNK_EDGES = "|\\_~^*=<>[]{}"  # at a word's edge: a stroke of the ground read as a sign
NUMBER = re.compile(r"^[#№+-]?\d+([.,:/-]\d+)*%?$")
LATIN = re.compile(r"^[A-Za-z]+(['’-][A-Za-z]+)*$")  # noqa: RUF001
CYRILLIC = re.compile(r"^[А-Яа-яЁё]+(-[А-Яа-яЁё]+)*$")  # noqa: RUF001
ADDRESS = re.compile(r"^(www\.|https?://)?[a-z0-9-]+(\.[a-z0-9-]+)*\.[a-z]{2,}(/\S*)?$", re.I)
SINGLE_LETTER_WORDS = {"a", "i", "я", "в", "и", "с", "к", "у", "о"}  # noqa: RUF001
VOWELS = set("aeiouyаеёиоуыэюя")  # noqa: RUF001


@functools.cache
def _checker(language: str) -> Any:
    from spellchecker import SpellChecker

    return SpellChecker(language=language, distance=1)


def clean(token: str) -> str:
    return token.strip(EDGE_PUNCTUATION)


def script(word: str) -> str | None:
    """ "en" or "ru" for a purely Latin or Cyrillic word, else None."""
    if LATIN.match(word):
        return "en"
    if CYRILLIC.match(word):
        return "ru"
    return None


def is_known(word: str) -> bool:
    """A dictionary word of its own script (any case)."""
    language = script(word)
    if language is None:
        return False
    lower = word.lower()
    if len(lower) == 1:  # the dictionaries list every letter; few are words on their own
        return lower in SINGLE_LETTER_WORDS
    return bool(_checker(language).known([lower]))


def wordlike(word: str) -> bool:
    """An unknown word that could be a name: one script, a vowel, no letter three times."""
    lower = word.lower()
    return (
        script(word) is not None
        and len(word) >= UNKNOWN_MIN_LETTERS
        and any(ch in VOWELS for ch in lower)
        and not re.search(r"(.)\1\1", lower)
        and (word.islower() or word.isupper() or word.istitle())
    )


def real_words(words: list[tuple[str, float]]) -> list[str]:
    """The words of one read line worth showing, given (text, confidence) pairs; [] when
    the line does not read as language. Kept words keep their punctuation ("news:")."""
    tokens = [(text.strip(), clean(text), confidence) for text, confidence in words]
    tokens = [(raw, word, c) for raw, word, c in tokens if word]
    lettered = [word for _raw, word, _c in tokens if any(ch.isalpha() for ch in word)]
    known = [word for word in lettered if is_known(word)]
    if not known or len(known) < MIN_KNOWN_SHARE * len(lettered):
        return []
    return [raw.strip(JUNK_EDGES) for raw, word, c in tokens if _keep(word, c)]


def _keep(token: str, confidence: float) -> bool:
    if is_known(token) or NUMBER.match(token) or ADDRESS.match(token):
        return True
    return confidence >= UNKNOWN_MIN_CONFIDENCE and wordlike(token)
