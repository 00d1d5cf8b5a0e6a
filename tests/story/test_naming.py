# ruff: noqa: RUF001  (Russian text is meant to be Cyrillic)
"""Storyline names an editor would write: who, what, where, in the storyline's own words."""

from __future__ import annotations

from story.graph import SceneNode
from story.naming import (
    distinctive_words,
    is_named,
    key_phrases,
    legible,
    place_of,
    plain_when_alike,
    speech_label,
    spoken_names,
    spoken_people,
    storyline_name,
)
from story.text import content_words

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


def test_key_phrases_are_runs_of_content_words_a_repeated_one_first() -> None:
    phrases = key_phrases([_group(HARBOUR), _group(STATION, 10), _group(GARDEN, 20)])
    assert phrases[0][0] in {"Captain Harlow", "fishing boat"}  # said twice, as said
    assert phrases[1][0] == "старый вокзал"
    # Said once each, the garden's phrases are still its own words, not made up.
    assert set(phrases[2]) == {"apple trees", "vegetable beds"}


def test_words_heard_with_a_low_probability_or_not_words_are_left_out_of_names() -> None:
    garbled = _group(["Вашю висло пришла на вокзал.", "Вашю висло купила чай на вокзале."])
    for node in garbled:
        node.features["words"] = ["вашю", "висло", "вокзал"]
    assert distinctive_words([garbled, _group(GARDEN, 10)])[0][:2] == ["вашю", "висло"]
    garbled[0].features["unsure"] = ["вашю", "висло"]
    assert distinctive_words([garbled, _group(GARDEN, 10)])[0] == ["вокзал"]
    assert not {"вашю", "висло"} & {w for p in key_phrases([garbled])[0] for w in p.split()}
    # Said twice and well formed, an unknown word can be a name; a jumble of letters cannot.
    dashwood = _group(["Then John Dashwood came.", "And John Dashwood left.", "Zzkq Xwv came."])
    assert key_phrases([dashwood, _group(GARDEN, 10)])[0][0] == "John Dashwood"
    assert set(spoken_people([dashwood, _group(GARDEN, 10)])[0]) == {"John", "Dashwood"}
    assert storyline_name(0, ["Dashwood"], ["came"], ["John Dashwood"]) == "Dashwood: came"


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


def _tag(label: str, score: float = 0.8, ru: str = "") -> dict[str, object]:
    return {"label": label, "score": score, "label_ru": ru}


def test_a_place_needs_most_scenes_to_agree_with_confidence_in_the_speech_language() -> None:
    group = _group(GARDEN + GARDEN[:1])
    street = _tag("street", ru="улица")
    tags = {0: [street, _tag("person")], 1: [street], 2: [_tag("car")]}
    assert place_of(group, tags) == "street"
    assert place_of(group, tags, "ru") == "улица"
    assert place_of(group, {0: [street], 1: [_tag("car")]}) is None  # no majority
    assert place_of(group, {i: [_tag("street", 0.2)] for i in range(3)}) is None  # unsure
    assert place_of(group, {i: [_tag("person")] for i in range(3)}) is None  # who, not where
    assert place_of(group, {i: [_tag("car")] for i in range(3)}, "ru") is None  # no Russian


def test_garbled_speech_names_nothing_and_a_silent_storyline_says_so() -> None:
    garbled = _group(["Раутором Сталибак", "Годка, Канас, Севай.", "Первая рыба"])
    garbled[0].features["unsure"] = ["раутором", "сталибак"]
    readable = legible(garbled)
    assert [n.features["text"] for n in readable] == ["", "", "Первая рыба"]
    assert key_phrases([readable, _group(GARDEN, 10)])[0] == ["первая рыба"]
    assert speech_label(garbled, "ru") == "Речь по-русски"
    silent = [SceneNode(30, 30, 0.0, 2.0, {"text": ""})]
    assert storyline_name(0, [], [], [], "street", speech_label(silent, None)) == (
        "No speech (street)"
    )


def test_a_speech_label_shared_by_every_storyline_gives_way_to_numbers() -> None:
    silent = speech_label([SceneNode(30, 30, 0.0, 2.0, {"text": ""})], None)
    labels = [silent, silent, silent]
    assert plain_when_alike(labels, labels, [0, 1, 2]) == [
        "Storyline 1",
        "Storyline 2",
        "Storyline 3",
    ]
    # One named storyline, or a place beside the label, and the labels say something.
    named = ["Anna: station", silent, silent]
    assert plain_when_alike(named, labels, [0, 1, 2]) == named
    placed = ["No speech (street)", "No speech (forest)"]
    assert plain_when_alike(placed, labels[:2], [0, 1]) == placed


def test_words_are_counted_by_their_stem_and_shown_as_said_most() -> None:
    station = _group(STATION)
    for node in station:
        node.features["words"] = content_words(node.features["text"])
    top = distinctive_words([station, _group(GARDEN, 10)])[0]
    # "поезда" and "поезд" are one word said twice, like "вокзал" and "Анна"; the rest once.
    assert set(top) == {"анна", "вокзал", "поезд"}
