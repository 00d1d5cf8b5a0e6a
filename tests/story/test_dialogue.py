# ruff: noqa: RUF001  (Russian text is meant to be Cyrillic)
"""Dialogue continuity: speech going on from an earlier scene's, shared names and phrases."""

from __future__ import annotations

import numpy as np

from story.dialogue import continuations, ends_open, mentions, starts_inside
from story.external import ExternalSignals
from story.graph import SceneNode, build_graph, components_of, speech_units
from story.presets import PRESETS


def _nodes(texts: list[str], continues: list[bool] | None = None) -> list[SceneNode]:
    flags = continues or [False] * len(texts)
    return [
        SceneNode(i + 1, i, 3.0 * i, 3.0 * i + 3, {"text": t, "continues": c})
        for i, (t, c) in enumerate(zip(texts, flags, strict=True))
    ]


def test_a_sentence_cut_by_a_shot_goes_on_past_silent_shots_but_not_past_a_full_stop() -> None:
    texts = [
        "And Mr. John Dashwood had then leisure",  # open: no full stop
        "",  # a shot without speech between
        "to consider how much there was",  # starts inside a sentence
        "We must find a new home in the stars.",  # a new sentence
        "the harbour was empty.",  # lower case, but the speech before it ended its sentence
    ]
    assert continuations(texts, *_times(texts), [False] * 5) == [(0, 2)]
    assert ends_open("Unless to be rather...") and ends_open("your country-")
    assert not ends_open("He was not an ill-disposed young man.")
    assert starts_inside("-disposed.") and starts_inside("в Вашю Кабиле.")
    assert not starts_inside("Captain Harlow brought the boat")


def test_the_word_timestamps_join_neighbours_only() -> None:
    texts = ["ask not what", "Your country", "", "Americans"]
    timed = [None, True, False, True]
    assert continuations(texts, *_times(texts), timed) == [(0, 1)]


def _times(texts: list[str]) -> tuple[list[float], list[float]]:
    return [3.0 * i for i in range(len(texts))], [3.0 * i + 3 for i in range(len(texts))]


def test_names_and_key_phrases_are_compared_by_their_stems() -> None:
    said = mentions("Поезд на Москву опаздывал, и Анна ждала поезда у старого вокзала.")
    again = mentions("Потом поезда на Москву шли без опозданий.")
    assert "n:москв" in said & again  # a name inside a sentence, in two of its forms
    assert {m for m in said if m.startswith("p:")} >= {"p:стар вокза"}
    assert "p:ан ждал" not in said  # who does what is no key phrase
    boats = mentions("The fishing boats came in. Then the fishing boat left.")
    assert "p:fish boat" in boats and not {m for m in boats if m.startswith("n:")}


def test_dialogue_is_a_signal_of_the_graph_tying_a_conversation_together() -> None:
    texts = [
        "Captain Harlow brought the fishing",
        "boat into the harbour at night.",
        "Margaret Lane opened the garden gate.",
        "The storm had torn the nets, and Captain Harlow swore.",
        "She knelt by the garden gate at dawn.",
    ]
    components = components_of(_nodes(texts), ExternalSignals())
    dialogue = components["dialogue"]
    assert dialogue[0, 1] == 1.0  # one sentence over a cut
    assert dialogue[0, 3] > 0 and dialogue[2, 4] > 0  # "Harlow", "garden gate"
    assert dialogue[3, 4] == 0.0 and dialogue[0, 4] == 0.0  # nothing in common
    assert np.isnan(dialogue[1, 4])  # "boat into the harbour at night" names nothing
    graph = build_graph(_nodes(texts), ExternalSignals(), PRESETS["film"])
    assert graph.weights["dialogue"] > 0
    assert graph.matrix[2, 4] > graph.matrix[3, 4]
    assert not np.isnan(graph.matrix).any()


def test_a_sentence_going_on_in_the_next_shot_makes_one_speech_unit() -> None:
    texts = ["Captain Harlow brought the fishing", "boat into the harbour.", "Margaret Lane."]
    assert speech_units(_nodes(texts)) == [0, 0, 1]
    assert speech_units(_nodes(["The boat came.", "the harbour.", ""])) == [0, 1, 2]
