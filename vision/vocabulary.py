"""Editor words for what ImageNet classes show, and the tags a scene gets from them.

ImageNet names 1000 fine classes ("taxicab", "mountain bike", "sulphur-crested cockatoo") that a
small network confuses with each other all the time, while editors search for the everyday
word ("taxi", "bicycle", "bird"). Each editor word here gathers the classes it covers; a
scene's score for a word is the probability mass of those classes in the window of a frame
that shows it most (:func:`vision.mobilenet.run_windows`: square windows along the whole
frame, so a bicycle at its edge counts), averaged over the scene's frames. Pooling makes the
coarse word sure where the fine class is not ("car" from cab + minivan + station wagon), and
averaging over frames drops what one frame hallucinates.

Only words whose score clears their threshold are shown: a wrong tag costs an editor more than
a missing one. Thresholds were set, with the window scores, on hand-labelled frames of the
shared clips (``bench/vision_labels.json``, ``bench/vision_eval.py``).
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import numpy as np

MAX_TAGS = 5
DEFAULT_MIN_SCORE = 0.5
GREY_SATURATION = 12.0  # mean HSV saturation (0-255) below which a frame is black and white
LIT_VALUE = 40  # pixels darker than this carry no colour to judge
MIN_LIT_SHARE = 0.2  # a frame this much of which is dark says nothing about colour
# A keyframe word at this share of its threshold or more gets the scene's second frame looked
# at (:func:`open_words`; bench/RESULTS.md, section "vision-cost").
SECOND_LOOK_SHARE = 0.75
# A frame is classified in part windows too (``Word.small``) where some such word has at
# least this share of its threshold in a whole-height window: elsewhere they could not lift it.
PART_GATE_SHARE = 0.2


def _ids(*parts: int | range) -> frozenset[int]:
    ids: set[int] = set()
    for part in parts:
        ids.update(part if isinstance(part, range) else (part,))
    return frozenset(ids)


@dataclass(frozen=True)
class Word:
    """An editor word in English and Russian, and the ImageNet classes that show it."""

    en: str
    ru: str
    classes: frozenset[int]
    min_score: float = DEFAULT_MIN_SCORE
    coarse: bool = False  # a catch-all ("animal"): listed after the words it covers
    # Said of the whole frame, not of a thing in it: scored in the window where it shows
    # least, so that every part of the frame must show it (a surface filling the picture).
    whole: bool = False
    # Also scored in part windows (``vision.mobilenet.PART_CELLS``, 5/7 of the frame's height):
    # a thin object one sees through (a bicycle by a wall) fills little of a whole-height
    # window, and its classes come through only in a window tighter around it.
    small: bool = False
    # The share of its classes a fine window (``vision.mobilenet.FINE_CELLS``, 3/7 of the
    # frame's height) must hold to be as sure as ``min_score`` in a whole-height one (0: not
    # scored there). Small windows make more of anything, so each word's bar there is its own.
    fine: float = 0.0
    # Said of a person (a hat): shown only where the faces stage saw someone in the scene.
    worn: bool = False


CARS = _ids(407, 436, 468, 511, 609, 627, 656, 661, 717, 734, 751, 817, 573, 479, 581)
VANS_TRUCKS = _ids(675, 864, 867, 569, 555, 654, 757, 660)
BUSES = _ids(779, 874, 654)
BICYCLES = _ids(444, 671, 870)
MOTORBIKES = _ids(665, 670)
TRAINS = _ids(466, 547, 565, 705, 820, 829)
BOATS = _ids(472, 484, 510, 554, 576, 625, 628, 724, 780, 814, 833, 871, 914, 403)
AIRCRAFT = _ids(404, 895, 908, 405)
BIRDS = _ids(range(7, 25), range(80, 101), range(127, 147))
PARROTS = _ids(range(87, 91))  # African grey, macaw, cockatoo, lorikeet
# Hartebeest, impala, gazelle: ImageNet has no deer, and a deer is what these are taken for.
ANTELOPES = _ids(range(351, 354))
DOGS = _ids(range(151, 269))
CATS = _ids(range(281, 286))
HOOFED = _ids(range(339, 354), 603)  # horses, cattle, deer-like antelopes
FISH = _ids(range(0, 7), range(389, 398))
SCREENS = _ids(851, 664, 782, 527, 681, 620, 916, 590, 480, 487, 605, 508, 878, 673)
COMPUTERS = _ids(664, 782, 527, 681, 620, 916, 590, 508, 878, 673)
PHONES = _ids(487, 528, 707)
STREET_THINGS = _ids(920, 919, 704, 640, 637, 703, 733)
# Hats worn on the head: swimming cap, military hat (shako), poke bonnet, cowboy hat,
# mortarboard, Pickelhaube, sombrero. ImageNet has no bowler or trilby: in a fine window the
# network takes Chaplin's bowler for each of these in turn (cowboy hat on one frame, swimming
# cap on the next). Left out: the shower cap (a cat's head scores 0.94 as one), crash and
# football helmets (a bollard scores as a crash helmet in the same windows).
HATS = _ids(433, 439, 452, 515, 667, 715, 808)
# Surfaces, materials and patterns that can fill a frame: roofs, mesh, fabric, coils.
TEXTURES = _ids(
    109,  # brain coral
    434,  # bath towel
    488,  # chain
    489,  # chain-link fence
    490,  # chain mail
    506,  # spiral or coil
    533,  # dishcloth
    539,  # doormat
    581,  # radiator grille
    591,  # handkerchief
    599,  # honeycomb
    611,  # jigsaw puzzle
    640,  # manhole cover
    646,  # maze
    677,  # metal nail
    700,  # paper towel
    716,  # picket fence
    721,  # pillow
    741,  # prayer rug
    750,  # quilt
    753,  # radiator
    783,  # screw
    794,  # shower curtain
    797,  # sleeping bag
    807,  # solar thermal collector
    815,  # spider web
    825,  # stone wall
    828,  # strainer
    853,  # thatched roof
    858,  # tile roof
    885,  # velvet fabric
    904,  # window screen
    911,  # wool
    912,  # split-rail fence
    918,  # crossword
)
FOOD = _ids(range(923, 970))
LANDSCAPE = _ids(range(970, 981))
# Crustaceans, molluscs and insects: small textured animals that the network also "sees" in
# bark, stone and fabric, so they never make the coarse word "animal" on their own.
ANIMALS = _ids(range(0, 107), range(127, 398)) - _ids(range(300, 327))

WORDS: tuple[Word, ...] = (
    Word("car", "машина", CARS | VANS_TRUCKS),
    Word("taxi", "такси", _ids(468), 0.35),
    Word("bus", "автобус", BUSES),
    Word("truck", "грузовик", VANS_TRUCKS - BUSES),
    # The network is unsure of real street bicycles (a bollard or a fence in front) but
    # gives bicycle classes next to nothing anywhere else: a low threshold is still safe, in
    # part windows too (bench/RESULTS.md, section "vision-cost": at most 0.03 on the pieces
    # of the story videos and the labelled scenes that show none).
    # In fine windows a bicycle behind a fence or under its rider scores 0.5-0.99, and
    # frames without one at most 0.19 (bench/RESULTS.md, section "vision-search").
    Word("bicycle", "велосипед", BICYCLES, 0.15, small=True, fine=0.4),
    Word("motorcycle", "мотоцикл", MOTORBIKES),
    Word("train", "поезд", TRAINS),
    Word("boat", "лодка", BOATS),
    Word("airplane", "самолёт", AIRCRAFT),
    # Between the least sure bird (0.30) and the most bird-like leaf on a rock (0.22).
    Word("bird", "птица", BIRDS, 0.26),
    Word("parrot", "попугай", PARROTS, 0.3),
    # 118 dog classes pool a lot of mass from anything white and fluffy: the cockatoo of
    # story_dev_02 scored 0.54 as dogs in its best windows.
    Word("dog", "собака", DOGS, 0.7),
    Word("cat", "кошка", CATS),
    Word("deer", "олень", ANTELOPES, 0.5),
    # Window scores lift textures too (a leaf on a rock reads as crabs and lizards): only a
    # clear majority of animal classes makes the catch-all word.
    Word("animal", "животное", ANIMALS, 0.7, coarse=True),
    Word("fish", "рыба", FISH),
    Word("screen", "экран", SCREENS, 0.45),
    Word("computer", "компьютер", COMPUTERS, 0.5),
    Word("phone", "телефон", PHONES, 0.6),
    Word("street", "улица", CARS | VANS_TRUCKS | BUSES | STREET_THINGS | BICYCLES, coarse=True),
    Word("food", "еда", FOOD, 0.6),
    Word("landscape", "пейзаж", LANDSCAPE, 0.6),
    Word("flower", "цветок", _ids(985, 986), 0.6),
    # Every window of a close-up of a surface says some surface class; a thing in front of
    # a wall or a fence leaves windows that do not (bench/RESULTS.md, section "vision-cost").
    Word("texture", "текстура", TEXTURES, 0.5, whole=True),
    Word("mushroom", "гриб", _ids(947, range(991, 998)), 0.6),
    # A hat on a head is a few cells of the map: whole-height windows drown it, fine windows
    # find it (0.3-1.0 on most frames of the Chaplin street). The carphone clip's spiky hair
    # reaches 0.52-0.61 on one frame in ten, hence a bar the mean of two frames of it stays
    # under (bench/RESULTS.md, "vision-search"). A hat without a head (a lamp shade, a
    # cockatoo's crest) scores there too: the faces must agree.
    Word("hat", "шляпа", HATS, 0.5, fine=0.45, worn=True),
)
PERSON = ("person", "человек")
PEOPLE = ("people", "люди")
BLACK_AND_WHITE = ("black and white", "чёрно-белое")
RUSSIAN = {
    **{w.en: w.ru for w in WORDS},
    PERSON[0]: PERSON[1],
    PEOPLE[0]: PEOPLE[1],
    BLACK_AND_WHITE[0]: BLACK_AND_WHITE[1],
}


# CLIP's zero-shot prompts ("a photo of ...") and the editor words they stand for.
CLIP_WORDS: dict[str, tuple[str, str]] = {
    "a person": PERSON,
    "a crowd": ("crowd", "толпа"),
    "a face in close-up": ("face", "лицо"),
    "a man in a hat": ("hat", "шляпа"),
    "a child": ("child", "ребёнок"),
    "an animal": ("animal", "животное"),
    "a bird": ("bird", "птица"),
    "a dog": ("dog", "собака"),
    "a cat": ("cat", "кошка"),
    "a car": ("car", "машина"),
    "a taxi": ("taxi", "такси"),
    "a bicycle": ("bicycle", "велосипед"),
    "a motorcycle": ("motorcycle", "мотоцикл"),
    "a train": ("train", "поезд"),
    "an airplane": ("airplane", "самолёт"),
    "a boat": ("boat", "лодка"),
    "a city street": ("street", "улица"),
    "a building": ("building", "здание"),
    "a room": ("room", "комната"),
    "an office": ("office", "офис"),
    "a car interior": ("car interior", "салон машины"),
    "a kitchen": ("kitchen", "кухня"),
    "a forest": ("forest", "лес"),
    "mountains": ("mountains", "горы"),
    "the sea": ("sea", "море"),
    "a beach": ("beach", "пляж"),
    "snow": ("snow", "снег"),
    "night": ("night", "ночь"),
    "fire": ("fire", "огонь"),
    "food": ("food", "еда"),
    "a computer screen": ("screen", "экран"),
    "a phone": ("phone", "телефон"),
    "a usb flash drive": ("flash drive", "флешка"),
    "a document": ("document", "документ"),
    "a book": ("book", "книга"),
    "money": ("money", "деньги"),
    "a weapon": ("weapon", "оружие"),
    "a sign with text": ("sign", "вывеска"),
    "a leaf": ("leaf", "лист"),
    "a deer": ("deer", "олень"),
    "a black and white film": BLACK_AND_WHITE,
    "a cartoon": ("cartoon", "мультфильм"),
    "a sports game": ("sport", "спорт"),
}
RUSSIAN.update(dict(CLIP_WORDS.values()))


def clip_tags(ranked: list[tuple[str, float]], min_probability: float) -> list[dict[str, Any]]:
    """Editor-word tags from CLIP's ranked prompts (best first) at or above the probability."""
    return [
        tag(CLIP_WORDS[prompt][0], p, "clip")
        for prompt, p in ranked
        if p >= min_probability and prompt in CLIP_WORDS
    ]


