"""Storylines from the scene graph: spectral clustering with editors' constraints.

Plain numpy (no scikit-learn): the normalised affinity D^-1/2 W D^-1/2, its leading
eigenvectors, k-means on the row-normalised embedding (Ng, Jordan & Weiss 2001). The number
of storylines, when not given, is the one with the best silhouette (modularities and eigengaps
are shown too).
Editors' decisions are hard constraints: scenes an editor put in one storyline are linked with
weight 1 and scenes put in different storylines get weight 0 (Kamvar et al. 2003), each editor
storyline is pinned to one cluster, and its scenes can never leave it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import numpy as np

MAX_AUTO_STORYLINES = 8
KMEANS_RESTARTS = 12
REFINE_ROUNDS = 20
MIN_SILHOUETTE = 0.1
# Above this many scenes the leading eigenvectors come from Lanczos iteration, not a full
# decomposition.
DENSE_EIGEN_LIMIT = 300
# How the automatic number of storylines is chosen: "modularity" (Newman's Q of the weighted
# scene graph: more weight inside storylines than chance would put there) or "silhouette".
AUTO_CRITERION = "silhouette"


@dataclass
class Constraints:
    """Editor decisions over positions 0..n-1: groups that must stay together and apart."""

    groups: list[list[int]] = field(default_factory=list)  # one list per editor storyline
    excluded: set[int] = field(default_factory=set)  # in no storyline at all

    @property
    def fixed(self) -> dict[int, int]:
        return {pos: g for g, members in enumerate(self.groups) for pos in members}

    def must_link(self) -> list[tuple[int, int]]:
        return [(a, b) for m in self.groups for i, a in enumerate(m) for b in m[i + 1 :]]

    def cannot_link(self) -> list[tuple[int, int]]:
        pairs = []
        for g, first in enumerate(self.groups):
            for second in self.groups[g + 1 :]:
                pairs += [(a, b) for a in first for b in second]
        return pairs


@dataclass
class Clustering:
    labels: list[int]  # per position; -1 = in no storyline
    relevance: np.ndarray  # n x k, rows sum to 1 (0 rows for excluded scenes)
    k: int
    criterion: dict[str, Any]
    group_cluster: dict[int, int]  # editor group -> cluster


def constrained_affinity(matrix: np.ndarray, cons: Constraints) -> np.ndarray:
    w = matrix.copy()
    for a, b in cons.must_link():
        w[a, b] = w[b, a] = 1.0
    for a, b in cons.cannot_link():
        w[a, b] = w[b, a] = 0.0
    return w


def spectrum(w: np.ndarray, top: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Eigenvalues (descending) and eigenvectors of the normalised affinity (``top``: only the
    leading ones; on a long film by Lanczos iteration, which needs only matrix products)."""
    import numpy as np
    from scipy.linalg import eigh

    degree = np.maximum(w.sum(axis=1), 1e-9)
    inv = 1.0 / np.sqrt(degree)
    n = len(w)
    normalised = inv[:, None] * w * inv[None, :]
    if top is not None and n > DENSE_EIGEN_LIMIT and top < n // 4:
        values, vectors = _leading(normalised, top)
    else:
        subset = [max(0, n - top), n - 1] if top is not None and top < n else None
        values, vectors = eigh(normalised, subset_by_index=subset)
    order = np.argsort(values)[::-1]
    return values[order], vectors[:, order]


def _leading(matrix: np.ndarray, top: int) -> tuple[np.ndarray, np.ndarray]:
    """The ``top`` largest eigenpairs of a symmetric matrix by ARPACK's Lanczos iteration
    (a dense decomposition of a 1,500-scene film costs seconds; this, a few hundred products).
    The start vector is fixed, so the result is deterministic."""
    import numpy as np
    from scipy.sparse.linalg import ArpackNoConvergence, eigsh

    start = np.random.default_rng(0).uniform(0.5, 1.5, len(matrix))
    try:
        return eigsh(matrix, k=top, which="LA", v0=start, ncv=min(len(matrix), 4 * top + 20))
    except ArpackNoConvergence:
        from scipy.linalg import eigh

        n = len(matrix)
        return eigh(matrix, subset_by_index=[n - top, n - 1])


def kmeans(points: np.ndarray, k: int, seed: int = 0) -> np.ndarray:
    """Lloyd's k-means with k-means++ seeding, best of several restarts (deterministic)."""
    import numpy as np

    rng = np.random.default_rng(seed)
    best, best_cost = np.zeros(len(points), dtype=int), np.inf
    for _ in range(KMEANS_RESTARTS):
        centres = [points[rng.integers(len(points))]]
        for _c in range(1, k):
            d2 = np.min([((points - c) ** 2).sum(axis=1) for c in centres], axis=0)
            total = d2.sum()
            pick = rng.choice(len(points), p=d2 / total) if total > 0 else rng.integers(len(points))
            centres.append(points[pick])
        labels, cost = _lloyd(points, np.array(centres))
        if cost < best_cost:
            best, best_cost = labels, cost
    return best


