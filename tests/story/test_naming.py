# ruff: noqa: RUF001  (Russian text is meant to be Cyrillic)
"""Storyline names an editor would write: who, what, where, in the storyline's own words."""

from __future__ import annotations

from story.graph import SceneNode
from story.naming import (
    is_named,
    key_phrases,
    place_of,
    spoken_names,
    spoken_people,
    storyline_name,
)

HARBOUR = [
    "Captain Harlow brought the fishing boat into the harbour at night.",
    "The storm had torn the nets of the fishing boat.",
    "Next morning Captain Harlow ordered a new mast.",
]
STATION = [
    "Анна пришла на вокзал за час до поезда.",
    "На платформе было холодно, и Анна купила чай.",
    "Поезд на Москву опаздывал, старый вокзал был пуст.",
]
GARDEN = ["She knelt by the vegetable beds.", "The apple trees were in bloom by the wall."]


def _group(texts: list[str], start: int = 0) -> list[SceneNode]:
    return [SceneNode(start + i, start + i, 0.0, 1.0, {"text": t}) for i, t in enumerate(texts)]


def test_key_phrases_are_recurring_runs_of_content_words_of_one_storyline() -> None:
    phrases = key_phrases([_group(HARBOUR), _group(STATION, 10), _group(GARDEN, 20)])
    assert phrases[0][0] in {"captain harlow", "fishing boat"}
    assert phrases[2] == []  # nothing recurs in the garden: no phrase is made up


def test_names_said_inside_sentences_are_people() -> None:
    assert spoken_names(HARBOUR[2]) == ["Captain", "Harlow"]
    assert "Анна" in spoken_names(STATION[1]) and "Поезд" not in spoken_names(STATION[2])
    people = spoken_people([_group(HARBOUR), _group(STATION, 10)])
    assert people[0] == ["Harlow"]  # "Captain" opens a sentence once: said inside only once
    assert people[1] == []  # "Анна" starts one of its sentences: said inside only once


def test_the_name_says_who_what_and_where() -> None:
    assert storyline_name(0, ["Anna"], ["вокзал"], ["старый вокзал"]) == "Anna: старый вокзал"
    assert storyline_name(1, [], ["boat", "storm"], [], "dock") == "Boat, storm (dock)"
    assert storyline_name(2, [], [], []) == "Storyline 3"
    assert not is_named("Character 2") and not is_named("Speaker 1") and is_named("Anna")


def test_a_place_needs_most_scenes_to_agree() -> None:
    group = _group(GARDEN + GARDEN[:1])
    objects = {0: ["greenhouse", "pot"], 1: ["greenhouse"], 2: ["car mirror"]}
    assert place_of(group, objects) == "greenhouse"
    assert place_of(group, {0: ["pot"], 1: ["car mirror"]}) is None
