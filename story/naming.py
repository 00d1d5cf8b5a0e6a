# ruff: noqa: RUF001  (Russian function words are meant to be Cyrillic)
"""Names and descriptions of storylines, built from what is in them.

A name says who (people editors named, else names spoken in the storyline), what (its key
phrase: a run of content words made of the storyline's most distinctive words, a phrase said
more than once first) and, when the pictures agree on it, where (an object seen in most of its
scenes), in the words of its own speech. Only words fit for a name are used: heard with
confidence by the recogniser and found in the dictionary of their script (or a name said twice),
so a garbled hearing of a synthetic voice never becomes a storyline's name.
"""

from __future__ import annotations

import itertools
import math
import re
from collections import Counter
from collections.abc import Callable, Sequence
from typing import Any

from analysis.pipeline.stages.common import format_clock
from story.dialogue import stem
from story.graph import SceneNode
from story.text import STOPWORDS

# Three-letter function words (``content_words`` drops every word under four letters, key
# phrases keep three-letter nouns such as "sea" or "дом").
_SHORT = (
    "the and for but not you his her was are had has all any can our out who its him she "
    "one two may now how why did get got let say see too yet nor off own per via use "
    "как что так все для нет уже был она они его это тот где кто чем при про над под без"
)
# Words that name no topic (modal verbs, degree adverbs, prepositions): a key phrase is not
# made of them ("might bear", "rather selfish", "через час").
_VAGUE = (
    "might made make makes making still rather quite again away never always often once "
    "perhaps indeed almost enough really through though although without within against "
    "через перед после между около возле вокруг почти совсем снова опять никогда всегда"
)
SHORT_STOPWORDS = frozenset(_SHORT.split()) | frozenset(_VAGUE.split())
TOKEN = re.compile(r"[^\W\d_]+(?:['’-][^\W\d_]+)*", re.UNICODE)
DEFAULT_LABEL = re.compile(r"^(character|speaker|person) \d+$", re.IGNORECASE)
PLACE_SHARE = 0.6  # an object names the place when seen in this share of the scenes

PALETTE = [
    "#4e79a7",
    "#f28e2b",
    "#e15759",
    "#76b7b2",
    "#59a14f",
    "#edc948",
    "#b07aa1",
    "#ff9da7",
    "#9c755f",
    "#bab0ac",
]


def distinctive_words(groups: Sequence[Sequence[SceneNode]], count: int = 3) -> list[list[str]]:
    """Per group, its most frequent words fit for a name, weighted by how few other groups use
    them (tf-idf). Words are counted by stem ("поезд", "поезда"), shown in their most said
    form."""
    forms = [_word_forms(g) for g in groups]
    counts = [Counter({s: sum(f.values()) for s, f in fm.items()}) for fm in forms]
    used_in = Counter(s for c in counts for s in c)
    total = len(groups)
    result = []
    for group, c, fm in zip(groups, counts, forms, strict=True):
        fit = _fitness(group)
        shown = {s: _surface(f) for s, f in fm.items()}
        scored = {s: n * math.log((1 + total) / used_in[s]) for s, n in c.items() if fit(shown[s])}
        ranked = sorted(scored, key=lambda s: (-scored[s], -c[s], shown[s]))
        result.append([shown[s] for s in ranked[:count]])
    return result


def _word_forms(group: Sequence[SceneNode]) -> dict[str, Counter[str]]:
    """Stem -> how often each form of it was said in the group's legible scenes."""
    out: dict[str, Counter[str]] = {}
    for node in group:
        for word in node.features.get("words") or []:
            out.setdefault(stem(word), Counter())[word] += 1
    return out


def _surface(forms: Counter[str]) -> str:
    """The form said most often, the shortest of equals."""
    return min(forms, key=lambda w: (-forms[w], len(w), w))


# A scene whose words are mostly not heard with confidence or not words at all (a synthetic
# voice the recogniser garbled) gives no words to names.
LEGIBLE_SHARE = 0.5


