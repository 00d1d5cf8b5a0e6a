"""One voice, one storyline: the automatic number of storylines merges what a voice joins.

The scene graph weighs the look of a place as much as who speaks, so a storyline filmed in two
places comes out of the clustering as two tight groups, and no criterion on the graph alone
tells those from two storylines. What tells them is the people: two groups whose scenes sound
the same voice as much across the two groups as inside each (the speaker labels, the voice
prints or the voice fingerprints say so) are one storyline that changed place, unless their
language differs (two synthetic voices are hard to tell apart, a Russian and an English
storyline are not). Groups without speech are never merged: nothing says they belong together.
Groups an editor pinned to different storylines stay apart. A voice heard in three groups or
more (one narrator for two storylines, synthetic voices too alike to tell apart) cannot say
which of them go together: they are merged only where speech runs on over a cut from one into
the other (with the number of storylines given, not by voice at all).

With the number of storylines given, the scenes are first split into twice as many groups,
groups one voice runs through are merged, and then the most alike groups until the number is
reached: a storyline filmed in two places is found whole even when its places are more alike
than its voice is distinct. (``story.grouping`` keeps that partition, when merges by affinity
were needed, only if its storylines stand apart as well as the plain partition's.)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np

VOICE_SIGNALS = ("speakers", "voiceprint", "voice")
# A pair's similarity across the two groups over the geometric mean of the similarity inside
# each: 1 when the voice is the same throughout; over the story videos, storylines cut in two
# by their looks score 0.9-1.1, two storylines 0.5 or less unless they share one reader.
SAME_VOICE = 0.85
SAME_LANGUAGE = 0.8
MIN_PAIRS = 2  # scene pairs with the signal needed on each side of a comparison
# Utterances running on over a cut from one group into the other that join two groups of a
# voice heard in three groups or more: one can be a cut found a little off the true one.
MIN_JOINS = 2


@dataclass(frozen=True)
class Merge:
    """Two groups joined and why: the voice ratio that joined them."""

    kept: int
    merged: int
    voice: float
    signal: str

    def as_json(self) -> dict[str, object]:
        return {**self.__dict__, "voice": round(self.voice, 4)}


def continuity_ratio(matrix: np.ndarray, a: np.ndarray, b: np.ndarray) -> float | None:
    """Mean similarity across groups ``a`` and ``b`` over the geometric mean of the mean inside
    each (scene positions); None where the signal is missing on too few pairs."""
    import numpy as np

    labels = np.full(len(matrix), -1)
    labels[a], labels[b] = 0, 1
    ratios = _ratios(block_means(matrix, labels, [0, 1]))
    return None if np.isnan(ratios[0, 1]) else float(ratios[0, 1])


def block_means(matrix: np.ndarray, labels: np.ndarray, groups: list[int]) -> np.ndarray:
    """Mean similarity between (and, on the diagonal, inside) every two ``groups``, a scene's
    similarity with itself left out; NaN where fewer than ``MIN_PAIRS`` pairs are measured.
    Two matrix products per signal instead of one slice per pair of groups."""
    import numpy as np

    member = (np.asarray(labels)[:, None] == np.asarray(groups)[None, :]).astype(np.float64)
    known = ~np.isnan(matrix)
    values = np.where(known, matrix, 0.0)
    sums = member.T @ values @ member
    counts = member.T @ known.astype(np.float64) @ member
    own = np.diag(values)[:, None] * member, np.diag(known).astype(np.float64)[:, None] * member
    sums[np.diag_indices(len(groups))] -= own[0].sum(axis=0)
    counts[np.diag_indices(len(groups))] -= own[1].sum(axis=0)
    return np.divide(sums, counts, out=np.full_like(sums, np.nan), where=counts >= MIN_PAIRS)


def _ratios(means: np.ndarray) -> np.ndarray:
    """Across over the geometric mean of inside, per pair of groups (NaN: not measured)."""
    import numpy as np

    inside = np.diag(means).copy()
    inside[~(inside > 0)] = np.nan  # a group without inside pairs, or alike at 0, says nothing
    with np.errstate(invalid="ignore"):
        return means / np.sqrt(np.outer(inside, inside))


def _voice_ratios(
    components: dict[str, np.ndarray], labels: np.ndarray, groups: list[int]
) -> tuple[np.ndarray, np.ndarray]:
    """Per pair of groups, the strongest voice signal's ratio (0 when none is measured) and
    the index of that signal in ``VOICE_SIGNALS``: the speaker clustering may split one voice
    that the voice prints still join."""
    import numpy as np

    m = len(groups)
    best, which = np.zeros((m, m)), np.full((m, m), -1)
    for i, signal in enumerate(VOICE_SIGNALS):
        if signal in components:
            ratio = np.nan_to_num(_ratios(block_means(components[signal], labels, groups)))
            better = ratio > best
            best, which = np.where(better, ratio, best), np.where(better, i, which)
    return best, which


def _language_differs(
    components: dict[str, np.ndarray], labels: np.ndarray, groups: list[int]
) -> np.ndarray:
    import numpy as np

    if "language" not in components:
        return np.zeros((len(groups), len(groups)), dtype=bool)
    ratio = _ratios(block_means(components["language"], labels, groups))
    return ~np.isnan(ratio) & (ratio < SAME_LANGUAGE)


def voice_merges(
    components: dict[str, np.ndarray],
    labels: list[int],
    pinned: set[int],
    fewest: int = 2,
    units: list[int] | None = None,
) -> tuple[list[int], list[Merge]]:
    """``labels`` (per position, -1: in none) with groups one voice runs through merged, the
    most alike pair first, and the merges made. At least ``fewest`` groups are left; of
    ``pinned`` groups (an editor's) no two are merged.

    A voice heard in three groups or more (a narrator's, or synthetic voices too alike to tell
    apart) may be two storylines' voice, and it cannot say which of its groups go together:
    such groups are merged only where utterances run on from one into the other over a cut
    (``MIN_JOINS`` times; ``units``: the speech unit of every position, as
    ``story.graph.speech_units`` gives them), else never.
    """
    import numpy as np

    current = np.asarray(labels).copy()
    merges: list[Merge] = []
    shared: set[int] = set()  # groups whose voice is heard in two other groups or more
    while True:
        groups = sorted({int(c) for c in current if c >= 0})
        if len(groups) <= fewest:
            break
        voice, which = _voice_ratios(components, current, groups)
        held = np.array([g in pinned for g in groups])
        allowed = (voice >= SAME_VOICE) & ~_language_differs(components, current, groups)
        allowed &= ~np.outer(held, held)
        np.fill_diagonal(allowed, False)
        # A group stays "shared" after merges: the voice's third group is still out there.
        shared |= {
            g for g, partners in zip(groups, allowed.sum(axis=1), strict=True) if partners > 1
        }
        ambiguous = np.array([g in shared for g in groups])
        joined = utterance_joins(current, units, groups) >= MIN_JOINS
        allowed &= joined | ~(ambiguous[:, None] | ambiguous[None, :])
        allowed &= np.triu(np.ones_like(allowed), 1)
        if not allowed.any():
            break
        x, y = np.unravel_index(int(np.argmax(np.where(allowed, voice, -np.inf))), voice.shape)
        a, b = groups[int(x)], groups[int(y)]
        kept, merged = (b, a) if a not in pinned and b in pinned else (a, b)
        best = Merge(kept, merged, float(voice[x, y]), VOICE_SIGNALS[int(which[x, y])])
        current[current == best.merged] = best.kept
        if best.merged in shared:
            shared.add(best.kept)
        merges.append(best)
    return [int(c) for c in current], merges


def utterance_joins(labels: np.ndarray, units: list[int] | None, groups: list[int]) -> np.ndarray:
    """Per pair of ``groups``: how often speech runs on over a cut from one into the other
    (two neighbouring scenes of one speech unit, one in each group)."""
    import numpy as np

    at = {g: i for i, g in enumerate(groups)}
    out = np.zeros((len(groups), len(groups)), dtype=int)
    if units is None:
        return out
    for i in range(1, len(labels)):
        a, b = int(labels[i - 1]), int(labels[i])
        if units[i] == units[i - 1] and a != b and a in at and b in at:
            out[at[a], at[b]] += 1
            out[at[b], at[a]] += 1
    return out


def affinity_merges(
    matrix: np.ndarray, labels: list[int], pinned: set[int], wanted: int
) -> list[int]:
    """``labels`` with the two groups of highest mean affinity merged until ``wanted`` are
    left (average linkage over groups; two ``pinned`` groups are never merged)."""
    import numpy as np

    current = np.asarray(labels).copy()
    while True:
        groups = sorted({int(c) for c in current if c >= 0})
        if len(groups) <= wanted:
            break
        member = (current[:, None] == np.array(groups)[None, :]).astype(np.float64)
        sizes = member.sum(axis=0)
        between = (member.T @ matrix @ member) / np.outer(sizes, sizes)
        np.fill_diagonal(between, -np.inf)
        held = np.array([g in pinned for g in groups])
        between[np.outer(held, held)] = -np.inf
        best = np.unravel_index(int(np.argmax(between)), between.shape)
        x, y = int(best[0]), int(best[1])
        if not np.isfinite(between[x, y]):
            break
        kept, merged = (groups[y], groups[x]) if groups[y] in pinned else (groups[x], groups[y])
        current[current == merged] = kept
    return [int(c) for c in current]