def _lloyd(points: np.ndarray, centres: np.ndarray) -> tuple[np.ndarray, float]:
    import numpy as np

    labels = np.zeros(len(points), dtype=int)
    for _ in range(100):
        d2 = ((points[:, None, :] - centres[None, :, :]) ** 2).sum(axis=2)
        new = d2.argmin(axis=1)
        for c in range(len(centres)):
            if (new == c).any():
                centres[c] = points[new == c].mean(axis=0)
        if (new == labels).all():
            break
        labels = new
    d2 = ((points - centres[labels]) ** 2).sum(axis=1)
    return labels, float(d2.sum())


def _pin_groups(labels: np.ndarray, cons: Constraints, k: int) -> dict[int, int]:
    """Editor group -> cluster with the largest overlap, each cluster to at most one group."""
    import numpy as np
    from scipy.optimize import linear_sum_assignment

    if not cons.groups:
        return {}
    overlap = np.zeros((len(cons.groups), k))
    for g, members in enumerate(cons.groups):
        for pos in members:
            overlap[g, labels[pos]] += 1
    rows, cols = linear_sum_assignment(-overlap)
    return {int(g): int(c) for g, c in zip(rows, cols, strict=True)}


def relevance_of(w: np.ndarray, labels: np.ndarray, k: int) -> np.ndarray:
    """Mean affinity of each scene to each cluster's other members, rows scaled to sum 1."""
    import numpy as np

    n = len(labels)
    member = np.zeros((n, k))
    inside = (labels >= 0) & (labels < k)
    member[np.flatnonzero(inside), labels[inside]] = 1.0
    sums = w @ member - member * np.diag(w)[:, None]  # a scene is not its own neighbour
    counts = member.sum(axis=0)[None, :] - member  # the cluster's members other than the scene
    out = np.divide(sums, counts, out=np.zeros((n, k)), where=counts > 0)
    total = out.sum(axis=1, keepdims=True)
    uniform = np.full((n, k), 1.0 / max(k, 1))
    return np.where(total > 1e-12, out / np.maximum(total, 1e-12), uniform)


def place(matrix: np.ndarray, labels: list[int], positions: set[int]) -> list[int]:
    """``labels`` (per position, -1: in none) with each of ``positions`` put in the storyline
    whose members it is most alike on average (the members placed before it, not each other)."""
    import numpy as np

    current = np.asarray(labels)
    k = int(current.max()) + 1 if len(current) else 0
    if k == 0:
        return list(labels)
    rel = relevance_of(matrix, current, k)
    out = [int(c) for c in current]
    for pos in positions:
        out[pos] = int(rel[pos].argmax())
    return out


def _refine(w: np.ndarray, labels: np.ndarray, k: int, fixed: dict[int, int]) -> np.ndarray:
    """Move free scenes to the cluster they are most related to, until nothing moves.

    After this, every free scene's storyline is its highest relevance (its primary).
    """
    for _ in range(REFINE_ROUNDS):
        rel = relevance_of(w, labels, k)
        new = rel.argmax(axis=1)
        for pos, cluster in fixed.items():
            new[pos] = cluster
        if (new == labels).all():
            break
        labels = new
    return labels


def silhouette(distance: np.ndarray, labels: np.ndarray) -> float:
    """Mean silhouette width of ``labels`` under a precomputed distance matrix (a scene alone in
    its cluster has width 0)."""
    import numpy as np

    labels = np.asarray(labels)
    clusters = np.unique(labels)
    if len(clusters) < 2:
        return 0.0
    member = (labels[:, None] == clusters[None, :]).astype(np.float64)
    own = member.astype(bool)
    # Sum of distances to every cluster, the scene itself left out of its own.
    sums = distance @ member - member * np.diag(distance)[:, None]
    counts = member.sum(axis=0)[None, :] - member
    mean = np.divide(sums, counts, out=np.full_like(sums, np.inf), where=counts > 0)
    alone = counts[own] == 0
    a = np.where(alone, 0.0, mean[own])
    b = np.where(own, np.inf, mean).min(axis=1)
    width = (b - a) / np.maximum(np.maximum(a, b), 1e-12)
    return float(np.where(alone, 0.0, width).mean())


