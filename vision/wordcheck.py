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
TOP_LEVEL_DOMAINS = {"com", "org", "net", "info", "tv", "ru", "uk", "de", "fr", "io"}
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


def joined_addresses(words: list[tuple[str, float]]) -> list[tuple[str, float]]:
    """Web addresses that Tesseract split at their dots ("www", "bcastell", "com") joined
    back into one word: "www", one or two confident names, and a top-level domain."""
    out: list[tuple[str, float]] = []
    k = 0
    while k < len(words):
        for length in (3, 4):
            part = words[k : k + length]
            names = [clean(text).lower() for text, _c in part]
            if (
                len(part) == length
                and names[0] == "www"
                and names[-1] in TOP_LEVEL_DOMAINS
                and all(LATIN.match(name) for name in names)
                and min(c for _t, c in part) >= UNKNOWN_MIN_CONFIDENCE
            ):
                out.append((".".join(names), min(c for _t, c in part)))
                k += length
                break
        else:
            out.append(words[k])
            k += 1
    return out


def real_words(words: list[tuple[str, float]]) -> list[str]:
    """The words of one read line worth showing, given (text, confidence) pairs; [] when
    the line does not read as language. Kept words keep their punctuation ("news:"); a web
    address counts as a word."""
    pairs = joined_addresses(words)
    tokens = [(text.strip(), clean(text), confidence) for text, confidence in pairs]
    tokens = [(raw, word, c) for raw, word, c in tokens if word]
    lettered = [word for _raw, word, _c in tokens if any(ch.isalpha() for ch in word)]
    known = [word for word in lettered if is_known(word) or ADDRESS.match(word)]
    if not known or len(known) < MIN_KNOWN_SHARE * len(lettered):
        return []
    return [raw.strip(JUNK_EDGES) for raw, word, c in tokens if keep(word, c)]


def keep(token: str, confidence: float) -> bool:
    """Whether a word of a kept line is shown: a dictionary word, a number, an address, or
    a confidently read word that could be a name."""
    if is_known(token) or NUMBER.match(token) or ADDRESS.match(token):
        return True
    return confidence >= UNKNOWN_MIN_CONFIDENCE and wordlike(token)