def legible(group: Sequence[SceneNode]) -> list[SceneNode]:
    """The group with the speech of garbled scenes left out (the scenes stay, without text)."""
    out = []
    for node in group:
        tokens = TOKEN.findall(node.features.get("text") or "")
        unsure = set(node.features.get("unsure") or [])
        good = [t for t in tokens if t.lower() not in unsure and _known(t) is not False]
        if tokens and len(good) < LEGIBLE_SHARE * len(tokens):
            features = {**node.features, "text": "", "words": []}
            node = SceneNode(node.pk, node.index, node.start_time, node.end_time, features)
        out.append(node)
    return out


def _known(word: str) -> bool | None:
    """Whether ``word`` is in the dictionary of its script (None: no dictionary here)."""
    try:
        from vision.wordcheck import is_known, script
    except ImportError:
        return None
    return is_known(word) if script(word) else False


def _fitness(group: Sequence[SceneNode]) -> Callable[[str], bool]:
    """A test of words for names in ``group``: not heard with a low probability, and a
    dictionary word or a well-formed word said at least twice (a name, a rare word)."""
    unsure = {w for n in group for w in n.features.get("unsure") or []}
    said = Counter(t.lower() for n in group for t in TOKEN.findall(n.features.get("text") or ""))

    def fit(word: str) -> bool:
        low = word.lower()
        if low in unsure:
            return False
        known = _known(word)
        return known is None or known or (said[low] >= 2 and _wordlike(word))

    return fit


def _wordlike(word: str) -> bool:
    try:
        from vision.wordcheck import wordlike
    except ImportError:
        return True
    return wordlike(word)


def main_people(
    group: Sequence[SceneNode], characters: dict[int, set[object]], names: dict[object, str]
) -> list[str]:
    """Names of the characters seen in most of the group's scenes (at most three)."""
    seen = Counter(c for n in group for c in characters.get(n.pk, set()))
    return [names.get(c, f"person {c}") for c, _ in seen.most_common(3)]


def is_named(name: str) -> bool:
    """An editor's name, not a default label such as "Character 2" or "Speaker 1"."""
    return bool(name.strip()) and not DEFAULT_LABEL.match(name.strip())


def _content(token: str) -> bool:
    low = token.lower()
    adverb = low.endswith("ly") and len(low) > 5  # "chiefly", "rather" above: no topic
    return len(low) >= 3 and low not in STOPWORDS and low not in SHORT_STOPWORDS and not adverb


def _phrases(
    text: str, longest: int = 3, lower: bool = True, names: frozenset[str] = frozenset()
) -> list[str]:
    """Runs of 2..``longest`` content words not broken by a function word or a stop (a
    sentence's first word in lower case when it is a dictionary word and not one of ``names``:
    "Первая рыба" is "первая рыба", "Anna came" stays)."""
    out = []
    for sentence in re.split(r"[.!?;:,\n]+", text):
        run: list[str] = []
        tokens = TOKEN.findall(sentence)
        if tokens and tokens[0] not in names and _known(tokens[0].lower()):
            tokens[0] = tokens[0].lower()
        for token in [*tokens, ""]:
            if token and _content(token):
                run.append(token.lower() if lower else token)
                continue
            for n in range(2, longest + 1):
                out += [" ".join(run[i : i + n]) for i in range(len(run) - n + 1)]
            run = []
    return out


def spoken_names(text: str) -> list[str]:
    """Capitalised words inside sentences (not their first word): names people say."""
    names = []
    for sentence in re.split(r"[.!?\n]+", text):
        tokens = TOKEN.findall(sentence)
        names += [t for t in tokens[1:] if t[:1].isupper() and t[1:].islower() and _content(t)]
    return names


def _distinctive(counts: list[Counter[str]], minimum: int = 1) -> list[list[str]]:
    """Per group, its items by tf-idf over the groups (items seen ``minimum`` times or more)."""
    used_in = Counter(w for c in counts for w in c)
    total = len(counts)
    result = []
    for c in counts:
        scored = {w: f * math.log((1 + total) / used_in[w]) for w, f in c.items() if f >= minimum}
        result.append(sorted(scored, key=lambda w: (-scored[w], -c[w], w)))
    return result


