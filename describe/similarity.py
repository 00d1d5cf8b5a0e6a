"""A METEOR-like similarity of two descriptions, offline, for English and Russian alike.

The original service compared each new caption with the previous one by METEOR (NLTK, which
needs WordNet downloads and knows English only). This is METEOR's own recipe without synonyms:
unigrams are aligned in two stages, exact forms first and then Snowball stems (the Russian
stemmer for Cyrillic words, the English one for the rest), and the score is the recall-weighted
harmonic mean of precision and recall, reduced by the fragmentation penalty
``0.5 * (chunks / matches) ** 3``.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import lru_cache

ALPHA = 0.9  # weight of recall against precision (METEOR's default)
BETA = 3.0
GAMMA = 0.5
WORD = re.compile(r"\w+", re.UNICODE)
CYRILLIC = re.compile(r"[\u0400-\u04ff]")


def tokens(text: str) -> list[str]:
    """Lower-cased words; YO is folded into YE (``ё`` -> ``e``) as Russian spelling mostly does."""
    return WORD.findall(text.lower().replace("\u0451", "\u0435"))


@lru_cache(maxsize=2)
def _stemmer(language: str) -> Callable[[str], str]:
    import snowballstemmer

    return snowballstemmer.stemmer(language).stemWord  # type: ignore[no-any-return]


@lru_cache(maxsize=4096)
def stem(word: str) -> str:
    return _stemmer("russian" if CYRILLIC.search(word) else "english")(word)


def align(hypothesis: list[str], reference: list[str]) -> list[tuple[int, int]]:
    """Matched (hypothesis index, reference index) pairs: exact forms first, then stems.

    Among equal candidates the one right after the previous match is preferred, which keeps
    runs of words together (fewer chunks, as METEOR's aligner aims for).
    """
    matched_h: dict[int, int] = {}
    used_r: set[int] = set()
    for key in (lambda w: w, stem):
        ref_keys = [key(w) for w in reference]
        for i, word in enumerate(hypothesis):
            if i in matched_h:
                continue
            wanted = key(word)
            candidates = [j for j, k in enumerate(ref_keys) if k == wanted and j not in used_r]
            if not candidates:
                continue
            previous = matched_h.get(i - 1)
            follow = previous + 1 if previous is not None else None
            j = follow if follow in candidates else candidates[0]
            matched_h[i] = j
            used_r.add(j)
    return sorted(matched_h.items())


def chunks(pairs: list[tuple[int, int]]) -> int:
    """Runs of matches adjacent in both texts."""
    count = 0
    for n, (i, j) in enumerate(pairs):
        if n == 0 or i != pairs[n - 1][0] + 1 or j != pairs[n - 1][1] + 1:
            count += 1
    return count


def meteor(hypothesis: str, reference: str) -> float:
    """METEOR of ``hypothesis`` against ``reference`` in [0, 1] (exact and stem matches)."""
    hyp, ref = tokens(hypothesis), tokens(reference)
    if not hyp or not ref:
        return 1.0 if hyp == ref else 0.0
    if hyp == ref:
        return 1.0
    pairs = align(hyp, ref)
    matches = len(pairs)
    if not matches:
        return 0.0
    precision, recall = matches / len(hyp), matches / len(ref)
    fmean = precision * recall / (ALPHA * precision + (1 - ALPHA) * recall)
    penalty = GAMMA * (chunks(pairs) / matches) ** BETA
    return fmean * (1 - penalty)


def similarity(first: str, second: str) -> float:
    """Symmetric METEOR: the mean of both directions (METEOR itself favours recall)."""
    return (meteor(first, second) + meteor(second, first)) / 2
