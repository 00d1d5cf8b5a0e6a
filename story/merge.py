"""One voice, one storyline: the automatic number of storylines merges what a voice joins.

The scene graph weighs the look of a place as much as who speaks, so a storyline filmed in two
places comes out of the clustering as two tight groups, and no criterion on the graph alone
tells those from two storylines. What tells them is the people: two groups whose scenes sound
the same voice as much across the two groups as inside each (the speaker labels, the voice
prints or the voice fingerprints say so) are one storyline that changed place, unless their
language differs (two synthetic voices are hard to tell apart, a Russian and an English
storyline are not). Groups without speech are never merged: nothing says they belong together.
Groups an editor pinned to different storylines stay apart.

With the number of storylines given, the scenes are first split into twice as many groups,
groups one voice runs through are merged, and then the most alike groups until the number is
reached: a storyline filmed in two places is found whole even when its places are more alike
than its voice is distinct.
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

    def mean(rows: np.ndarray, cols: np.ndarray, inside: bool) -> float | None:
        block = matrix[np.ix_(rows, cols)]
        if inside:
            block = block[~np.eye(len(rows), dtype=bool)]
        values = block[~np.isnan(block)]
        return float(values.mean()) if len(values) >= MIN_PAIRS else None

    wa, wb, across = mean(a, a, True), mean(b, b, True), mean(a, b, False)
    if wa is None or wb is None or across is None or wa <= 0 or wb <= 0:
        return None
    return across / float(np.sqrt(wa * wb))


def _voice(components: dict[str, np.ndarray], a: np.ndarray, b: np.ndarray) -> tuple[float, str]:
    """The strongest voice signal's ratio for groups ``a`` and ``b`` (0 when none is measured):
    the speaker clustering may split one voice that the voice prints still join."""
    best, name = 0.0, ""
    for signal in VOICE_SIGNALS:
        if signal in components:
            ratio = continuity_ratio(components[signal], a, b)
            if ratio is not None and ratio > best:
                best, name = ratio, signal
    return best, name


def _language_differs(components: dict[str, np.ndarray], a: np.ndarray, b: np.ndarray) -> bool:
    if "language" not in components:
        return False
    ratio = continuity_ratio(components["language"], a, b)
    return ratio is not None and ratio < SAME_LANGUAGE


def voice_merges(
    components: dict[str, np.ndarray], labels: list[int], pinned: set[int], fewest: int = 2
) -> tuple[list[int], list[Merge]]:
    """``labels`` (per position, -1: in none) with groups one voice runs through merged, the
    most alike pair first, and the merges made. At least ``fewest`` groups are left; of
    ``pinned`` groups (an editor's) no two are merged."""
    import numpy as np

    current = np.asarray(labels).copy()
    merges: list[Merge] = []
    while True:
        groups = sorted({int(c) for c in current if c >= 0})
        if len(groups) <= fewest:
            break
        best: Merge | None = None
        for i, a in enumerate(groups):
            for b in groups[i + 1 :]:
                if a in pinned and b in pinned:
                    continue
                rows, cols = np.flatnonzero(current == a), np.flatnonzero(current == b)
                voice, signal = _voice(components, rows, cols)
                if voice < SAME_VOICE or _language_differs(components, rows, cols):
                    continue
                if best is None or voice > best.voice:
                    kept, merged = (b, a) if a not in pinned and b in pinned else (a, b)
                    best = Merge(kept, merged, voice, signal)
        if best is None:
            break
        current[current == best.merged] = best.kept
        merges.append(best)
    return [int(c) for c in current], merges


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
