"""Why scenes are tied: the graph's strongest edges with each signal's share and reason.

Each scene's ``EDGES_PER_SCENE`` strongest neighbours and its neighbours in time become the
edges the analysis page draws; every edge lists the signals behind it, their share of the edge's
weight and, where the signal is a set (shared words, the same characters or speakers), what the
two scenes share.
"""

from __future__ import annotations

from typing import Any

from story import llm
from story.external import ExternalSignals
from story.graph import EDGES_PER_SCENE, MIN_EDGE_WEIGHT, Graph

WHY = {
    "characters": "the same characters on screen",
    "speakers": "the same speakers",
    "voiceprint": "the same voice",
    "voice": "a similar voice and recording",
    "language": "the same language",
    "transcript": "similar things are said",
    "keywords": "shared words",
    "dialogue": "the dialogue goes on, or the same names and phrases are said",
    "visual": "the pictures look alike",
    "colour": "similar colours and framing",
    "objects": "the same kinds of objects",
    "ocr": "shared on-screen text",
    "motion": "a similar pace",
    "time": "close in time",
    "causal": "cause and effect",
}


EDGE_ROWS = 256  # rows of the scene graph searched for neighbours at once


def edge_pairs(graph: Graph) -> list[tuple[int, int]]:
    """Undirected pairs: neighbours in time and each scene's strongest neighbours."""
    import numpy as np

    n = len(graph.nodes)
    pairs: set[tuple[int, int]] = {(i, i + 1) for i in range(n - 1)}
    if n > 1:
        top = min(EDGES_PER_SCENE, n - 1)
        # A block of rows at a time: copies of the whole n x n matrix would add to a long
        # film's peak memory (each row's neighbours depend on that row only).
        for first in range(0, n, EDGE_ROWS):
            block = -graph.matrix[first : first + EDGE_ROWS]
            rows = np.arange(first, first + len(block))
            block[rows - first, rows] = np.inf  # never a scene's own neighbour
            best = np.argpartition(block, top - 1, axis=1)[:, :top]
            at = np.repeat(rows - first, top)
            cols = best.ravel()
            keep = -block[at, cols] >= MIN_EDGE_WEIGHT
            low = np.minimum(at[keep] + first, cols[keep]).tolist()
            high = np.maximum(at[keep] + first, cols[keep]).tolist()
            pairs |= set(zip(low, high, strict=True))
    return sorted(pairs)


def edges_of(graph: Graph) -> list[dict[str, Any]]:
    """The similarity edges, each with its weight and the signals behind it."""
    import numpy as np

    pairs = edge_pairs(graph)
    if not pairs:
        return []
    rows, cols = (np.array(side) for side in zip(*pairs, strict=True))
    weights = np.clip(graph.matrix[rows, cols], 0.0, 1.0).round(4).tolist()
    total = sum(graph.weights.values()) or 1.0
    values = {
        name: graph.components[name][rows, cols]
        for name in graph.components
        if name in graph.weights
    }
    edges = []
    for e, (i, j) in enumerate(pairs):
        components = {}
        for name, column in values.items():
            value = float(column[e])
            if value == value:  # not NaN: the signal is there for both scenes
                components[name] = {
                    "score": round(value, 4),
                    "share": round(graph.weights[name] * value / total, 4),
                    "why": _why(graph, name, i, j),
                }
        edges.append(
            {
                "source": i,
                "target": j,
                "kind": "similarity",
                "weight": weights[e],
                "components": components,
            }
        )
    return edges


def _why(graph: Graph, name: str, i: int, j: int) -> str:
    a, b = graph.nodes[i].features, graph.nodes[j].features
    if name == "keywords":
        shared = sorted(set(a.get("words") or []) & set(b.get("words") or []))[:5]
        return f"shared words: {', '.join(shared)}" if shared else WHY[name]
    if name in ("characters", "speakers", "objects", "ocr"):
        ext: ExternalSignals = graph.why["ext"]
        pi, pj = graph.nodes[i].pk, graph.nodes[j].pk
        sets = {
            "characters": (ext.characters.get(pi, set()), ext.characters.get(pj, set())),
            "speakers": (set(ext.speakers.get(pi, [])), set(ext.speakers.get(pj, []))),
            "objects": (
                set(ext.vision.get(pi, {}).get("objects") or []),
                set(ext.vision.get(pj, {}).get("objects") or []),
            ),
        }.get(name)
        if sets:
            shared_names = [
                ext.character_names.get(x, str(x)) if name == "characters" else str(x)
                for x in sets[0] & sets[1]
            ]
            if shared_names:
                return f"{WHY[name]}: {', '.join(sorted(shared_names)[:5])}"
    return WHY[name]


def causal_edges(links: list[llm.CausalLink]) -> list[dict[str, Any]]:
    return [
        {
            "source": link.cause,
            "target": link.effect,
            "kind": "causal",
            "weight": 1.0,
            "components": {
                "causal": {
                    "score": 1.0,
                    "share": 1.0,
                    "why": link.explanation or WHY["causal"],
                    "cause_quote": link.cause_quote,
                    "effect_quote": link.effect_quote,
                }
            },
        }
        for link in links
    ]
