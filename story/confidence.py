"""How sure the grouping is of each scene's storyline, and why it put the scene there.

A scene's confidence is its relevance margin: (own - runner-up) / own, from the relevance row
(mean affinity to each storyline's other scenes), 0 when two storylines claim it equally, 1 when
only its own does. Its reasons are the signals that tie it to its storyline more than to the
runner-up, each signal's (own - runner-up) similarity times its weight share; the signal that
pulls hardest the other way is given too. Scenes below ``REVIEW_BELOW`` are the review list: an
editor checks those few instead of every scene.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import numpy as np

    from story.graph import Graph

REVIEW_BELOW = 0.3
TOP_REASONS = 3
MIN_SHARE = 0.005


@dataclass
class SceneCertainty:
    """One scene's confidence in its storyline, the reasons, and the runner-up storyline."""

    confidence: float
    reasons: list[dict[str, Any]] = field(default_factory=list)
    against: dict[str, Any] | None = None
    runner_up: int | None = None  # cluster number of the second most related storyline

    @property
    def needs_review(self) -> bool:
        return self.confidence < REVIEW_BELOW


def scene_confidences(
    graph: Graph,
    labels: list[int],
    relevance: np.ndarray,
    editor: set[int],
    why: dict[str, str],
) -> list[SceneCertainty | None]:
    """Per position (None for scenes in no storyline); editor-placed scenes are certain."""
    import numpy as np

    labels_arr = np.asarray(labels)
    k = relevance.shape[1] if relevance.ndim == 2 else 0
    out: list[SceneCertainty | None] = []
    if k >= 2:
        row = relevance.copy()
        own_value = row[np.arange(len(labels)), np.maximum(labels_arr, 0)]
        row[np.arange(len(labels)), np.maximum(labels_arr, 0)] = -1.0
        runner_up = row.argmax(axis=1)
        pulls = _signal_pulls(graph, labels_arr, k)
    for i, own in enumerate(labels):
        if own < 0:
            out.append(None)
        elif i in editor:
            out.append(SceneCertainty(1.0, [{"signal": "editor", "why": "placed by an editor"}]))
        elif k < 2:
            out.append(SceneCertainty(1.0, [{"signal": "only", "why": "the only storyline"}]))
        else:
            best, second = float(own_value[i]), int(runner_up[i])
            margin = (best - float(relevance[i, second])) / best if best > 1e-9 else 0.0
            reasons, against = _reasons(pulls, i, own, second, why)
            out.append(SceneCertainty(round(max(0.0, margin), 4), reasons, against, second))
    return out


def _signal_pulls(graph: Graph, labels: np.ndarray, k: int) -> dict[str, np.ndarray]:
    """Per signal, n x k: its weight share times the scene's mean similarity to each cluster's
    other scenes (NaN where the signal has no value for any of them)."""
    import numpy as np

    n = len(labels)
    member = np.zeros((n, k))
    inside = labels >= 0
    member[np.flatnonzero(inside), labels[inside]] = 1.0
    total = sum(graph.weights.values()) or 1.0
    out = {}
    for name, weight in graph.weights.items():
        matrix = graph.components.get(name)
        if matrix is None:
            continue
        known = ~np.isnan(matrix)
        np.fill_diagonal(known, False)  # a scene is not compared with itself
        sums = np.where(known, matrix, 0.0) @ member
        counts = known.astype(np.float64) @ member
        mean = np.divide(sums, counts, out=np.full((n, k), np.nan), where=counts > 0)
        out[name] = weight / total * mean
    return out


def _reasons(
    pulls: dict[str, np.ndarray], i: int, own: int, second: int, why: dict[str, str]
) -> tuple[list[dict[str, Any]], dict[str, Any] | None]:
    import math

    shares = []
    for name, pull in pulls.items():
        share = float(pull[i, own] - pull[i, second])
        if not math.isnan(share):
            shares.append((share, name))
    shares.sort(reverse=True)
    reasons = [
        {"signal": name, "why": why.get(name, name), "share": round(share, 4)}
        for share, name in shares[:TOP_REASONS]
        if share >= MIN_SHARE
    ]
    worst = shares[-1] if shares else None
    against = None
    if worst is not None and worst[0] <= -MIN_SHARE:
        against = {
            "signal": worst[1],
            "why": why.get(worst[1], worst[1]),
            "share": round(worst[0], 4),
        }
    return reasons, against
