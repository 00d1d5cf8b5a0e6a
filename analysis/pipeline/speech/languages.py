"""Which language each stretch of speech is in, from Whisper's language detector.

The detector gives every stretch a probability per language. Three rules turn those into
decisions:

* only the expected languages count (``WHISPER_EXPECTED_LANGUAGES``, default ``en,ru``; empty:
  any language Whisper knows), so a stretch can't come out as Welsh or Latin. The probability
  the detector gave to other languages ("speech it could not place") goes to the expected
  languages other than English, in proportion to their own: Whisper hears English as English
  (p > 0.9 even in 1.5 s stretches, most of its training data is English), while speech it
  knows less well spreads over many languages. Synthetic Russian, which base Whisper calls
  Arabic, Japanese or Mongolian at p 0.1-0.4, is that kind of speech, and so is a Russian
  stretch cut short by a pause;
* a stretch's probabilities are averaged with those of its neighbours in the same scene less
  than ``NEIGHBOUR_GAP_SECONDS`` away, weighted by duration (the neighbours at half weight):
  a one-second stretch alone is a noisy vote, and one noisy stretch doesn't flip a passage;
* a stretch whose language stays under ``CONFIDENT`` is marked unsure (the analysis metadata
  says how much speech was).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from analysis.pipeline.speech.windows import Stretch, scene_number

CONFIDENT = 0.5  # a stretch whose best expected language reaches this is sure
RELIABLE = frozenset({"en"})  # languages Whisper's detector names whenever it hears them
NEIGHBOUR_GAP_SECONDS = 2.0  # stretches of one scene this close share their evidence
NEIGHBOUR_WEIGHT = 0.5


@dataclass(frozen=True)
class Decision:
    language: str
    probability: float  # the (smoothed, expected-only) probability of that language
    sure: bool


def restrict(probabilities: dict[str, float], expected: Sequence[str]) -> dict[str, float]:
    """``probabilities`` of the expected languages only (all of them when none is expected),
    the unplaced rest shared by the expected languages outside ``RELIABLE``."""
    if not expected:
        return dict(probabilities)
    own = {language: probabilities.get(language, 0.0) for language in expected}
    top = max(probabilities, key=probabilities.__getitem__, default=None)
    if top in own:  # the detector named an expected language first: it placed the speech
        total = sum(own.values())
        return {language: p / total for language, p in own.items()}
    unplaced = max(0.0, 1.0 - sum(own.values())) if probabilities else 0.0
    heirs = [language for language in own if language not in RELIABLE]
    weight = sum(own[language] for language in heirs)
    for language in heirs:
        share = own[language] / weight if weight > 0 else 1 / len(heirs)
        own[language] += unplaced * share
    return own


def neighbours(stretches: Sequence[Stretch], index: int, cuts: Sequence[float]) -> list[int]:
    """Indexes of the stretches next to ``index`` in the same scene and close enough."""
    found = []
    own = stretches[index]
    for other in (index - 1, index + 1):
        if not 0 <= other < len(stretches):
            continue
        first, second = sorted((own, stretches[other]), key=lambda s: s.start)
        close = second.start - first.end <= NEIGHBOUR_GAP_SECONDS
        if close and scene_number(own, cuts) == scene_number(stretches[other], cuts):
            found.append(other)
    return found


def smooth(
    stretches: Sequence[Stretch], probabilities: Sequence[dict[str, float]], cuts: Sequence[float]
) -> list[dict[str, float]]:
    """Each stretch's probabilities averaged with its neighbours' (see the module docstring)."""
    smoothed = []
    for index, own in enumerate(probabilities):
        votes = [(stretches[index].duration, own)] + [
            (stretches[j].duration * NEIGHBOUR_WEIGHT, probabilities[j])
            for j in neighbours(stretches, index, cuts)
        ]
        total = sum(weight for weight, _ in votes) or 1.0
        smoothed.append({lang: sum(w * p.get(lang, 0.0) for w, p in votes) / total for lang in own})
    return smoothed


def decide(
    stretches: Sequence[Stretch],
    probabilities: Sequence[dict[str, float]],
    cuts: Sequence[float],
    expected: Sequence[str],
) -> list[Decision]:
    """The language of every stretch (see the module docstring).

    Args:
        stretches: the stretches of speech, in order.
        probabilities: Whisper's language probabilities per stretch (``{"en": 0.97, ...}``).
        cuts: scene cuts (seconds); smoothing never reaches across one.
        expected: the languages the film may speak; empty: any.
    """
    restricted = [restrict(p, expected) for p in probabilities]
    decisions = []
    for probs in smooth(stretches, restricted, cuts):
        best = max(probs, key=probs.__getitem__, default=None)
        if best is None:  # too short to hear and no neighbour: the first expected language
            decisions.append(Decision(expected[0] if expected else "en", 0.0, False))
            continue
        decisions.append(Decision(best, round(probs[best], 3), probs[best] >= CONFIDENT))
    return decisions
