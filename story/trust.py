"""How far each signal can be trusted on this video, measured on the video itself.

A signal earns trust when it splits the scenes into tight, distinct groups by itself (its own
spectral partition, 2..6 groups, has a high silhouette under its own distances) and when those
groups agree with the groups of signals of other kinds (adjusted Rand index: voices, words,
people and place measure different things, so where they agree, they see the storylines).
Trust is lowered when the signal mostly repeats time order (its similarities correlate with
closeness in time: neighbouring shots look and sound alike whatever the story) and when it is
measured on few scenes. A signal that is flat on this video (one language throughout, one
voice for every storyline) thus counts for nothing instead of diluting the others. Estimated
on at most ``SAMPLE`` scenes spread over the film, so a long film costs no more than a short
one.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np

# Signals that measure the same thing: agreement only counts between families (the voice print
# agreeing with the speaker labels says nothing about storylines).
FAMILY = {
    "characters": "people",
    "speakers": "voice",
    "voiceprint": "voice",
    "voice": "voice",
    "transcript": "words",
    "keywords": "words",
    "dialogue": "words",
    "language": "words",
    "ocr": "words",
    "visual": "place",
    "colour": "place",
    "objects": "place",
    "motion": "pace",
}
MODE = "both"  # trust from "separation", "consensus" (agreement) or "both" multiplied
# Weights are scaled by (trust / best trust) ** POWER: a mild 0.5, because on our eight story
# videos a steeper scaling (2) lowered the mean ARI (bench/RESULTS.md, section story).
POWER = 0.5
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
    agreement: float = 0.0  # with the other families' partitions (adjusted Rand index)

    def as_json(self) -> dict[str, float]:
        return {k: round(float(v), 4) for k, v in self.__dict__.items()}


def signal_trust(
    components: dict[str, np.ndarray], max_groups: int | None = None
) -> dict[str, Trust]:
    """Trust of every component but time (and causal links), by name."""
    import numpy as np

    time = components.get("time")
    n = len(next(iter(components.values()))) if components else 0
    idx = np.arange(n)
    if n > SAMPLE:  # evenly spread over the film: deterministic
        idx = np.linspace(0, n - 1, SAMPLE).round().astype(int)
    sub = {k: m[np.ix_(idx, idx)] for k, m in components.items()}
    time = sub.get("time")
    found = {
        name: _trust(matrix, time, max_groups or MAX_GROUPS)
        for name, matrix in sub.items()
        if name not in UNTRUSTED
    }
    result = {name: t for name, (t, _labels) in found.items()}
    labels = {name: lab for name, (_t, lab) in found.items()}
    own = {name: t.trust for name, t in result.items()}  # before agreement: the voters' weight
    for name, t in result.items():
        t.agreement = _agreement(name, result, labels, own)
        if MODE == "consensus":
            t.trust = (
                t.agreement * min(1.0, 2.0 * t.coverage) * (1.0 - max(0.0, t.time_correlation))
            )
        elif MODE == "both":
            t.trust *= max(0.0, t.agreement)
    return result


def _agreement(
    name: str, trust: dict[str, Trust], labels: dict[str, np.ndarray], own: dict[str, float]
) -> float:
    """Mean adjusted Rand index of this signal's partition with other families', weighted by
    their own trust; 1 when no other family is there to compare with."""
    total, weight = 0.0, 0.0
    for other in trust:
        if FAMILY.get(other, other) == FAMILY.get(name, name) or own[other] <= 0:
            continue
        both = (labels[name] >= 0) & (labels[other] >= 0)
        if both.sum() < MIN_SCENES or trust[name].groups == 0:
            continue
        q = own[other]
        total += q * adjusted_rand(labels[name][both], labels[other][both])
        weight += q
    return total / weight if weight > 0 else 1.0


def adjusted_rand(a: np.ndarray, b: np.ndarray) -> float:
    """Adjusted Rand index of two labelings of the same items."""
    import numpy as np

    _, ia = np.unique(a, return_inverse=True)
    _, ib = np.unique(b, return_inverse=True)
    table = np.zeros((ia.max() + 1, ib.max() + 1))
    np.add.at(table, (ia, ib), 1)

    def pairs(x: np.ndarray) -> float:
        return float((x * (x - 1) / 2).sum())

    index, rows, cols = pairs(table), pairs(table.sum(1)), pairs(table.sum(0))
    total = len(a) * (len(a) - 1) / 2
    expected = rows * cols / total if total else 0.0
    top = (rows + cols) / 2 - expected
    return (index - expected) / top if top > 1e-12 else 0.0


def _present(matrix: np.ndarray) -> np.ndarray:
    import numpy as np

    known = ~np.isnan(matrix)
    np.fill_diagonal(known, False)
    return np.flatnonzero(known.any(axis=1))


def _trust(
    matrix: np.ndarray, time: np.ndarray | None, max_groups: int
) -> tuple[Trust, np.ndarray]:
    """The signal's trust before agreement, and its own partition (-1 where not measured)."""
    import numpy as np

    n = len(matrix)
    idx = _present(matrix)
    coverage = len(idx) / max(n, 1)
    labels = np.full(n, -1)
    if len(idx) < MIN_SCENES:
        return Trust(0.0, 0.0, 0, 0.0, coverage), labels
    sim = np.nan_to_num(matrix[np.ix_(idx, idx)], nan=0.0)
    np.fill_diagonal(sim, 1.0)
    separation, groups, own = _separation(sim, max_groups)
    labels[idx] = own
    corr = _time_correlation(sim, time[np.ix_(idx, idx)]) if time is not None else 0.0
    trust = separation * (1.0 - max(0.0, corr)) * min(1.0, 2.0 * coverage)
    return Trust(max(0.0, trust), separation, groups, corr, coverage), labels


def _separation(sim: np.ndarray, max_groups: int) -> tuple[float, int, np.ndarray]:
    """Best silhouette over 2..max_groups of the signal's own spectral partition, its number
    of groups and its labels."""
    import numpy as np

    from story.cluster import kmeans, silhouette, spectrum

    m = len(sim)
    affinity = sim.copy()
    np.fill_diagonal(affinity, 0.0)
    distance = 1.0 - sim
    np.fill_diagonal(distance, 0.0)
    _values, vectors = spectrum(np.maximum(affinity, 0.0), max_groups)
    best, best_k, best_labels = 0.0, 0, np.zeros(m, dtype=int)
    for k in range(2, min(max_groups, m - 1) + 1):
        embedding = vectors[:, :k]
        norms = np.maximum(np.linalg.norm(embedding, axis=1, keepdims=True), 1e-9)
        labels = kmeans(embedding / norms, k)
        score = silhouette(distance, labels)
        if score > best + 1e-9:
            best, best_k, best_labels = score, k, labels
    return best, best_k, best_labels


def _time_correlation(sim: np.ndarray, time: np.ndarray) -> float:
    """Pearson correlation of the signal's and time's similarities over scene pairs."""
    import numpy as np

    upper = np.triu_indices(len(sim), 1)
    a, b = sim[upper], time[upper]
    if a.std() < 1e-9 or b.std() < 1e-9:
        return 0.0
    return float(np.corrcoef(a, b)[0, 1])


def trusted_weights(
    weights: dict[str, float], trust: dict[str, Trust], power: float = POWER
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