def key_phrases(groups: Sequence[Sequence[SceneNode]], count: int = 2) -> list[list[str]]:
    """Per group, phrases of its speech that say what it is about: runs of content words fit
    for a name, scored by how distinctive their words are for the group (tf-idf over the
    groups) plus one for every repetition of the phrase; phrases other groups say too count
    less. In the form most often said ("John Dashwood", not "john dashwood")."""
    surfaces = [_phrase_forms(g) for g in groups]
    counts = [Counter({p: sum(forms.values()) for p, forms in s.items()}) for s in surfaces]
    used_in = Counter(p for c in counts for p in c)
    word_weight = _word_weights(groups)
    total = len(groups)
    result = []
    for group, c, forms, weight in zip(groups, counts, surfaces, word_weight, strict=True):
        fit = _fitness(group)
        scored = {}
        for phrase, times in c.items():
            words = phrase.split()
            if not all(fit(w) for w in words):
                continue
            shared = math.log((1 + total) / used_in[phrase]) / math.log(1 + total)
            scored[phrase] = (times - 1 + sum(weight.get(w, 0.0) for w in words) / len(words)) * (
                shared if total > 1 else 1.0
            )
        ranked = sorted(scored, key=lambda p: (-scored[p], len(p), p))
        result.append([forms[p].most_common(1)[0][0] for p in ranked[:count]])
    return result


def _phrase_forms(group: Sequence[SceneNode]) -> dict[str, Counter[str]]:
    """Lower-cased phrase -> how often each written form of it was said in ``group``."""
    out: dict[str, Counter[str]] = {}
    names = frozenset(w for n in group for w in spoken_names(n.features.get("text") or ""))
    for node in group:
        for phrase in _phrases(node.features.get("text") or "", lower=False, names=names):
            # A name then a lower-case word is mostly who does what ("Anna bought"), not what
            # the storyline is about: noun phrases are all lower case or all names.
            capitals = {w[:1].isupper() for w in phrase.split()}
            if len(capitals) == 1:
                out.setdefault(phrase.lower(), Counter())[phrase] += 1
    return out


def _word_weights(groups: Sequence[Sequence[SceneNode]]) -> list[dict[str, float]]:
    """Per group, tf-idf of its content words scaled to 0..1 (its most distinctive word: 1)."""
    counts = [
        Counter(t.lower() for n in g for t in TOKEN.findall(n.features.get("text") or ""))
        for g in groups
    ]
    counts = [Counter({w: f for w, f in c.items() if _content(w)}) for c in counts]
    used_in = Counter(w for c in counts for w in c)
    total = len(groups)
    out = []
    for c in counts:
        scored = {w: f * math.log((1 + total) / used_in[w]) for w, f in c.items()}
        top = max(scored.values(), default=0.0) or 1.0
        out.append({w: v / top for w, v in scored.items()})
    return out


def spoken_people(groups: Sequence[Sequence[SceneNode]], count: int = 2) -> list[list[str]]:
    """Per group, the names said in it more than elsewhere (each said at least twice, heard
    with confidence and well formed)."""
    counts = []
    for g in groups:
        fit = _fitness(g)
        said = Counter(w for n in g for w in spoken_names(n.features.get("text") or ""))
        counts.append(Counter({w: c for w, c in said.items() if fit(w) and _wordlike(w)}))
    return [ranked[:count] for ranked in _distinctive(counts, minimum=2)]


# Tags that say who is there, not where (faces), and the least score a tag needs.
NOT_PLACES = frozenset({"person", "people"})
PLACE_SCORE = 0.5


