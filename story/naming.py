"""Names and descriptions of storylines, built from what is in them."""

from __future__ import annotations

import itertools
import math
from collections import Counter
from collections.abc import Sequence

from analysis.pipeline.stages.common import format_clock
from story.graph import SceneNode

PALETTE = [
    "#4e79a7",
    "#f28e2b",
    "#e15759",
    "#76b7b2",
    "#59a14f",
    "#edc948",
    "#b07aa1",
    "#ff9da7",
    "#9c755f",
    "#bab0ac",
]


def distinctive_words(groups: Sequence[Sequence[SceneNode]], count: int = 3) -> list[list[str]]:
    """Per group, its most frequent words weighted by how few other groups use them (tf-idf)."""
    counts = [Counter(w for n in g for w in n.features.get("words") or []) for g in groups]
    used_in = Counter(w for c in counts for w in c)
    total = len(groups)
    result = []
    for c in counts:
        scored = {w: f * math.log((1 + total) / used_in[w]) for w, f in c.items()}
        ranked = sorted(scored, key=lambda w: (-scored[w], -c[w], w))
        result.append([w for w in ranked if c[w] >= 1][:count])
    return result


def main_people(
    group: Sequence[SceneNode], characters: dict[int, set[object]], names: dict[object, str]
) -> list[str]:
    """Names of the characters seen in most of the group's scenes (at most three)."""
    seen = Counter(c for n in group for c in characters.get(n.pk, set()))
    return [names.get(c, f"person {c}") for c, _ in seen.most_common(3)]


def storyline_name(order: int, people: list[str], words: list[str]) -> str:
    if people:
        return " & ".join(people[:2])
    if words:
        return ", ".join([words[0].capitalize(), *words[1:2]])
    return f"Storyline {order + 1}"


def storyline_description(group: Sequence[SceneNode], people: list[str], words: list[str]) -> str:
    """E.g. "4 scenes, 31.5 s, 00:07-01:12, in 3 parts; characters: Anna; words: stars, home"."""
    if not group:
        return "No scenes yet."
    ordered = sorted(group, key=lambda n: n.index)
    total = sum(n.end_time - n.start_time for n in ordered)
    runs = 1 + sum(1 for a, b in itertools.pairwise(ordered) if b.index != a.index + 1)
    noun = "scene" if len(ordered) == 1 else "scenes"
    span = f"{format_clock(ordered[0].start_time)}\u2013{format_clock(ordered[-1].end_time)}"
    parts = [f"{len(ordered)} {noun}, {total:.1f} s, {span}"]
    if runs > 1:
        parts[0] += f", in {runs} parts"
    if people:
        parts.append(f"characters: {', '.join(people)}")
    if words:
        parts.append(f"words: {', '.join(words)}")
    return "; ".join(parts)


def unique_names(names: list[str]) -> list[str]:
    """Append the ordinal to names that would otherwise repeat."""
    repeated = {n for n, c in Counter(names).items() if c > 1}
    return [f"{n} ({i + 1})" if n in repeated else n for i, n in enumerate(names)]
