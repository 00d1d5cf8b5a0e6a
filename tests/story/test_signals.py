"""Signals that carry a storyline across looks, and how far each one is trusted per video."""

from __future__ import annotations

import numpy as np
import pytest

from story.cluster import Constraints, cluster, modularity
from story.external import ExternalSignals
from story.graph import SceneNode, time_kernel
from story.grouping import GroupingInput, plan_grouping
from story.text import text_language
from story.trust import signal_trust, trusted_weights

# Twelve scenes of three storylines, interleaved; each storyline is filmed in two looks and
# storylines A and B share one of them, so the colour of the picture cannot tell them apart.
STORY = "ABCABCBACBAC"
LOOK = {"A": ("street", "garden"), "B": ("street", "harbour"), "C": ("desert", "forest")}
COLOURS = {"street": 10.0, "garden": 90.0, "harbour": 170.0, "desert": 250.0, "forest": 330.0}


def _voice(story: str, i: int) -> list[float]:
    rng = np.random.default_rng(i)
    base = {"A": [1.0, 0, 0, 0], "B": [0, 1.0, 0, 0], "C": [0, 0, 1.0, 0]}[story]
    vector = np.array(base) + rng.normal(0, 0.08, 4)
    return (vector / np.linalg.norm(vector)).tolist()