def word_scores(
    frames: Sequence[Any],
    parts: Sequence[Any | None] | None = None,
    fine: Sequence[Any | None] | None = None,
) -> dict[str, float]:
    """Each word's score: per frame, its classes' pooled probability in the window that shows
    it most (least for a word of the whole frame) (a frame's class probabilities, or one row
    per window from :func:`vision.mobilenet.run_windows`), averaged over the frames. A small
    word (``Word.small``) takes the best of those and of the frame's part windows, where
    ``parts`` has them (one array or None per frame, :attr:`vision.mobilenet.FrameLook.parts`);
    a word with a ``Word.fine`` bar, the best of those and of its best fine window's mass
    (``fine``, :attr:`vision.mobilenet.FrameLook.fine`) put on its own scale (reaching
    ``Word.fine`` there scores ``Word.min_score``)."""
    import numpy as np

    if len(frames) == 0:
        return {}
    members, whole, small = _membership(), _whole(), _small()
    pooled = [
        np.asarray(frame, dtype=np.float64).reshape(-1, members.shape[0]) @ members
        for frame in frames
    ]
    best = [np.where(whole, words.min(axis=0), words.max(axis=0)) for words in pooled]
    for frame, part in zip(best, parts or [], strict=False):
        if part is not None:
            lifted = (np.asarray(part, dtype=np.float64) @ members).max(axis=0)
            frame[small] = np.maximum(frame[small], lifted[small])
    for frame, grid in zip(best, fine or [], strict=False):
        if grid is not None:
            lifted = (np.asarray(grid, dtype=np.float64) @ members).max(axis=0) * _fine_scale()
            np.maximum(frame, np.minimum(lifted, 1.0), out=frame)  # a score stays a share
    mean = np.mean(best, axis=0)
    return {w.en: float(score) for w, score in zip(WORDS, mean, strict=True)}


