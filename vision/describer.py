"""The offline describer: a sentence per scene from what the other stages found.

No model download is needed, so every scene always gets a description, in English or Russian:
the place (indoors or outdoors), how much moves, the people and faces, the most likely
things it shows (the objects stage's editor words, in Russian too) and the on-screen text.
"""

from __future__ import annotations

from dataclasses import dataclass, field

MENTION_SCORE = 0.15  # objects at least this likely are named plainly
MAYBE_SCORE = 0.05  # the single best object above this is named as "possibly"
MAX_OBJECTS = 3
MAX_TEXT_CHARS = 80

ACTION_WORDS = {
    "en": {
        "static": "a still shot",
        "calm": "little movement",
        "moving": "movement",
        "fast motion": "fast motion",
    },
    "ru": {
        "static": "статичный кадр",
        "calm": "спокойное движение",
        "moving": "движение",
        "fast motion": "быстрое движение",
    },
}
PLACE_WORDS = {
    "en": {"indoor": "indoors", "outdoor": "outdoors"},
    "ru": {"indoor": "в помещении", "outdoor": "на улице"},
}


@dataclass
class SceneFacts:
    """What is known about one scene; every part may be missing."""

    objects: list[tuple[str, float]] = field(default_factory=list)  # best first
    objects_ru: list[str] = field(default_factory=list)  # the same words in Russian, if known
    faces: int | None = None
    people: list[str] = field(default_factory=list)
    text: str = ""
    place: str = ""  # "indoor", "outdoor" or ""
    action: str = ""


def _objects(facts: SceneFacts) -> tuple[list[str], bool]:
    """Object names to mention and whether they are only a guess."""
    sure = [name for name, score in facts.objects if score >= MENTION_SCORE][:MAX_OBJECTS]
    if sure:
        return sure, False
    best = facts.objects[:1]
    return ([best[0][0]], True) if best and best[0][1] >= MAYBE_SCORE else ([], False)


def _short(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= MAX_TEXT_CHARS else text[: MAX_TEXT_CHARS - 1].rstrip() + "…"


def _people_count(facts: SceneFacts) -> int:
    return max(facts.faces or 0, len(facts.people))


def describe_en(facts: SceneFacts) -> str:
    """An English description of the scene."""
    head = ["A scene"]
    if facts.place in PLACE_WORDS["en"]:
        head.append(PLACE_WORDS["en"][facts.place])
    if facts.action in ACTION_WORDS["en"]:
        head.append(f"with {ACTION_WORDS['en'][facts.action]}")
    parts = [" ".join(head)]
    names, guess = _objects(facts)
    if names:
        parts[0] += (": possibly " if guess else ": ") + ", ".join(names)
    count = _people_count(facts)
    if count:
        who = "One person is" if count == 1 else f"{count} people are"
        named = f" ({', '.join(facts.people)})" if facts.people else ""
        parts.append(f"{who} visible{named}")
    if facts.text.strip():
        parts.append(f"On-screen text: “{_short(facts.text)}”")
    return ". ".join(parts) + "."


def _russian_people(count: int) -> str:
    if count % 10 == 1 and count % 100 != 11:
        return f"{count} человек"
    if count % 10 in (2, 3, 4) and count % 100 not in (12, 13, 14):
        return f"{count} человека"
    return f"{count} человек"


def describe_ru(facts: SceneFacts) -> str:
    """A Russian description of the scene."""
    head = ["Сцена"]
    if facts.place in PLACE_WORDS["ru"]:
        head.append(PLACE_WORDS["ru"][facts.place])
    if facts.action in ACTION_WORDS["ru"]:
        head.append(f"({ACTION_WORDS['ru'][facts.action]})")
    parts = [" ".join(head)]
    names, guess = _objects(facts)
    if names and len(facts.objects_ru) == len(facts.objects):
        russian = dict(zip((name for name, _s in facts.objects), facts.objects_ru, strict=True))
        names = [russian[name] for name in names]
    if names:
        parts[0] += (": возможно, " if guess else ": ") + ", ".join(names)
    count = _people_count(facts)
    if count:
        named = f" ({', '.join(facts.people)})" if facts.people else ""
        parts.append(f"В кадре {_russian_people(count)}{named}")  # noqa: RUF001
    if facts.text.strip():
        parts.append(f"Текст на экране: «{_short(facts.text)}»")
    return ". ".join(parts) + "."


def describe(facts: SceneFacts, language: str = "en") -> str:
    """The description in ``language`` (``ru`` or English for anything else)."""
    return describe_ru(facts) if language == "ru" else describe_en(facts)
