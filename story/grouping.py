"""From scenes and their signals to storylines, edges and interest: no database access here.

``plan_grouping`` is what the storylines stage and an editor's "regroup" both call. Editors'
decisions come in as ``EditorGroup``s (scenes an editor placed, by storyline) and excluded
positions; they are hard constraints, and they also re-weight the graph's signals for this video:
a signal on which the editor's same-storyline pairs score higher than the different-storyline
pairs gains weight, one that says the opposite loses it.
Scenes too short and silent to say whose they are (``MINOR_SECONDS``) are left out of the
clustering and placed afterwards in the storyline they are most alike.
"""

from __future__ import annotations

import logging
import math
from collections import Counter
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from story import llm
from story.cluster import (
    Clustering,
    Constraints,
    cluster,
    cluster_from,
    partition_width,
    place,
)
from story.confidence import scene_confidences
from story.explain import WHY, causal_edges, edges_of
from story.external import ExternalSignals
from story.graph import Graph, SceneNode, build_graph, reweight
from story.interest import interest_scores
from story.merge import affinity_merges, voice_merges
from story.naming import (
    PALETTE,
    distinctive_words,
    is_named,
    key_phrases,
    legible,
    main_people,
    place_of,
    plain_when_alike,
    speech_label,
    spoken_people,
    storyline_description,
    storyline_name,
    unique_names,
)
from story.presets import PRESETS, apply_multipliers, guess_preset
from story.trust import signal_trust, trusted_weights

if TYPE_CHECKING:
    import numpy as np

logger = logging.getLogger(__name__)
LEARNING_RATE = 2.0
OVER_SPLIT = 2  # with the number of storylines given, first split into this many times more
# A scene shorter than this without speech (the tail of a shot, or one held for a few frames:
# the shots stage keeps such shots between two sure cuts) has only its look to go by, measured
# on at most four frames (features.COLOUR_SAMPLES_PER_SECOND): it is placed in the storylines
# the other scenes form instead of helping form them (grouped with the rest, such shots pair
# up into a "storyline" of their own). On the story videos 0.8-2.0 s place the same shots.
MINOR_SECONDS = 1.0


@dataclass
class EditorGroup:
    """Scenes an editor put in one storyline (positions in the node list) and its locks."""

    positions: list[int]
    # Where the storyline's scenes were when the editor named or coloured it: a storyline
    # without editor-placed scenes follows the new cluster that overlaps these most.
    anchor: list[int] = field(default_factory=list)
    storyline_id: int | None = None  # the storyline row of this analysis, if it has one
    name: str = ""
    description: str = ""
    color: str = ""
    lock: dict[str, bool] = field(default_factory=dict)


@dataclass
class GroupingInput:
    nodes: list[SceneNode]
    ext: ExternalSignals
    wanted: int | None = None
    preset: str = "auto"
    multipliers: dict[str, float] = field(default_factory=dict)
    groups: list[EditorGroup] = field(default_factory=list)
    excluded: set[int] = field(default_factory=set)
    loudness_db: dict[int, float | None] = field(default_factory=dict)
    use_llm: bool = True
    carried_from: str | None = None
    trust: bool = True  # weigh signals by how well they separate this video's scenes
    continuity: bool = True  # shots joined by speech over their cuts share missing signals
    merge: bool = True  # the automatic number merges groups one voice runs through


@dataclass
class PlannedStoryline:
    order: int
    name: str
    description: str
    color: str
    positions: list[int]  # scenes whose primary storyline this is, in time order
    editor_positions: list[int]
    relevance: list[float]  # per node position
    storyline_id: int | None = None
    lock: dict[str, bool] = field(default_factory=dict)


@dataclass
class GroupingResult:
    storylines: list[PlannedStoryline]
    edges: list[dict[str, Any]]
    interest: list[dict[str, Any]]
    metadata: dict[str, Any]
    # Per node position: confidence, reasons, the runner-up storyline's order (None: no storyline)
    scenes: list[dict[str, Any] | None] = field(default_factory=list)


def learn_multipliers(graph: Graph, cons: Constraints) -> dict[str, float]:
    """Per signal exp(2 * (mean over must-link pairs - mean over cannot-link pairs))."""
    import numpy as np

    must, cannot = cons.must_link(), cons.cannot_link()
    if not must or not cannot:
        return {}
    result = {}
    for name, matrix in graph.components.items():
        same = [matrix[a, b] for a, b in must if not np.isnan(matrix[a, b])]
        diff = [matrix[a, b] for a, b in cannot if not np.isnan(matrix[a, b])]
        if same and diff:
            gain = math.exp(LEARNING_RATE * (float(np.mean(same)) - float(np.mean(diff))))
            result[name] = round(min(4.0, max(0.25, gain)), 4)
    return result