def wants_parts(windows: Any) -> bool:
    """Whether a frame (its whole-height windows' class probabilities) is worth classifying
    in part windows: some small word has ``PART_GATE_SHARE`` of its threshold in a window."""
    import numpy as np

    small = _small()
    if not small.any():
        return False
    pooled = (np.asarray(windows, dtype=np.float64) @ _membership()[:, small]).max(axis=0)
    floor = PART_GATE_SHARE * np.array([w.min_score for w in WORDS if w.small])
    return bool((pooled >= floor).any())


def open_words(scores: Mapping[str, float]) -> list[int]:
    """The words (indexes into ``WORDS``) a scene's second frame may still decide, judged on
    the keyframe's :func:`word_scores`: those that clear their threshold (the second frame
    confirms them or averages a one-frame hallucination away) or fall short of it by less than
    ``1 - SECOND_LOOK_SHARE`` (the second frame may lift them). A word further below would
    need the second frame far above its threshold, so the keyframe's verdict stands; so does
    that of a word at twice its threshold or more, which the mean of two frames keeps whatever
    the second one shows."""
    return [
        k
        for k, w in enumerate(WORDS)
        if SECOND_LOOK_SHARE * w.min_score <= scores.get(w.en, 0.0) < 2 * w.min_score
    ]