def partition_width(matrix: np.ndarray, labels: list[int]) -> float:
    """Silhouette of the scenes in some storyline (label >= 0) under the distance 1 - affinity."""
    import numpy as np

    inside = np.flatnonzero(np.asarray(labels) >= 0)
    distance = 1.0 - matrix[np.ix_(inside, inside)]
    np.fill_diagonal(distance, 0.0)
    return silhouette(distance, np.asarray(labels)[inside])


def modularity(w: np.ndarray, labels: np.ndarray) -> float:
    """Newman's modularity of ``labels`` on the weighted graph ``w`` (zero diagonal)."""
    import numpy as np

    total = float(w.sum())
    if total <= 0:
        return 0.0
    member = (np.asarray(labels)[:, None] == np.unique(labels)[None, :]).astype(np.float64)
    inside = float((member * (w @ member)).sum()) / total
    shares = (w.sum(axis=1) @ member) / total
    return round(inside - float((shares**2).sum()), 12)  # one cluster: exactly 0


def _partition(
    w: np.ndarray, k: int, cons: Constraints, vectors: np.ndarray | None = None
) -> tuple[np.ndarray, dict[int, int], dict[int, int]]:
    """Labels for ``k`` clusters, editor scenes pinned: (labels, fixed positions, group pins).
    ``vectors``: the leading eigenvectors (at least ``k``) when already computed."""
    import numpy as np

    if k <= 1 or len(w) <= 1:
        labels = np.zeros(len(w), dtype=int)
    else:
        if vectors is None or vectors.shape[1] < k:
            _values, vectors = spectrum(w, k)
        embedding = vectors[:, :k]
        embedding = embedding / np.maximum(np.linalg.norm(embedding, axis=1, keepdims=True), 1e-9)
        labels = kmeans(embedding, k)
    pins = _pin_groups(labels, cons, max(k, 1))
    fixed = {pos: pins[g] for g, members in enumerate(cons.groups) for pos in members}
    for pos, c in fixed.items():
        labels[pos] = c
    labels = _refine(w, labels, max(k, 1), fixed)
    return _fill_empty(w, labels, max(k, 1), fixed), fixed, pins


def _fill_empty(w: np.ndarray, labels: np.ndarray, k: int, fixed: dict[int, int]) -> np.ndarray:
    """When k was asked for, each cluster gets a scene: the free one least tied to its own."""
    import numpy as np

    labels = labels.copy()
    for c in range(min(k, len(labels))):
        if (labels == c).any():
            continue
        sizes = np.bincount(labels, minlength=k)
        rel = relevance_of(w, labels, k)
        free = [i for i in range(len(labels)) if i not in fixed and sizes[labels[i]] > 1]
        if not free:
            break
        labels[min(free, key=lambda i: rel[i, labels[i]])] = c
    return labels


def _active(matrix: np.ndarray, cons: Constraints) -> tuple[list[int], Constraints, np.ndarray]:
    """The positions in some storyline, the editor groups among them and their affinity."""
    import numpy as np

    active = [i for i in range(len(matrix)) if i not in cons.excluded]
    at = {p: i for i, p in enumerate(active)}
    groups = [[at[p] for p in g if p in at] for g in cons.groups]
    sub_cons = Constraints(groups=[g for g in groups if g])
    return active, sub_cons, constrained_affinity(matrix[np.ix_(active, active)], sub_cons)


def cluster(matrix: np.ndarray, wanted: int | None, cons: Constraints) -> Clustering:
    """Labels, relevance and the criterion for ``wanted`` storylines (None: automatic)."""
    import numpy as np

    n = len(matrix)
    active, sub_cons, w = _active(matrix, cons)
    if not active:
        return Clustering([-1] * n, np.zeros((n, 0)), 0, {"method": "none", "k": 0}, {})
    if wanted is not None:
        k = max(1, min(int(wanted), len(active)), len(sub_cons.groups))
        criterion: dict[str, Any] = {"method": "given", "requested": int(wanted)}
        labels, fixed, pins = _partition(w, k, sub_cons)
    else:
        k, labels, fixed, pins, criterion = _automatic(w, sub_cons)
    return _finish(n, active, w, labels, k, fixed, criterion, pins, cons)


