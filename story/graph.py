"""The scene graph: one similarity matrix per signal, combined with a preset's weights.

Every component is an n x n matrix of similarities in 0..1 with NaN where the signal is missing
for either scene (no speech, no face…). Vector signals (voice, transcript, picture embedding,
colour) go through a Gaussian kernel exp(-(d/m)^2) whose scale m is the median distance
between the video's scenes, so every signal spreads over 0..1 the same way whatever its units.
Set signals (characters, speakers, words, objects, on-screen text, the language, the names and
key phrases said) use the Jaccard index; dialogue continuity adds 1 where a scene's speech goes
on from the last speech before it. Time
is an adjacency kernel: weak by design, so interleaved storylines (A B A C…) are not cut into
contiguous blocks. Scenes joined by speech running on over their cuts (one line of dialogue over
a shot and its reverse shot: the word timestamps cross the cut, or a sentence left open goes on
in lower case in the next shot) form a unit: a scene that lacks a signal (a shot without speech
has no voice) takes the unit's. Units are not forced together: word timestamps are only good to
a few tenths of a second, and a wrong join would tie two storylines.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from story.dialogue import continuations, mentions
from story.external import ExternalSignals
from story.text import content_words

if TYPE_CHECKING:
    import numpy as np

EDGES_PER_SCENE = 6
MIN_EDGE_WEIGHT = 0.05


@dataclass
class SceneNode:
    """What the graph needs of one scene, detached from the ORM."""

    pk: int
    index: int
    start_time: float
    end_time: float
    features: dict[str, Any] = field(default_factory=dict)


@dataclass
class Graph:
    """Components, the weights used and the combined matrix."""

    nodes: list[SceneNode]
    components: dict[str, np.ndarray]
    weights: dict[str, float]
    matrix: np.ndarray
    why: dict[str, Any] = field(default_factory=dict)  # per-component helpers for explanations


def _pairwise_distance(vectors: np.ndarray, metric: str) -> np.ndarray:
    import numpy as np

    if metric == "cosine":
        norm = vectors / np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-9)
        out = norm @ norm.T
        np.subtract(1.0, out, out=out)  # in place: n x n matrices are the stage's memory
        return np.clip(out, 0.0, 2.0, out=out)
    if metric == "euclidean":
        return _euclidean(vectors)
    # "standard": Euclidean after standardising each dimension over the video
    scaled = (vectors - vectors.mean(axis=0)) / np.maximum(vectors.std(axis=0), 1e-6)
    return _euclidean(scaled) / np.sqrt(vectors.shape[1])


def _euclidean(vectors: np.ndarray) -> np.ndarray:
    """Pairwise distances through the Gram matrix (no n x n x d array)."""
    import numpy as np

    squared = (vectors**2).sum(axis=1)
    gram = vectors @ vectors.T
    gram *= 2.0
    d2 = np.add.outer(squared, squared)
    np.subtract(d2, gram, out=d2)  # in place: n x n matrices are the stage's memory
    del gram
    np.maximum(d2, 0.0, out=d2)
    return np.sqrt(d2, out=d2)


def gaussian_kernel(vectors: list[Any], metric: str) -> np.ndarray:
    """n x n similarities exp(-(d/median d)^2) for the rows that are present, NaN elsewhere."""
    import numpy as np

    n = len(vectors)
    out = np.full((n, n), np.nan)
    present = [i for i, v in enumerate(vectors) if v is not None]
    if len(present) < 2:
        return out
    dist = _pairwise_distance(np.asarray([vectors[i] for i in present], dtype=np.float64), metric)
    # The median over the pairs above the diagonal, picked by a boolean mask (triu_indices'
    # two index arrays would take as much memory as the matrix itself).
    upper = dist[np.triu(np.ones(dist.shape, dtype=bool), 1)]
    scale = max(float(np.median(upper)), 1e-6)
    del upper
    dist /= scale
    np.square(dist, out=dist)
    np.negative(dist, out=dist)
    np.exp(dist, out=dist)
    if len(present) == n:
        return dist
    out[np.ix_(present, present)] = dist
    return out


def jaccard(sets: list[set[Any] | None]) -> np.ndarray:
    """Jaccard index of every pair of non-empty sets; NaN where either set is empty."""
    import numpy as np

    n = len(sets)
    out = np.full((n, n), np.nan)
    present = [i for i, s in enumerate(sets) if s]
    if not present:
        return out
    vocabulary = {item: j for j, item in enumerate({x for i in present for x in sets[i] or ()})}
    incidence = np.zeros((len(present), len(vocabulary)), dtype=np.float32)
    for row, i in enumerate(present):
        incidence[row, [vocabulary[x] for x in sets[i] or ()]] = 1.0
    both = incidence @ incidence.T  # one matrix product instead of n^2 set operations
    sizes = incidence.sum(axis=1)
    either = sizes[:, None] + sizes[None, :] - both
    out[np.ix_(present, present)] = both / np.maximum(either, 1.0)
    return out


def time_kernel(nodes: list[SceneNode]) -> np.ndarray:
    """1 for touching scenes, decaying with the gap (scale: 2% of the video, at least 2 s)."""
    import numpy as np

    duration = max((n.end_time for n in nodes), default=1.0)
    scale = max(2.0, 0.02 * duration)
    starts = np.array([n.start_time for n in nodes])
    ends = np.array([n.end_time for n in nodes])
    gap = np.maximum(
        0.0, np.maximum(starts[None, :] - ends[:, None], starts[:, None] - ends[None, :])
    )
    return np.exp(-gap / scale)


def motion_kernel(nodes: list[SceneNode]) -> np.ndarray:
    """Similar pace: exp(-|log ratio|) of the scenes' motion levels."""
    import numpy as np

    motion = np.array([max(float(n.features.get("motion") or 0.0), 1e-3) for n in nodes])
    return np.exp(-np.abs(np.log(motion[:, None] / motion[None, :])))