def place_of(
    group: Sequence[SceneNode], tags: dict[int, list[dict[str, Any]]], language: str | None = None
) -> str | None:
    """A tag the vision app gave most of the group's scenes with confidence (the pictures agree
    on where), in the storyline's language when the tag has a label in it; else None."""
    if not group:
        return None
    seen: Counter[str] = Counter()
    words: dict[str, str] = {}
    for node in group:
        labels = set()
        for tag in tags.get(node.pk) or []:
            label = str(tag.get("label") or "")
            # English labels for English and silent storylines, the speech's language for others.
            word = label if language in (None, "en") else str(tag.get(f"label_{language}") or "")
            if word and label not in NOT_PLACES and float(tag.get("score") or 0) >= PLACE_SCORE:
                labels.add(label)
                words[label] = word
        seen.update(labels)
    best = seen.most_common(1)
    return words[best[0][0]] if best and best[0][1] >= PLACE_SHARE * len(group) else None


# What a storyline's speech is when none of its words can name it, in that language.
SPEECH_LABELS = {None: "No speech", "en": "Speech in English", "ru": "Речь по-русски"}


def speech_label(group: Sequence[SceneNode], language: str | None) -> str:
    """ "No speech" for a silent storyline, else the language it speaks (its words garbled)."""
    if not any((n.features.get("text") or "").strip() for n in group):
        return SPEECH_LABELS[None]
    return SPEECH_LABELS.get(language) or f"Speech ({language or 'unknown language'})"


def storyline_name(
    order: int,
    people: list[str],
    words: list[str],
    phrases: Sequence[str] = (),
    place: str | None = None,
    speech: str = "",
) -> str:
    """E.g. "Anna: railway station", "Captain Harlow: fishing boat (harbour)", "Stars, home";
    with nothing said that can name it, ``speech`` ("No speech (street)")."""
    who = " & ".join(people[:2])
    # A phrase that only repeats who it is about ("Dashwood: John Dashwood") says nothing more.
    said = {w.lower() for p in people for w in p.split()}
    fresh = [p for p in phrases if not {w.lower() for w in p.split()} & said]
    what = fresh[0] if fresh else ", ".join(w for w in words[:2] if w.lower() not in said)
    if who and what:
        name = f"{who}: {what}"
    elif who or what:
        name = who or what[:1].upper() + what[1:]
    elif speech:
        name = speech
    else:
        return f"Storyline {order + 1}"
    return f"{name} ({place})" if place else name


def storyline_description(group: Sequence[SceneNode], people: list[str], words: list[str]) -> str:
    """E.g. "4 scenes, 31.5 s, 00:07-01:12, in 3 parts; characters: Anna; words: stars, home"."""
    if not group:
        return "No scenes yet."
    ordered = sorted(group, key=lambda n: n.index)
    total = sum(n.end_time - n.start_time for n in ordered)
    runs = 1 + sum(1 for a, b in itertools.pairwise(ordered) if b.index != a.index + 1)
    noun = "scene" if len(ordered) == 1 else "scenes"
    span = f"{format_clock(ordered[0].start_time)}\u2013{format_clock(ordered[-1].end_time)}"
    parts = [f"{len(ordered)} {noun}, {total:.1f} s, {span}"]
    if runs > 1:
        parts[0] += f", in {runs} parts"
    if people:
        parts.append(f"characters: {', '.join(people)}")
    if words:
        parts.append(f"words: {', '.join(words)}")
    return "; ".join(parts)


def plain_when_alike(names: list[str], labels: list[str], orders: list[int]) -> list[str]:
    """ "Storyline N" for all when every name is the same speech label ("No speech" for every
    storyline of a silent film): numbered copies of one label tell the storylines apart no
    better than their numbers and read as if something were known about them."""
    if len(set(names)) == 1 and names == labels:
        return [f"Storyline {order + 1}" for order in orders]
    return names


def unique_names(names: list[str]) -> list[str]:
    """Append the ordinal to names that would otherwise repeat."""
    repeated = {n for n, c in Counter(names).items() if c > 1}
    return [f"{n} ({i + 1})" if n in repeated else n for i, n in enumerate(names)]
