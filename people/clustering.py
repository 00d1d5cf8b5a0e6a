"""Grouping embeddings into people, scoring the groups, and recognising editor-named people.

Used for faces (128-d dlib vectors, Euclidean distance) and voices (256-d Resemblyzer vectors,
cosine distance) alike. Average-linkage agglomerative clustering with a distance cut: unlike
k-means it needs no number of people, and unlike single linkage one odd face cannot chain two
people together.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np

METRICS = ("euclidean", "cosine")


def distances(vectors: np.ndarray, point: np.ndarray, metric: str) -> np.ndarray:
    """Distance of every row of ``vectors`` to ``point``."""
    import numpy as np

    if metric == "cosine":
        norms = np.linalg.norm(vectors, axis=1) * max(float(np.linalg.norm(point)), 1e-12)
        return 1.0 - (vectors @ point) / np.maximum(norms, 1e-12)
    return np.linalg.norm(vectors - point, axis=1)


def centroid(vectors: np.ndarray, metric: str) -> np.ndarray:
    """The mean vector; unit length for cosine, where only the direction matters."""
    import numpy as np

    mean = vectors.mean(axis=0)
    if metric == "cosine":
        mean = mean / max(float(np.linalg.norm(mean)), 1e-12)
    return mean


def cluster(
    vectors: np.ndarray, threshold: float, metric: str, n_clusters: int | None = None
) -> list[int]:
    """Cluster labels 0..k-1, numbered in order of first occurrence.

    Args:
        vectors: one row per face or voice segment.
        threshold: average distance above which two groups stay apart.
        metric: ``euclidean`` or ``cosine``.
        n_clusters: a fixed number of groups instead of the threshold.
    """
    import numpy as np
    from scipy.cluster.hierarchy import fcluster, linkage

    if metric not in METRICS:
        raise ValueError(f"unknown metric {metric}")
    count = len(vectors)
    if count == 0:
        return []
    if count == 1:
        return [0]
    tree = linkage(np.asarray(vectors, dtype=np.float64), method="average", metric=metric)
    if n_clusters is not None:
        raw = fcluster(tree, t=min(n_clusters, count), criterion="maxclust")
    else:
        raw = fcluster(tree, t=threshold, criterion="distance")
    renumber: dict[int, int] = {}
    return [renumber.setdefault(int(label), len(renumber)) for label in raw]


def confidence(vectors: np.ndarray, threshold: float, metric: str) -> float:
    """How sure we are that a group is one real person, in [0, 1].

    Each member counts by how clearly it lies within ``threshold`` of the group's centre
    (a logistic step at the threshold); the mean is scaled by ``1 - 0.5 ** n`` so that a
    person seen once (possibly a false detection) never scores above one half.
    """
    import numpy as np

    if len(vectors) == 0:
        return 0.0
    spread = distances(vectors, centroid(vectors, metric), metric)
    steepness = max(threshold * 0.1, 1e-6)
    exponent = np.clip((spread - threshold) / steepness, -50, 50)
    membership = float(np.mean(1.0 / (1.0 + np.exp(exponent))))
    return round(min(1.0, max(0.0, membership * (1.0 - 0.5 ** len(vectors)))), 4)


@dataclass(frozen=True)
class Known:
    """A person an editor named earlier, with the centres it was recognised by."""

    name: str
    prototypes: list[list[float]]


def match_known(
    centres: Sequence[np.ndarray], known: Sequence[Known], threshold: float, metric: str
) -> list[int | None]:
    """For each new centre, the index of the closest named person within ``threshold``."""
    import numpy as np

    result: list[int | None] = []
    for centre in centres:
        best, best_distance = None, math.inf
        for index, person in enumerate(known):
            if not person.prototypes:
                continue
            protos = np.asarray(person.prototypes, dtype=np.float64)
            if protos.shape[1] != len(centre):
                continue  # made by another model
            nearest = float(distances(protos, np.asarray(centre, dtype=np.float64), metric).min())
            if nearest < best_distance:
                best, best_distance = index, nearest
        result.append(best if best_distance < threshold else None)
    return result


def group_by_known(assigned: Sequence[int | None]) -> list[list[int]]:
    """Clusters matched to the same named person become one group; others stay alone."""
    groups: list[list[int]] = []
    by_known: dict[int, list[int]] = {}
    for cluster_index, known_index in enumerate(assigned):
        if known_index is None:
            groups.append([cluster_index])
        elif known_index in by_known:
            by_known[known_index].append(cluster_index)
        else:
            by_known[known_index] = [cluster_index]
            groups.append(by_known[known_index])
    return groups
