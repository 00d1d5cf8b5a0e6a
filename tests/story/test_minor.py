"""Shots held for a few frames, without speech, are placed in the storylines, not grouped.

The shots stage keeps a shot of a few frames between two sure cuts. Such a shot has only its
look to go by: grouped with the rest, shots of one look pair up into a "storyline" of their own
and two real storylines share one (narrator_s9 and russian in bench/RESULTS.md, section story).
"""

from __future__ import annotations

import numpy as np
import pytest

from story import grouping
from story.cluster import place
from story.external import ExternalSignals
from story.graph import SceneNode
from story.grouping import EditorGroup, GroupingInput, minor_scenes, plan_grouping

STORY = "ABCACBABCBACABCB"
LOOKS = {"A": 10.0, "B": 60.0, "C": 110.0, "held": 160.0}
VOICES = {"A": [1.0, 0, 0, 0], "B": [0, 1.0, 0, 0], "C": [0, 0, 1.0, 0]}


def _film() -> tuple[GroupingInput, list[str]]:
    """Three storylines of 3-second scenes with speech, each in a look and a voice of its own;
    every other scene ends on a silent 0.3-second shot in a look they all share. Returns the
    input (three storylines asked for) and the storyline of every scene (lower case: the
    short shots)."""
    nodes: list[SceneNode] = []
    prints, truth, start = {}, [], 0.0
    for i, story in enumerate(STORY):
        rng = np.random.default_rng(i)
        voice = np.array(VOICES[story]) + rng.normal(0, 0.2, 4)
        colour = (LOOKS[story] + rng.normal(0, 2, 6)).tolist()
        pk = len(nodes) + 1
        features = {"colour": colour, "text": f"words of {story}", "voice": (10 * voice).tolist()}
        nodes.append(SceneNode(pk, len(nodes), start, start + 3.0, features))
        prints[pk] = (voice / np.linalg.norm(voice)).tolist()
        truth.append(story)
        start += 3.0
        if i % 2 == 0:
            held = {"colour": (LOOKS["held"] + rng.normal(0, 2, 6)).tolist()}
            nodes.append(SceneNode(len(nodes) + 1, len(nodes), start, start + 0.3, held))
            truth.append(story.lower())
            start += 0.3
    inp = GroupingInput(nodes=nodes, ext=ExternalSignals(voiceprints=prints), wanted=3)
    inp.use_llm = False
    return inp, truth


def _storylines(inp: GroupingInput, truth: list[str]) -> list[str]:
    plan = plan_grouping(inp)
    return sorted("".join(truth[p] for p in s.positions) for s in plan.storylines if s.positions)


def test_short_silent_shots_grouped_with_the_rest_make_a_storyline_of_their_own(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(grouping, "MINOR_SECONDS", 0.0)  # every scene helps form storylines
    inp, truth = _film()
    found = _storylines(inp, truth)
    assert any(s.islower() for s in found)  # the held shots alone
    assert not any(set(s) == {"A"} for s in found)  # and two storylines share one


def test_short_silent_shots_are_placed_in_the_storylines_the_others_form() -> None:
    inp, truth = _film()
    found = _storylines(inp, truth)
    # The scenes with speech are grouped as they were told; every held shot is in one of them.
    assert sorted({c for c in s if c.isupper()} for s in found) == [{"A"}, {"B"}, {"C"}]
    assert sum(len(s) for s in found) == len(truth)
    assert not any(s.islower() for s in found)


def test_minor_scenes_are_short_silent_and_not_an_editors() -> None:
    inp, truth = _film()
    held = {i for i, story in enumerate(truth) if story.islower()}
    assert minor_scenes(inp) == held
    # A short shot with words, or one with a voice print, speaks: it helps form storylines.
    talking, printed = sorted(held)[:2]
    inp.nodes[talking].features["text"] = "yes"
    inp.ext.voiceprints[inp.nodes[printed].pk] = [1.0, 0.0, 0.0, 0.0]
    inp.groups = [EditorGroup(positions=[sorted(held)[2]])]
    assert minor_scenes(inp) == held - set(sorted(held)[:3])


def test_no_scene_is_minor_when_too_few_others_are_left_to_group() -> None:
    nodes = [SceneNode(1, 0, 0.0, 3.0, {"text": "hello"})]
    nodes += [SceneNode(i + 2, i + 1, 3.0 + 0.3 * i, 3.3 + 0.3 * i, {}) for i in range(4)]
    inp = GroupingInput(nodes=nodes, ext=ExternalSignals(), wanted=2)
    assert minor_scenes(inp) == set()


def test_a_placed_scene_goes_where_its_members_are_most_alike() -> None:
    matrix = np.array(
        [
            [0.0, 0.9, 0.1, 0.1, 0.2],
            [0.9, 0.0, 0.1, 0.1, 0.3],
            [0.1, 0.1, 0.0, 0.8, 0.6],
            [0.1, 0.1, 0.8, 0.0, 0.5],
            [0.2, 0.3, 0.6, 0.5, 0.0],
        ]
    )
    assert place(matrix, [0, 0, 1, 1, -1], {4}) == [0, 0, 1, 1, 1]
