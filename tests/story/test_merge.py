"""The automatic number of storylines: groups one voice runs through are one storyline."""

from __future__ import annotations

import numpy as np

from story.external import ExternalSignals
from story.graph import SceneNode
from story.grouping import GroupingInput, plan_grouping
from story.merge import affinity_merges, continuity_ratio, voice_merges

# Three storylines, interleaved, each filmed in two looks of its own: six tight looks.
STORY = "ABCABCBACBACABCCBA" * 2
LOOKS = {"A": (10.0, 160.0), "B": (60.0, 210.0), "C": (110.0, 260.0)}
VOICES = {"A": [1.0, 0, 0, 0], "B": [0, 1.0, 0, 0], "C": [0, 0, 1.0, 0]}


def _unit(vector: np.ndarray) -> list[float]:
    return (vector / np.linalg.norm(vector)).tolist()


def _film(voices: dict[str, list[float]], languages: dict[str, str]) -> GroupingInput:
    nodes, prints = [], {}
    for i, story in enumerate(STORY):
        rng = np.random.default_rng(i)
        look = LOOKS[story][(i // 3) % 2]
        features = {
            "colour": (look + rng.normal(0, 2, 6)).tolist(),
            "voice": [10 * v for v in _unit(np.array(voices[story]) + rng.normal(0, 0.2, 4))],
            "language": languages[story],
        }
        nodes.append(SceneNode(i + 1, i, 4.0 * i, 4.0 * i + 4, features))
        prints[i + 1] = _unit(np.array(voices[story]) + rng.normal(0, 0.2, 4))
    # Weighted towards the picture, as a film whose looks are more distinct than its voices.
    ext = ExternalSignals(voiceprints=prints)
    return GroupingInput(nodes=nodes, ext=ext, preset="sports", use_llm=False, trust=False)


def _groups(plan: object) -> set[frozenset[int]]:
    return {frozenset(s.positions) for s in plan.storylines if s.positions}  # type: ignore[attr-defined]


def _truth() -> set[frozenset[int]]:
    return {frozenset(i for i, s in enumerate(STORY) if s == story) for story in "ABC"}


def test_a_storyline_filmed_in_two_looks_is_one_storyline_by_its_voice() -> None:
    inp = _film(VOICES, dict.fromkeys("ABC", "en"))
    inp.merge = False
    split = plan_grouping(inp)
    assert split.metadata["num_storylines"] > 3  # the looks alone: too many storylines
    inp.merge = True
    merged = plan_grouping(inp)
    assert _groups(merged) == _truth()
    assert merged.metadata["criterion"]["merged"]


def test_with_the_number_given_the_places_are_split_first_and_joined_by_voice() -> None:
    inp = _film(VOICES, dict.fromkeys("ABC", "en"))
    inp.wanted, inp.merge = 3, False
    assert _groups(plan_grouping(inp)) != _truth()  # three groups by the looks: mixed
    inp.merge = True
    plan = plan_grouping(inp)
    assert _groups(plan) == _truth()
    assert plan.metadata["criterion"]["split"] == 6


def test_the_most_alike_groups_are_merged_down_to_the_number_asked_for() -> None:
    labels = [0, 0, 1, 1, 2, 2, 3, 3]
    matrix = np.full((8, 8), 0.1)
    matrix[np.ix_([0, 1, 2, 3], [0, 1, 2, 3])] = 0.8  # groups 0 and 1 alike
    matrix[np.ix_([4, 5, 6, 7], [4, 5, 6, 7])] = 0.6  # groups 2 and 3 alike, less so
    assert affinity_merges(matrix, labels, set(), 3) == [0, 0, 0, 0, 2, 2, 3, 3]
    assert affinity_merges(matrix, labels, set(), 2) == [0, 0, 0, 0, 2, 2, 2, 2]
    # Two groups an editor placed are never one storyline: the next most alike pair merges.
    assert affinity_merges(matrix, labels, {0, 1}, 3) == [0, 0, 1, 1, 2, 2, 2, 2]


def test_one_voice_in_two_languages_stays_two_storylines() -> None:
    voices = {**VOICES, "B": VOICES["A"]}  # one synthetic voice reads A in English, B in Russian
    inp = _film(voices, {"A": "en", "B": "ru", "C": "en"})
    inp.preset, inp.trust = "film", True  # the language counts as the film preset says
    plan = plan_grouping(inp)
    assert _groups(plan) == _truth()


def test_groups_without_a_voice_or_pinned_by_an_editor_are_not_merged() -> None:
    n = 12
    labels = [0, 1, 0, 1, 0, 1, 2, 3, 2, 3, 2, 3]
    same = np.full((n, n), 0.9)
    voice = {"voiceprint": same.copy()}
    units = [0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1]  # speech runs on over the cuts of each half
    merged, merges = voice_merges(voice, labels, pinned=set(), units=units)
    assert len(set(merged)) == 2 and len(merges) == 2  # one voice throughout: two groups left
    kept, _ = voice_merges(voice, labels, pinned={0, 1, 2, 3}, units=units)
    assert kept == labels
    silent = np.full((n, n), np.nan)
    assert voice_merges({"voiceprint": silent}, labels, set())[0] == labels
    assert continuity_ratio(silent, np.arange(3), np.arange(3, 6)) is None
