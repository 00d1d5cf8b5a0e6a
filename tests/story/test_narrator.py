"""One narrator for two storylines: a voice heard in three groups or more joins only the groups
its utterances run across.

A storyline filmed in two looks comes out of the clustering as two groups, and its voice joins
them (``story.merge``). When one reader tells two storylines, or two synthetic voices are too
alike to tell apart, the voice runs through the groups of both, and says nothing about which
go together: what does is one utterance going on over a cut from one look into the other.
"""

from __future__ import annotations

import numpy as np
import pytest

from story import grouping
from story.external import ExternalSignals
from story.graph import SceneNode
from story.grouping import GroupingInput, plan_grouping
from story.merge import utterance_joins, voice_merges

# Scenes of three interleaved storylines; each is two shots, one in each look of its storyline,
# its speech running on over the cut between them. A and B are read by one narrator.
STORY = "ABCBACABCBACABCB"
LOOKS = {"A": (0, 1), "B": (2, 3), "C": (4, 5)}  # six looks, each as far from the others
VOICES = {"A": [1.0, 0, 0, 0], "B": [1.0, 0, 0, 0], "C": [0, 0, 1.0, 0]}


def _unit(vector: np.ndarray) -> list[float]:
    return (vector / np.linalg.norm(vector)).tolist()


def _film(joined: bool = True) -> tuple[GroupingInput, list[str]]:
    """The input (automatic number of storylines) and the storyline of every shot; ``joined``:
    the speech runs on over the cut inside each scene."""
    nodes, prints, truth = [], {}, []
    for i, story in enumerate(STORY):
        for shot, look in enumerate(LOOKS[story][:: 1 if i % 2 else -1]):
            rng = np.random.default_rng(len(nodes))
            voice = np.array(VOICES[story]) + rng.normal(0, 0.2, 4)
            features = {
                "colour": (100.0 * np.eye(6)[look] + rng.normal(0, 2, 6)).tolist(),
                "voice": [10 * v for v in _unit(voice)],
                "continues": joined and shot == 1,
            }
            start = 2.0 * len(nodes)
            nodes.append(SceneNode(len(nodes) + 1, len(nodes), start, start + 2.0, features))
            prints[len(nodes)] = _unit(voice)
            truth.append(story)
    ext = ExternalSignals(voiceprints=prints)
    # Weighted towards the picture: each look is a tight group of its own.
    inp = GroupingInput(nodes=nodes, ext=ext, preset="sports", use_llm=False, trust=False)
    return inp, truth


def _groups(plan: object) -> set[frozenset[int]]:
    return {frozenset(s.positions) for s in plan.storylines if s.positions}  # type: ignore[attr-defined]


def _truth(truth: list[str]) -> set[frozenset[int]]:
    return {frozenset(i for i, s in enumerate(truth) if s == story) for story in set(truth)}


def test_the_narrators_two_storylines_stay_apart_with_the_automatic_number() -> None:
    inp, truth = _film()
    plan = plan_grouping(inp)
    assert _groups(plan) == _truth(truth)
    assert len(plan.metadata["criterion"]["merged"]) == 3  # the six looks joined in pairs


def test_without_utterances_over_the_cuts_the_narrators_looks_stay_apart() -> None:
    inp, truth = _film(joined=False)
    plan = plan_grouping(inp)
    # C's voice is its own: its looks are joined. The narrator's four looks are not, as no
    # utterance says which of them belong together.
    found = _groups(plan)
    assert frozenset(i for i, s in enumerate(truth) if s == "C") in found
    assert len(found) == 5


def test_a_voice_in_three_groups_merges_only_where_utterances_join_them() -> None:
    labels = [0, 1, 0, 1, 0, 1, 2, 3, 2, 3, 2, 3]
    voice = {"voiceprint": np.full((12, 12), 0.9)}  # one voice throughout
    assert voice_merges(voice, labels, set()) == (labels, [])
    units = [0, 0, 1, 1, 2, 3, 4, 4, 5, 5, 6, 7]  # 0-1 and 2-3 joined twice over a cut each
    merged, merges = voice_merges(voice, labels, set(), units=units)
    assert merged == [0, 0, 0, 0, 0, 0, 2, 2, 2, 2, 2, 2]
    assert len(merges) == 2
    joins = utterance_joins(np.asarray(labels), units, [0, 1, 2, 3])
    assert joins.tolist() == [[0, 2, 0, 0], [2, 0, 0, 0], [0, 0, 0, 2], [0, 0, 2, 0]]


def test_one_utterance_over_a_cut_is_not_enough_to_join_a_shared_voice() -> None:
    labels = [0, 1, 0, 2, 1, 2]
    voice = {"voiceprint": np.full((6, 6), 0.9)}
    units = [0, 0, 1, 2, 3, 4]  # 0-1 joined once
    assert voice_merges(voice, labels, set(), units=units) == (labels, [])


def test_with_the_number_given_merges_by_affinity_must_stand_apart_as_well(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The split-and-merge partition needs merges by affinity when a voice is shared (or a
    storyline has several speakers); it is kept only when its storylines stand apart at least
    as well as those of the plain partition into the number asked for."""
    inp, _truth_of = _film(joined=False)
    inp.wanted, inp.merge = 3, False
    plain = _groups(plan_grouping(inp))

    looks = [int(np.argmax(n.features["colour"])) for n in inp.nodes]
    wrong = {0: 0, 4: 0, 1: 1, 2: 1, 3: 2, 5: 2}  # looks of different storylines paired

    def mispaired(matrix: np.ndarray, labels: list[int], pinned: set[int], k: int) -> list[int]:
        return [wrong[look] for look in looks]

    monkeypatch.setattr(grouping, "affinity_merges", mispaired)
    inp.merge = True
    plan = plan_grouping(inp)
    assert _groups(plan) == plain
    assert plan.metadata["criterion"]["kept"] == "plain"
