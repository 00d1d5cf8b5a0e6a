"""Speech running on over a cut: which cuts it joins, and what the join does to the graph.

The word spans are those the recogniser gave on story_dev_01 around its 47.0 s cut, where one
storyline's speech ends ("...your country could be.") and another's starts ("But as the
riper..."): the first word after the cut is stamped to start 0.05 s before it.
"""

from __future__ import annotations

import numpy as np

from story.external import ExternalSignals
from story.features import _continues
from story.graph import SceneNode, components_of, pooled, speech_units

CUT = 47.0
# "what your country could be." then, after the cut, "But as the riper should".
ENDING = [(45.04, 45.172), (45.172, 45.412), (45.412, 45.932), (45.932, 46.192), (46.192, 46.576)]
STARTING = [(46.952, 47.172), (47.172, 47.352), (47.352, 47.552), (47.552, 47.972)]


def test_a_first_word_stamped_just_before_the_cut_does_not_join_two_speeches() -> None:
    # 0.42 s of silence before the cut: the speech before it has ended.
    assert not _continues(ENDING + STARTING, CUT)


def test_speech_that_runs_on_over_the_cut_still_joins() -> None:
    # A word spoken over the cut ("coun|try"): one utterance cut into two shots.
    over = [(46.2, 46.6), (46.8, 47.3), (47.35, 47.6)]
    assert _continues(over, CUT)
    # The last word ends just before the cut and the next starts just after it.
    near = [(46.3, 46.9), (47.1, 47.4)]
    assert _continues(near, CUT)
    # A first word stamped a little early, right after the last word of a line going on.
    early = [(46.4, 46.93), (46.96, 47.2)]
    assert _continues(early, CUT)
    # The same words with a long pause between them: two utterances.
    assert not _continues([(46.3, 46.6), (47.1, 47.4)], CUT)


def _bikes_and_chaplin() -> tuple[list[SceneNode], ExternalSignals]:
    """Three face-less bikes shots (the last two under one line), then Chaplin's scene and two
    more of his."""
    spans = sorted([(41.5, 42.0), (43.5, 43.9), *ENDING, *STARTING, (60.8, 61.2), (66.0, 66.4)])
    cuts = [41.36, 43.64, 45.68, CUT, 60.0, 65.0]
    ends = [*cuts[1:], 70.0]
    nodes = [
        SceneNode(i + 1, i, start, end, {"continues": None if i == 0 else _continues(spans, start)})
        for i, (start, end) in enumerate(zip(cuts, ends, strict=True))
    ]
    # The bikes shots (pks 1-3) show no face; Chaplin is in the others.
    return nodes, ExternalSignals(characters={pk: {"chaplin"} for pk in (4, 5, 6)})


def test_a_face_less_shot_does_not_take_the_character_of_the_next_storyline() -> None:
    nodes, ext = _bikes_and_chaplin()
    # Over the 45.68 s cut the word "country" is spoken: the bikes shots are one unit.
    units = speech_units(nodes)
    assert units[1] == units[2] and units[3] != units[2]
    characters = pooled(components_of(nodes, ext), units)["characters"]
    # No bikes shot is said to show Chaplin: they have no character to compare.
    assert np.isnan(characters[:3, 3:]).all()
    assert characters[3, 4] == characters[4, 5] == 1.0