def _causal(inp: GroupingInput) -> list[llm.CausalLink]:
    if not (inp.use_llm and llm.enabled()):
        return []
    try:
        return llm.causal_links([n.features.get("text") or "" for n in inp.nodes])
    except llm.LLMError as exc:
        logger.warning("language model: no causal links (%s)", exc)
        return []


def _weights(inp: GroupingInput) -> tuple[str, str, dict[str, float]]:
    if inp.preset != "auto":
        name, reason = inp.preset, "chosen by the user"
    else:
        ocr = [inp.ext.vision.get(n.pk, {}).get("ocr") or "" for n in inp.nodes]
        name, reason = guess_preset([n.features for n in inp.nodes], ocr)
    return name, reason, apply_multipliers(PRESETS[name], inp.multipliers)


def plan_grouping(inp: GroupingInput) -> GroupingResult:
    """Storylines (with relevance), graph edges, interest and the facts behind them."""
    from threadpoolctl import threadpool_limits

    # The matrices are at most a few thousand scenes wide: one BLAS thread does them quickly,
    # while several spin and wait on a machine whose cores the other stages keep busy (about a
    # tenth of the CPU time, measured in bench/RESULTS.md).
    with threadpool_limits(limits=1, user_api="blas"):
        return _grouping(inp)


def _grouping(inp: GroupingInput) -> GroupingResult:
    preset, reason, weights = _weights(inp)
    links = _causal(inp)
    pairs = [(link.cause, link.effect) for link in links]
    cons = Constraints(groups=[g.positions for g in inp.groups], excluded=set(inp.excluded))
    minor = minor_scenes(inp)
    core = Constraints(groups=cons.groups, excluded=cons.excluded | minor)
    graph = build_graph(inp.nodes, inp.ext, weights, pairs, inp.continuity)
    trust = signal_trust(graph.components, inp.wanted) if inp.trust else {}
    if trust:  # each signal counts as much as it separates the scenes of this video
        graph = reweight(graph, trusted_weights(graph.weights, trust))
    learned = learn_multipliers(graph, cons)
    if learned:
        graph = reweight(graph, apply_multipliers(graph.weights, learned))
    if inp.wanted is not None and inp.merge:
        clustering = _split_and_merge(graph, inp.wanted, core)
    else:
        clustering = cluster(graph.matrix, inp.wanted, core)
    if inp.wanted is None and inp.merge:
        clustering = _merge_voices(graph, clustering, core)
    if minor:
        clustering = _place_minor(graph, clustering, minor, cons, inp.wanted is not None)
    storylines = _storylines(inp, clustering)
    _name(inp, storylines)
    scenes = _confidences(inp, graph, clustering, storylines)
    faces = {pk: len(c) for pk, c in inp.ext.characters.items()} if inp.ext.characters else None
    metadata = {
        "preset": preset,
        "preset_reason": reason,
        "requested": inp.wanted,
        "num_storylines": len([s for s in storylines if s.positions]),
        "criterion": clustering.criterion,
        "weights": graph.weights,
        "trust": {name: t.as_json() for name, t in trust.items()},
        "learned_multipliers": learned,
        "user_multipliers": inp.multipliers,
        "signals": sorted(graph.components),
        "external": inp.ext.available(),
        "constraints": {
            "groups": len(inp.groups),
            "excluded": len(inp.excluded),
            "carried_from": inp.carried_from,
        },
        "llm": {"enabled": inp.use_llm and llm.enabled(), "causal_links": len(links)},
        "review": sum(1 for s in scenes if s and s["needs_review"]),
    }
    return GroupingResult(
        storylines=storylines,
        edges=edges_of(graph) + causal_edges(links),
        interest=interest_scores(inp.nodes, graph.matrix, inp.loudness_db, faces),
        metadata=metadata,
        scenes=scenes,
    )


def minor_scenes(inp: GroupingInput) -> set[int]:
    """Positions of the scenes too short and silent to help form storylines (``MINOR_SECONDS``);
    none when too few others would be left to group. Editors' scenes are never minor."""
    decided = {p for g in inp.groups for p in g.positions} | set(inp.excluded)
    minor = {
        i
        for i, n in enumerate(inp.nodes)
        if i not in decided
        and n.end_time - n.start_time < MINOR_SECONDS
        and not _speaks(n, inp.ext)
    }
    left = len(inp.nodes) - len(inp.excluded) - len(minor)
    return minor if left >= max(2, inp.wanted or 0) else set()