def peak_windows(windows: Any, words: list[int]) -> list[int]:
    """For each word (an index into ``WORDS``), the window (row of ``windows``, class
    probabilities) where its classes have the most mass."""
    import numpy as np

    pooled = np.asarray(windows, dtype=np.float64) @ _membership()[:, words]
    return [int(k) for k in pooled.argmax(axis=0)]


@functools.cache
def _whole() -> np.ndarray:
    """(words,): True for the words said of the whole frame."""
    import numpy as np

    return np.array([w.whole for w in WORDS])


@functools.cache
def _fine_scale() -> np.ndarray:
    """(words,): what a fine window's mass is multiplied by to be on the word's scale (0 for
    the words not scored in fine windows)."""
    import numpy as np

    return np.array([w.min_score / w.fine if w.fine else 0.0 for w in WORDS])


@functools.cache
def _small() -> np.ndarray:
    """(words,): True for the words also scored in part windows."""
    import numpy as np

    return np.array([w.small for w in WORDS])


@functools.cache
def _membership() -> np.ndarray:
    """(1000, words): 1 where a class belongs to a word."""
    import numpy as np

    members = np.zeros((1000, len(WORDS)))
    for k, word in enumerate(WORDS):
        members[list(word.classes), k] = 1.0
    return members


def tag(en: str, score: float, source: str) -> dict[str, Any]:
    return {
        "label": en,
        "label_ru": RUSSIAN.get(en, en),
        "score": round(score, 3),
        "source": source,
    }