def dialogue_kernel(nodes: list[SceneNode]) -> np.ndarray:
    """Shared names and key phrases (Jaccard index), and 1 where a scene's speech continues
    the last speech before it (``story.dialogue``)."""
    texts = [n.features.get("text") or "" for n in nodes]
    out = jaccard([mentions(t) or None for t in texts])
    starts, ends = [n.start_time for n in nodes], [n.end_time for n in nodes]
    timed = [n.features.get("continues") for n in nodes]
    for a, b in continuations(texts, starts, ends, timed):
        out[a, b] = out[b, a] = 1.0
    return out


def _vision(nodes: list[SceneNode], ext: ExternalSignals, key: str) -> list[Any]:
    return [ext.vision.get(n.pk, {}).get(key) for n in nodes]


def components_of(
    nodes: list[SceneNode], ext: ExternalSignals, causal: list[tuple[int, int]] | None = None
) -> dict[str, np.ndarray]:
    """Every similarity component that has data for at least two scenes."""
    import numpy as np

    feats = [n.features for n in nodes]
    ocr = _vision(nodes, ext, "ocr")
    captions = [c or "" for c in _vision(nodes, ext, "caption")]
    comps: dict[str, np.ndarray] = {
        "characters": jaccard([ext.characters.get(n.pk) for n in nodes]),
        "speakers": jaccard([set(ext.speakers.get(n.pk, [])) for n in nodes]),
        "voiceprint": gaussian_kernel([ext.voiceprints.get(n.pk) for n in nodes], "cosine"),
        "voice": gaussian_kernel([f.get("voice") for f in feats], "standard"),
        "language": jaccard([{f["language"]} if f.get("language") else None for f in feats]),
        "transcript": gaussian_kernel([f.get("text_vector") for f in feats], "cosine"),
        "keywords": jaccard(
            [
                set(f.get("words") or []) | set(content_words(c))
                for f, c in zip(feats, captions, strict=True)
            ]
        ),
        "dialogue": dialogue_kernel(nodes),
        "visual": gaussian_kernel(_vision(nodes, ext, "embedding"), "cosine"),
        "colour": gaussian_kernel([f.get("colour") for f in feats], "euclidean"),
        "objects": jaccard([set(o or []) for o in _vision(nodes, ext, "objects")]),
        "ocr": jaccard([set(content_words(t or "")) for t in ocr]),
        "motion": motion_kernel(nodes),
        "time": time_kernel(nodes),
    }
    if causal:
        links = np.zeros((len(nodes), len(nodes)))
        for a, b in causal:
            links[a, b] = links[b, a] = 1.0
        comps["causal"] = links
    return {name: m for name, m in comps.items() if (~np.isnan(m)).sum() > len(nodes)}