def _speaks(node: SceneNode, ext: ExternalSignals) -> bool:
    return bool((node.features.get("text") or "").strip()) or node.pk in ext.voiceprints


def _place_minor(
    graph: Graph, clustering: Clustering, minor: set[int], cons: Constraints, given: bool
) -> Clustering:
    """The clustering with the minor scenes put in the storylines they are most alike."""
    labels = place(graph.matrix, clustering.labels, minor)
    criterion = {**clustering.criterion, "minor": len(minor)}
    return cluster_from(graph.matrix, labels, cons, criterion, keep_all=given)


def _merge_voices(graph: Graph, clustering: Clustering, cons: Constraints) -> Clustering:
    """The clustering with groups one voice runs through joined (``story.merge``)."""
    pinned = set(clustering.group_cluster.values())
    units = graph.why["units"]
    labels, merges = voice_merges(_weighed(graph), clustering.labels, pinned, 2, units)
    if not merges:
        return clustering
    criterion = {**clustering.criterion, "merged": [m.as_json() for m in merges]}
    return cluster_from(graph.matrix, labels, cons, criterion)


def _weighed(graph: Graph) -> dict[str, np.ndarray]:
    """The components the graph uses: a signal left out (an ablation, a preset) merges nothing."""
    return {name: m for name, m in graph.components.items() if graph.weights.get(name, 0) > 0}


def _split_and_merge(graph: Graph, wanted: int, cons: Constraints) -> Clustering:
    """``wanted`` storylines from twice as many groups: those one voice runs through merged
    first, then the most alike (``story.merge``)."""
    given = cluster(graph.matrix, wanted, cons)
    split = cluster(graph.matrix, min(OVER_SPLIT * given.k, len(graph.nodes)), cons)
    if split.k <= given.k:
        return given
    pinned = set(split.group_cluster.values())
    # A voice heard in three groups or more merges none of them here, utterances or not: the
    # over-split's small groups can mix two storylines, and their joins then tie both.
    labels, merges = voice_merges(_weighed(graph), split.labels, pinned, given.k)
    labels = affinity_merges(graph.matrix, labels, pinned, given.k)
    criterion = {**given.criterion, "split": split.k, "merged": [m.as_json() for m in merges]}
    joined = cluster_from(graph.matrix, labels, cons, criterion, keep_all=True)
    if len(set(labels) - {-1}) + len(merges) == split.k:  # one voice joined every group
        return joined
    # Groups joined by affinity rest on the graph the plain partition comes from: the joined
    # partition is kept only when its storylines stand apart at least as well. (A storyline
    # with several speakers is cut by voice into groups that may join the wrong storyline.)
    widths = {
        "plain": round(partition_width(graph.matrix, given.labels), 4),
        "joined": round(partition_width(graph.matrix, joined.labels), 4),
    }
    if widths["joined"] < widths["plain"]:
        return replace(given, criterion={**criterion, "widths": widths, "kept": "plain"})
    joined.criterion = {**joined.criterion, "widths": widths, "kept": "joined"}
    return joined


def _confidences(
    inp: GroupingInput,
    graph: Graph,
    clustering: Clustering,
    plans: list[PlannedStoryline],
) -> list[dict[str, Any] | None]:
    """Per position: confidence, reasons and the runner-up as a storyline order."""
    order = {clustering.labels[p.positions[0]]: p.order for p in plans if p.positions}
    editor = {pos for g in inp.groups for pos in g.positions}
    found = scene_confidences(graph, clustering.labels, clustering.relevance, editor, WHY)
    return [
        None
        if c is None
        else {
            "confidence": c.confidence,
            "reasons": c.reasons,
            "against": c.against,
            "runner_up": order.get(c.runner_up) if c.runner_up is not None else None,
            "needs_review": c.needs_review,
        }
        for c in found
    ]


def _storylines(inp: GroupingInput, clustering: Clustering) -> list[PlannedStoryline]:
    """One plan per cluster (editor groups keep their storyline), plus empty editor groups."""
    by_cluster = {c: g for g, c in clustering.group_cluster.items()}
    anchored = _follow_anchors(inp.groups, clustering, set(by_cluster))
    by_cluster.update({c: g for g, c in anchored.items()})
    placed = set(clustering.group_cluster) | set(anchored)
    plans = []
    for c in range(clustering.k):
        members = [i for i, label in enumerate(clustering.labels) if label == c]
        group = inp.groups[by_cluster[c]] if c in by_cluster else None
        plans.append(_plan(c, members, clustering.relevance[:, c], group))
    for g, group in enumerate(inp.groups):
        if g not in placed:  # no scenes of its own (made empty by an editor): kept
            plans.append(_plan(None, [], None, group, len(inp.nodes)))
    plans.sort(key=lambda p: (not p.positions, p.positions[0] if p.positions else 0))
    used = {p.color for p in plans if p.lock.get("color")}
    free = [c for c in PALETTE if c not in used] or PALETTE
    for order, plan in enumerate(plans):
        plan.order = order
        if not plan.lock.get("color"):
            plan.color = free[order % len(free)]
    return plans