def imagenet_tags(frames: Sequence[Any]) -> list[dict[str, Any]]:
    """The words a scene's frames show with enough certainty, surest first (catch-all words
    after the rest)."""
    return sure_words(word_scores(frames))


def sure_words(scores: Mapping[str, float], *, faces: int | None = None) -> list[dict[str, Any]]:
    """Tags for the words whose score (:func:`word_scores`) clears their threshold; words
    said of a person (``Word.worn``) only where ``faces`` says someone is there."""
    sure = [w for w in WORDS if scores.get(w.en, 0.0) >= w.min_score and (faces or not w.worn)]
    sure.sort(key=lambda w: (w.coarse, -scores[w.en]))
    return [tag(w.en, scores[w.en], "imagenet") for w in sure]


# Words read on screen that name the thing they are painted on: a roof sign reading TAXI is
# on a taxi (the network rarely knows a cab from another car: bench/RESULTS.md, "vision").
SIGN_WORDS: dict[str, str] = {"taxi": "taxi", "такси": "taxi"}


def sign_tags(text: str) -> list[dict[str, Any]]:
    """Tags for the sign words (``SIGN_WORDS``) among the words read on screen."""
    import re

    read = {word.casefold() for word in re.findall(r"\w+", text)}
    found = dict.fromkeys(SIGN_WORDS[w] for w in read if w in SIGN_WORDS)
    return [tag(en, 1.0, "text") for en in found]


def people_tags(faces: int | None) -> list[dict[str, Any]]:
    """The word "person" or "people" when the faces stage saw someone in the scene."""
    if not faces:
        return []
    en = PERSON[0] if faces == 1 else PEOPLE[0]
    return [tag(en, 1.0, "faces")]


def is_black_and_white(images: Iterable[np.ndarray]) -> bool:
    """Whether the frames (RGB) are practically colourless where they are not dark."""
    import cv2
    import numpy as np

    lit = []
    for image in images:
        hsv = cv2.cvtColor(image, cv2.COLOR_RGB2HSV)
        mask = hsv[..., 2] > LIT_VALUE  # black bars and night are colourless in any film
        if mask.mean() >= MIN_LIT_SHARE:
            lit.append(float(hsv[..., 1][mask].mean()))
    return bool(lit) and max(lit) < GREY_SATURATION and np.isfinite(max(lit))


def scene_tags(
    frames: Sequence[Any], *, faces: int | None = None, black_and_white: bool = False
) -> list[dict[str, Any]]:
    """The tags shown for a scene: who is there, what it shows, and whether it is in colour."""
    return tags_from_scores(word_scores(frames), faces=faces, black_and_white=black_and_white)


def tags_from_scores(
    scores: Mapping[str, float], *, faces: int | None = None, black_and_white: bool = False
) -> list[dict[str, Any]]:
    """:func:`scene_tags` from the scene's word scores (:func:`word_scores`)."""
    grey = [tag(BLACK_AND_WHITE[0], 1.0, "colour")] if black_and_white else []
    return merge_tags(people_tags(faces), sure_words(scores, faces=faces), grey)


def merge_tags(*groups: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Tags from several sources, each word once (the first source's), at most ``MAX_TAGS``."""
    seen: dict[str, dict[str, Any]] = {}
    for group in groups:
        for item in group:
            seen.setdefault(item["label"], item)
    return list(seen.values())[:MAX_TAGS]


def english(query: str) -> str:
    """The query with Russian editor words put into English ("птица" -> "bird"), for CLIP."""
    back = {ru.casefold(): en for en, ru in RUSSIAN.items()}
    whole = back.get(query.strip().casefold())
    if whole is not None:
        return whole
    return " ".join(back.get(word.casefold(), word) for word in query.split())
