"""The clustering's linear algebra: the fast paths give what the definitions say."""

from __future__ import annotations

import numpy as np
from scipy.linalg import eigh

from story.cluster import DENSE_EIGEN_LIMIT, modularity, silhouette, spectrum
from story.explain import edge_pairs
from story.graph import Graph, SceneNode


def _blocks(n: int, k: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """A noisy affinity of ``k`` interleaved groups of scenes, and the groups."""
    rng = np.random.default_rng(seed)
    labels = np.arange(n) % k
    same = labels[:, None] == labels[None, :]
    w = np.clip(np.where(same, 0.7, 0.2) + rng.normal(0, 0.1, (n, n)), 0, 1)
    w = (w + w.T) / 2
    np.fill_diagonal(w, 0.0)
    return w, labels


def _silhouette_by_definition(distance: np.ndarray, labels: np.ndarray) -> float:
    widths = []
    for i in range(len(labels)):
        same = labels == labels[i]
        same[i] = False
        if not same.any():
            widths.append(0.0)
            continue
        a = distance[i, same].mean()
        b = min(distance[i, labels == c].mean() for c in set(labels) if c != labels[i])
        widths.append((b - a) / max(a, b))
    return float(np.mean(widths))


def test_silhouette_is_the_mean_width_a_lone_scene_counting_zero() -> None:
    w, labels = _blocks(30, 3)
    distance = 1.0 - w
    np.fill_diagonal(distance, 0.0)
    shuffled = np.random.default_rng(1).permutation(labels)
    shuffled[0] = 7  # a cluster of one scene
    for candidate in (labels, shuffled):
        assert np.isclose(
            silhouette(distance, candidate), _silhouette_by_definition(distance, candidate)
        )
    assert silhouette(distance, labels) > 0.3 > silhouette(distance, shuffled)
    assert silhouette(distance, np.zeros(30, dtype=int)) == 0.0


def test_modularity_counts_the_weight_inside_groups_beyond_chance() -> None:
    w, labels = _blocks(24, 3)
    total, degree = w.sum(), w.sum(axis=1)
    expected = sum(
        w[np.ix_(labels == c, labels == c)].sum() / total - (degree[labels == c].sum() / total) ** 2
        for c in range(3)
    )
    assert np.isclose(modularity(w, labels), expected)


def test_a_long_film_gets_the_same_leading_eigenvectors_by_iteration() -> None:
    n = DENSE_EIGEN_LIMIT + 100
    w, _labels = _blocks(n, 4)
    values, vectors = spectrum(w, 5)
    degree = w.sum(axis=1)
    normalised = w / np.sqrt(np.outer(degree, degree))
    dense_values, dense_vectors = eigh(normalised)
    assert np.allclose(values, dense_values[::-1][:5], atol=1e-6)
    for j in range(4):  # the same directions (up to sign)
        assert abs(vectors[:, j] @ dense_vectors[:, -1 - j]) > 0.999


def test_edges_join_neighbours_in_time_and_each_scenes_strongest_ties() -> None:
    w, labels = _blocks(20, 2)
    nodes = [SceneNode(i + 1, i, float(i), i + 1.0) for i in range(20)]
    pairs = edge_pairs(Graph(nodes, {}, {}, w))
    assert all((i, i + 1) in pairs for i in range(19))
    strongest = {(min(i, int(j)), max(i, int(j))) for i in range(20) for j in [w[i].argmax()]}
    assert strongest <= set(pairs)
    across = [p for p in pairs if labels[p[0]] != labels[p[1]] and p[1] != p[0] + 1]
    assert not across  # strong ties stay inside the groups