def cluster_from(
    matrix: np.ndarray,
    labels: list[int],
    cons: Constraints,
    criterion: dict[str, Any],
    keep_all: bool = False,
) -> Clustering:
    """A clustering from given labels (per position; -1: excluded), refined and finished the
    way ``cluster`` finishes its own: editor scenes pinned, every free scene in the storyline
    it is most related to (``keep_all``: a number that was asked for, so a storyline the
    refinement emptied gets a scene back)."""
    import numpy as np

    active, sub_cons, w = _active(matrix, cons)
    _used, sub = np.unique([labels[i] for i in active], return_inverse=True)
    k = int(sub.max()) + 1 if len(sub) else 0
    pins = _pin_groups(sub, sub_cons, k)
    fixed = {pos: pins[g] for g, members in enumerate(sub_cons.groups) for pos in members}
    sub = _refine(w, sub, k, fixed)
    if keep_all:
        sub = _fill_empty(w, sub, k, fixed)
    return _finish(len(matrix), active, w, sub, k, fixed, criterion, pins, cons)


def _automatic(
    w: np.ndarray, cons: Constraints
) -> tuple[int, np.ndarray, dict[int, int], dict[int, int], dict[str, Any]]:
    """The k of 2..8 whose partition has the best ``AUTO_CRITERION`` (modularity, or the
    silhouette under the distance 1 - affinity), among those whose every storyline has at least
    max(2, sqrt(n)/2) scenes.

    One storyline when even the best silhouette is below ``MIN_SILHOUETTE`` (nothing stands
    apart). The other criterion and the eigengaps are reported beside it for comparison.
    """
    import numpy as np

    n = len(w)
    low, high = max(2, len(cons.groups)), min(MAX_AUTO_STORYLINES, n - 1)
    values, vectors = spectrum(w, min(n, max(10, high + 1)))
    gaps = [round(float(values[k - 1] - values[k]), 4) for k in range(1, min(n, 10))]
    criterion: dict[str, Any] = {
        "method": AUTO_CRITERION,
        "eigengaps": gaps,
        "silhouettes": {},
        "modularities": {},
    }
    if n < 3 or high < low:
        k = max(1, len(cons.groups))
        labels, fixed, pins = _partition(w, k, cons)
        return k, labels, fixed, pins, {**criterion, "note": "too few scenes to compare"}
    distance = 1.0 - w
    np.fill_diagonal(distance, 0.0)
    smallest = max(2, round(math.sqrt(n) / 2))
    criterion["min_scenes_per_storyline"] = smallest
    best: tuple[float, int, Any, float] | None = None
    for k in range(low, high + 1):
        result = _partition(w, k, cons, vectors)
        width = silhouette(distance, result[0])
        quality = modularity(w, result[0])
        criterion["silhouettes"][str(k)] = round(width, 4)
        criterion["modularities"][str(k)] = round(quality, 4)
        score = quality if AUTO_CRITERION == "modularity" else width
        # A "storyline" of one or two stray shots is noise, not a thread: such a k is skipped.
        big_enough = int(np.bincount(result[0]).min()) >= smallest or bool(cons.groups)
        if big_enough and (best is None or score > best[0] + 1e-9):
            best = (score, k, result, width)
    if best is None:
        return (
            max(1, len(cons.groups)),
            *_partition(w, max(1, len(cons.groups)), cons),
            {**criterion, "note": f"no partition with {smallest}+ scenes per storyline"},
        )
    _score, k, (labels, fixed, pins), width = best
    if width < MIN_SILHOUETTE and not cons.groups:
        k = 1
        labels, fixed, pins = _partition(w, 1, cons)
        criterion["note"] = f"silhouette {width:.3f} < {MIN_SILHOUETTE}: one storyline"
    return k, labels, fixed, pins, criterion


def _finish(
    n: int,
    active: list[int],
    w: np.ndarray,
    labels: np.ndarray,
    k: int,
    fixed: dict[int, int],
    criterion: dict[str, Any],
    pins: dict[int, int],
    cons: Constraints,
) -> Clustering:
    """Drop empty clusters, renumber, and give editor-placed scenes a one-hot relevance row."""
    import numpy as np

    used = sorted({int(c) for c in labels} | set(pins.values()))
    remap = {c: i for i, c in enumerate(used)}
    labels = np.array([remap[int(c)] for c in labels])
    k2 = len(used)
    rel = relevance_of(w, labels, k2)
    for pos, c in fixed.items():
        rel[pos] = 0.0
        rel[pos, remap[c]] = 1.0
    full_labels = [-1] * n
    full_rel = np.zeros((n, k2))
    for sub, pos in enumerate(active):
        full_labels[pos] = int(labels[sub])
        full_rel[pos] = rel[sub]
    group_cluster = {g: remap[c] for g, c in pins.items()}
    # Map back from the compacted group numbering to the caller's groups.
    original = [g for g, members in enumerate(cons.groups) if any(p in active for p in members)]
    group_cluster = {original[g]: c for g, c in group_cluster.items()}
    return Clustering(full_labels, full_rel, k2, {**criterion, "k": k2}, group_cluster)
