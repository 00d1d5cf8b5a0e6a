"""How far each signal can be trusted on this video, measured on the video itself.

A signal earns trust when it splits the scenes into tight, distinct groups by itself: its own
spectral partition (2..6 groups) has a high silhouette under its own distances. Trust is lowered
when the signal mostly repeats time order (its similarities correlate with closeness in time:
neighbouring shots look and sound alike whatever the story) and when it is measured on few
scenes. A signal that is flat on this video (one language throughout, one voice for every
storyline) thus counts for nothing instead of diluting the others. Estimated on at most
``SAMPLE`` scenes spread over the film, so a long film costs no more than a short one.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np

SAMPLE = 240
MAX_GROUPS = 6
MIN_SCENES = 4
UNTRUSTED = ("time", "causal")  # time is weak by design; cause-and-effect comes from the LLM


@dataclass
class Trust:
    """One signal's trust (0..1) and the facts behind it."""

    trust: float
    separation: float  # best silhouette of the signal's own partition
    groups: int  # how many groups that partition had
    time_correlation: float
    coverage: float  # share of scenes the signal was measured on

    def as_json(self) -> dict[str, float]:
        return {k: round(float(v), 4) for k, v in self.__dict__.items()}


def signal_trust(
    components: dict[str, np.ndarray], max_groups: int | None = None
) -> dict[str, Trust]:
    """Trust of every component but time (and causal links), by name."""
    time = components.get("time")
    return {
        name: _trust(matrix, time, max_groups or MAX_GROUPS)
        for name, matrix in components.items()
        if name not in UNTRUSTED
    }


def _present(matrix: np.ndarray) -> np.ndarray:
    import numpy as np

    known = ~np.isnan(matrix)
    np.fill_diagonal(known, False)
    return np.flatnonzero(known.any(axis=1))


def _trust(matrix: np.ndarray, time: np.ndarray | None, max_groups: int) -> Trust:
    import numpy as np

    n = len(matrix)
    idx = _present(matrix)
    coverage = len(idx) / max(n, 1)
    if len(idx) < MIN_SCENES:
        return Trust(0.0, 0.0, 0, 0.0, coverage)
    if len(idx) > SAMPLE:  # evenly spread over the film: deterministic
        idx = idx[np.linspace(0, len(idx) - 1, SAMPLE).round().astype(int)]
    sim = np.nan_to_num(matrix[np.ix_(idx, idx)], nan=0.0)
    np.fill_diagonal(sim, 1.0)
    separation, groups = _separation(sim, max_groups)
    corr = _time_correlation(sim, time[np.ix_(idx, idx)]) if time is not None else 0.0
    trust = separation * (1.0 - max(0.0, corr)) * min(1.0, 2.0 * coverage)
    return Trust(max(0.0, trust), separation, groups, corr, coverage)


def _separation(sim: np.ndarray, max_groups: int) -> tuple[float, int]:
    """Best silhouette over 2..max_groups of the signal's own spectral partition."""
    import numpy as np

    from story.cluster import kmeans, silhouette, spectrum

    m = len(sim)
    affinity = sim.copy()
    np.fill_diagonal(affinity, 0.0)
    distance = 1.0 - sim
    np.fill_diagonal(distance, 0.0)
    _values, vectors = spectrum(np.maximum(affinity, 0.0))
    best, best_k = 0.0, 0
    for k in range(2, min(max_groups, m - 1) + 1):
        embedding = vectors[:, :k]
        norms = np.maximum(np.linalg.norm(embedding, axis=1, keepdims=True), 1e-9)
        labels = kmeans(embedding / norms, k)
        score = silhouette(distance, labels)
        if score > best + 1e-9:
            best, best_k = score, k
    return best, best_k


def _time_correlation(sim: np.ndarray, time: np.ndarray) -> float:
    """Pearson correlation of the signal's and time's similarities over scene pairs."""
    import numpy as np

    upper = np.triu_indices(len(sim), 1)
    a, b = sim[upper], time[upper]
    if a.std() < 1e-9 or b.std() < 1e-9:
        return 0.0
    return float(np.corrcoef(a, b)[0, 1])


def trusted_weights(
    weights: dict[str, float], trust: dict[str, Trust], power: float = 2.0
) -> dict[str, float]:
    """Each weight scaled by (trust / best trust) ** power; untrusted kinds keep theirs."""
    best = max((t.trust for name, t in trust.items() if weights.get(name, 0) > 0), default=0.0)
    if best <= 0:
        return dict(weights)
    out = {}
    for name, w in weights.items():
        if name in trust:
            w = w * (trust[name].trust / best) ** power
        out[name] = round(w, 4)
    return out