def _nodes() -> tuple[list[SceneNode], ExternalSignals]:
    nodes, prints = [], {}
    for i, story in enumerate(STORY):
        look = LOOK[story][(i // 3) % 2]
        colour = [COLOURS[look] + np.random.default_rng(100 + i).normal(0, 3)] * 6
        # The voice is heard twice, as in a real run: the voice print and the MFCC fingerprint.
        mfcc = [v * 10 for v in _voice(story, 200 + i)]
        nodes.append(SceneNode(i + 1, i, 4.0 * i, 4.0 * i + 4, {"colour": colour, "voice": mfcc}))
        prints[i + 1] = _voice(story, i)
    return nodes, ExternalSignals(voiceprints=prints)


def _groups(labels: list[int]) -> set[frozenset[int]]:
    found: dict[int, set[int]] = {}
    for i, label in enumerate(labels):
        found.setdefault(label, set()).add(i)
    return {frozenset(v) for v in found.values()}


def _truth() -> set[frozenset[int]]:
    return _groups(["ABC".index(s) for s in STORY])


def _labels(plan: object) -> list[int]:
    labels = [-1] * len(STORY)
    for s in plan.storylines:  # type: ignore[attr-defined]
        for p in s.positions:
            labels[p] = s.order
    return labels


def test_the_voice_carries_storylines_across_looks_the_colour_does_not() -> None:
    nodes, ext = _nodes()
    trusted = plan_grouping(GroupingInput(nodes=nodes, ext=ext, wanted=3, use_llm=False))
    assert _groups(_labels(trusted)) == _truth()
    trust = trusted.metadata["trust"]
    assert trust["voiceprint"]["trust"] > trust["colour"]["trust"]
    untrusted = GroupingInput(nodes=nodes, ext=ext, wanted=3, use_llm=False)
    untrusted.trust = False
    plain = plan_grouping(untrusted).metadata["weights"]
    weights = trusted.metadata["weights"]
    assert weights["voiceprint"] / plain["voiceprint"] > weights["colour"] / plain["colour"]
    colour_only = GroupingInput(nodes=nodes, ext=ext, wanted=3, use_llm=False, preset="sports")
    colour_only.trust = False
    colour_only.ext = ExternalSignals()  # the picture alone
    assert _groups(_labels(plan_grouping(colour_only))) != _truth()


def _blocks(noise: int) -> np.ndarray:
    """Similarities that follow the storylines, with some noise."""
    n = len(STORY)
    rng = np.random.default_rng(noise)
    same = np.equal.outer(list(STORY), list(STORY))
    out = np.clip(np.where(same, 0.85, 0.15) + rng.normal(0, 0.05, (n, n)), 0, 1)
    return (out + out.T) / 2


def test_signals_that_agree_on_groups_are_trusted_a_flat_one_and_a_time_echo_not() -> None:
    nodes, _ = _nodes()
    n = len(nodes)
    time = time_kernel(nodes)
    components = {
        "time": time,
        "voice": _blocks(1),  # two families that both follow the storylines
        "transcript": _blocks(2),
        "language": np.ones((n, n)),  # one language throughout: says nothing
        "colour": time.copy(),  # a look that only says which scenes are neighbours
    }
    trust = signal_trust(components)
    assert "time" not in trust
    assert trust["language"].trust == 0.0
    assert trust["voice"].trust > 0.5 and trust["transcript"].trust > 0.5
    assert trust["colour"].trust < 0.1 and trust["colour"].time_correlation > 0.9
    assert trust["voice"].agreement > 0.9 > 0.1 > trust["colour"].agreement
    weights = {"voice": 2.0, "transcript": 1.5, "language": 1.0, "colour": 2.0, "time": 0.5}
    trusted = trusted_weights(weights, trust)
    assert trusted["language"] == 0.0 and trusted["time"] == 0.5
    assert trusted["colour"] < 0.1 < trusted["transcript"] <= trusted["voice"]


def test_a_signal_measured_on_few_scenes_is_not_trusted() -> None:
    matrix = np.full((10, 10), np.nan)
    matrix[:3, :3] = 1.0
    assert signal_trust({"faces": matrix})["faces"].trust == 0.0


def test_modularity_prefers_the_true_blocks(monkeypatch: pytest.MonkeyPatch) -> None:
    w = np.full((9, 9), 0.05)
    for block in (slice(0, 3), slice(3, 6), slice(6, 9)):
        w[block, block] = 0.9
    np.fill_diagonal(w, 0.0)
    true = np.repeat([0, 1, 2], 3)
    assert modularity(w, true) > modularity(w, np.array([0, 0, 0, 0, 1, 1, 1, 2, 2]))
    assert modularity(w, np.zeros(9, dtype=int)) == 0.0
    monkeypatch.setattr("story.cluster.AUTO_CRITERION", "modularity")
    found = cluster(w, None, Constraints())
    assert found.k == 3 and found.criterion["method"] == "modularity"


def test_the_language_of_a_scene_comes_from_its_script() -> None:
    assert text_language("Рано утром старый рыбак вышел к реке.") == "ru"
    assert text_language("Рано утром старый рыбак вышел к реке.", "en") == "ru"
    assert text_language("Рано утром старый рыбак вышел к реке.", "uk") == "uk"
    assert text_language("Ask not what your country can do for you.", "en") == "en"
    assert text_language("Ask not what your country can do for you.", "ru") == "en"
    assert text_language("Ask not what your country can do for you.", "fr") == "fr"
    assert text_language("Ok.") is None


def test_each_scene_has_a_confidence_and_the_signals_that_placed_it() -> None:
    nodes, ext = _nodes()
    plan = plan_grouping(GroupingInput(nodes=nodes, ext=ext, wanted=3, use_llm=False))
    assert len(plan.scenes) == len(nodes)
    for item in plan.scenes:
        assert item is not None and 0.0 <= item["confidence"] <= 1.0
        assert item["runner_up"] in {s.order for s in plan.storylines}
    # The voice, not the shared street, is what ties a scene to its storyline.
    top = [item["reasons"][0]["signal"] for item in plan.scenes if item and item["reasons"]]
    assert sum(1 for s in top if s in ("voiceprint", "voice")) > len(top) / 2
    assert plan.metadata["review"] == sum(1 for s in plan.scenes if s and s["needs_review"])


def test_a_scene_between_two_voices_is_flagged_for_review() -> None:
    nodes, ext = _nodes()
    plain = plan_grouping(GroupingInput(nodes=nodes, ext=ext, wanted=3, use_llm=False))
    middle = (np.array(_voice("A", 50)) + np.array(_voice("B", 51))) / 2
    ext.voiceprints[nodes[5].pk] = (middle / np.linalg.norm(middle)).tolist()
    nodes[5].features["voice"] = (middle / np.linalg.norm(middle) * 10).tolist()
    plan = plan_grouping(GroupingInput(nodes=nodes, ext=ext, wanted=3, use_llm=False))
    doubtful, sure = plan.scenes[5], plain.scenes[5]
    assert doubtful is not None and sure is not None
    assert doubtful["needs_review"] and not sure["needs_review"]
    assert doubtful["confidence"] < sure["confidence"] / 2