def _follow_anchors(
    groups: list[EditorGroup], clustering: Clustering, taken: set[int]
) -> dict[int, int]:
    """Groups without pinned scenes -> the free cluster overlapping their anchor most."""
    result: dict[int, int] = {}
    for g, group in enumerate(groups):
        if g in clustering.group_cluster or not group.anchor:
            continue
        overlap = {
            c: sum(1 for p in group.anchor if clustering.labels[p] == c)
            for c in range(clustering.k)
            if c not in taken
        }
        best = max(overlap, key=lambda c: overlap[c], default=None)
        if best is not None and overlap[best] > 0:
            result[g] = best
            taken.add(best)
    return result


def _plan(
    cluster_id: int | None,
    members: list[int],
    relevance: np.ndarray | None,
    group: EditorGroup | None,
    n: int = 0,
) -> PlannedStoryline:
    column = [round(float(r), 4) for r in relevance] if relevance is not None else [0.0] * n
    return PlannedStoryline(
        order=cluster_id or 0,
        name=group.name if group else "",
        description=group.description if group else "",
        color=group.color if group else "",
        positions=members,
        editor_positions=list(group.positions) if group else [],
        relevance=column,
        storyline_id=group.storyline_id if group else None,
        lock=dict(group.lock) if group else {},
    )


def _name(inp: GroupingInput, plans: list[PlannedStoryline]) -> None:
    """Content names and descriptions, the language model's when it answers; locks win."""
    groups = [[inp.nodes[i] for i in p.positions] for p in plans]
    readable = [legible(g) for g in groups]  # garbled speech names nothing
    words = distinctive_words(readable)
    phrases, spoken = key_phrases(readable), spoken_people(readable)
    tags = {pk: v.get("tags") or [] for pk, v in inp.ext.vision.items()}
    names, labels = [], []
    for i, (plan, group, top) in enumerate(zip(plans, groups, words, strict=True)):
        people = _people(inp, group, spoken[i])
        language = _language(group)
        place = place_of(group, tags, language)
        labels.append(speech_label(group, language))
        names.append(storyline_name(plan.order, people, top[:2], phrases[i], place, labels[-1]))
        if not plan.lock.get("description"):
            plan.description = storyline_description(group, people, top)
    names = unique_names(plain_when_alike(names, labels, [p.order for p in plans]))
    suggestions = _llm_names(inp, groups, words)
    for plan, name in zip(plans, names, strict=True):
        suggestion = suggestions.get(plan.order)
        if not plan.lock.get("name"):
            plan.name = suggestion["name"] if suggestion else name
        if suggestion and suggestion["summary"] and not plan.lock.get("description"):
            plan.description = f"{suggestion['summary']} ({plan.description})"


def _people(inp: GroupingInput, group: list[SceneNode], spoken: list[str]) -> list[str]:
    """Who the storyline is about: characters and speakers editors named come first, then the
    names said in it; default labels ("Character 2") say nothing and are left out."""
    seen = main_people(group, inp.ext.characters, inp.ext.character_names)
    voices = Counter(s for n in group for s in inp.ext.speakers.get(n.pk, []))
    named = [p for p in seen if is_named(p)] + [s for s, _ in voices.most_common() if is_named(s)]
    out: list[str] = []
    for person in [*named, *spoken]:
        if person not in out:
            out.append(person)
    return out[:2]


def _language(group: list[SceneNode]) -> str | None:
    languages = Counter(n.features.get("language") for n in group if n.features.get("language"))
    return languages.most_common(1)[0][0] if languages else None


def _llm_names(
    inp: GroupingInput, groups: list[list[SceneNode]], words: list[list[str]]
) -> dict[int, dict[str, str]]:
    if not (inp.use_llm and llm.enabled()):
        return {}
    items = [
        {"id": i, "texts": [n.features.get("text") or "" for n in g], "words": w}
        for i, (g, w) in enumerate(zip(groups, words, strict=True))
        if g
    ]
    try:
        return llm.name_storylines(items) if items else {}
    except llm.LLMError as exc:
        logger.warning("language model: storylines keep their plain names (%s)", exc)
        return {}