def combine(components: dict[str, np.ndarray], weights: dict[str, float]) -> np.ndarray:
    """Weighted mean over the components present for each pair; the diagonal is 0."""
    import numpy as np

    n = next(iter(components.values())).shape[0] if components else 0
    total, norm = np.zeros((n, n)), np.zeros((n, n))
    for name, matrix in components.items():
        w = float(weights.get(name, 0.0))
        if w <= 0:
            continue
        present = ~np.isnan(matrix)
        np.add(total, matrix * w, out=total, where=present)
        np.add(norm, w, out=norm, where=present)
    # Pairs no component covers stay 0 (nothing was added to their total).
    out = np.divide(total, norm, out=total, where=norm > 0)
    np.fill_diagonal(out, 0.0)
    return out


def speech_units(nodes: list[SceneNode]) -> list[int]:
    """Unit number per scene: scenes joined by speech running on over their cuts share one
    (the word timestamps say so, or the words: a sentence left open goes on in lower case)."""
    joined = {i for i, node in enumerate(nodes) if node.features.get("continues")}
    texts = [n.features.get("text") or "" for n in nodes]
    starts, ends = [n.start_time for n in nodes], [n.end_time for n in nodes]
    pairs = continuations(texts, starts, ends, [None] * len(nodes))
    joined |= {b for a, b in pairs if b == a + 1}
    units, unit = [], -1
    for i in range(len(nodes)):
        if i == 0 or i not in joined:
            unit += 1
        units.append(unit)
    return units


def pool(matrix: np.ndarray, units: list[int]) -> np.ndarray:
    """Where a scene lacks a signal, it takes its unit's mean similarity (missing values left
    out): a shot without speech hears the voice of the shots its line of dialogue runs over. A
    scene's own measurement is kept, so a wrongly joined cut costs little. ``matrix`` is
    filled in place (a long film's n x n matrices are the stage's memory) and returned."""
    import numpy as np

    # Units are runs of consecutive scenes: sum each run's rows, then its columns.
    starts = [i for i, u in enumerate(units) if i == 0 or u != units[i - 1]]
    known = ~np.isnan(matrix)
    sums = np.add.reduceat(np.add.reduceat(np.where(known, matrix, 0.0), starts, 0), starts, 1)
    counts = np.add.reduceat(np.add.reduceat(known, starts, 0, dtype=float), starts, 1)
    unit_matrix = np.divide(sums, counts, out=np.full_like(sums, np.nan), where=counts > 0)
    np.logical_not(known, out=known)
    np.copyto(matrix, unit_matrix[np.ix_(units, units)], where=known)
    return matrix


def pooled(components: dict[str, np.ndarray], units: list[int]) -> dict[str, np.ndarray]:
    """Components pooled over speech units (time and causal links stay per scene), in place."""
    if len(set(units)) == len(units):
        return components
    for name, matrix in components.items():
        if name not in ("time", "causal"):
            pool(matrix, units)
    return components


def build_graph(
    nodes: list[SceneNode],
    ext: ExternalSignals,
    weights: dict[str, float],
    causal: list[tuple[int, int]] | None = None,
    continuity: bool = True,
) -> Graph:
    import numpy as np

    from story.presets import effective_weights

    units = speech_units(nodes) if continuity else list(range(len(nodes)))
    components = pooled(components_of(nodes, ext, causal), units)
    used = effective_weights(weights, set(components))
    graph = Graph(nodes, components, used, np.zeros((0, 0)), why={"ext": ext, "units": units})
    return reweight(graph, used)


def reweight(graph: Graph, weights: dict[str, float]) -> Graph:
    """The same components combined with other weights (no signal is recomputed)."""
    import numpy as np

    used = {name: w for name, w in weights.items() if name in graph.components and w > 0}
    n = len(graph.nodes)
    # One scene (or no shared signal) leaves no component: an all-zero n x n graph, not 0 x 0.
    matrix = combine(graph.components, used) if used else np.zeros((n, n))
    return Graph(graph.nodes, graph.components, used, matrix, why=graph.why)
