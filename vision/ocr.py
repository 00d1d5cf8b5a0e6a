"""On-screen text: find the lines of text first, read only those with Tesseract, drop repeats.

Running Tesseract on whole frames costs about half a second each and reads texture as
letters; most frames hold no text. :mod:`vision.textregions` finds the lines of letters of
every frame of a scene cheaply, upright and standing on their side; the sharpest of the frames
that show the most text is read. Each line is cut out, scaled so that its letters are about
``LETTER_HEIGHT`` pixels tall (small print upscaled up to ``MAX_UPSCALE`` times), and put on
one sheet twice: as grey print made dark on light, and as its letters alone, drawn black on
white from the stable regions that make them (this reads outlined and translucent letters that
grey print hides). A line standing on its side goes on the sheet turned both ways. One
Tesseract run reads the sheets of several scenes (one page each); for each line the version
that reads most like language (:mod:`vision.wordcheck`) is kept, and lines that read as
gibberish in every version go.
Tesseract runs as the ``tesseract`` command (apt ``tesseract-ocr`` with ``-rus`` and ``-eng``).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from vision.textregions import FrameText, TextLine

if TYPE_CHECKING:
    import numpy as np

MIN_WORD_CONFIDENCE = 55.0
MIN_LINE_CONFIDENCE = 70.0
AGREEMENT = 75.0  # rapidfuzz ratio of two readings of a word that are the same word
REPEAT_SIMILARITY = 85.0  # rapidfuzz token-set ratio of two scenes' texts that are "the same"
TESSERACT_TIMEOUT = 60  # seconds per page
TESSERACT_OPTIONS = ("-c", "tessedit_do_invert=0", "tsv")
MAX_LINES = 8  # lines read per scene, those with the most letters first
NEAR_BEST = 0.7  # frames with this share of the most letters compete on sharpness
LETTER_HEIGHT = 36  # pixels: Tesseract reads letters of about this height best
MAX_UPSCALE = 4.0
PADDING = 0.3  # of a line's height, around its cut-out
GAP = 16  # white pixels between the pieces on the sheet
# Turns that make a line standing on its side upright: a phone filmed sideways, footage
# stored without its rotation. Text upside down on an upright frame is rare enough to skip.
SIDEWAYS = ("cw", "ccw")
MIN_LETTERS = 4  # a line of fewer is read only as part of its row
SIDEWAYS_MIN_LETTERS = 5


class OcrUnavailable(RuntimeError):
    """Tesseract or one of its languages is not installed."""


@dataclass(frozen=True)
class Line:
    text: str
    confidence: float
    box: tuple[int, int, int, int]  # x, y, width, height in keyframe pixels


@dataclass
class SceneText:
    scene_index: int
    lines: list[Line] = field(default_factory=list)
    continues: bool = False  # the same text as the scene before (recorded once, there)
    first_scene_index: int | None = None

    @property
    def text(self) -> str:
        return "\n".join(line.text for line in self.lines)


@dataclass(frozen=True)
class Piece:
    """One version of one line, as it goes on the sheet: ``line`` indexes the scene's lines."""

    line: int
    image: np.ndarray  # grey, dark print on a light ground


def check_tesseract(languages: str) -> None:
    """Raise ``OcrUnavailable`` unless the binary and every language in ``a+b`` exist."""
    if shutil.which("tesseract") is None:
        raise OcrUnavailable("tesseract is not installed (apt-get install tesseract-ocr)")
    listed = subprocess.run(
        ["tesseract", "--list-langs"], capture_output=True, text=True, check=False
    ).stdout.split()
    missing = [lang for lang in languages.split("+") if lang not in listed]
    if missing:
        raise OcrUnavailable(f"Tesseract lacks the languages {', '.join(missing)}")


@dataclass(frozen=True)
class Plan:
    """What to read of one scene: its chosen lines, the shape of the frame each was found
    on, and the pieces of those lines that go on the scene's sheet."""

    chosen: list[tuple[TextLine, tuple[int, ...]]]
    pieces: list[Piece]


def plan_scene(frames: list[np.ndarray]) -> Plan | None:
    """The lines of a scene's frames (BGR) worth reading, cut out; None when there are none."""
    from vision.textregions import find_lines

    found = [find_lines(frame) for frame in frames]
    picked = scene_lines(found)
    if not picked:
        return None
    pieces = [
        Piece(k, image)
        for k, (number, line) in enumerate(picked)
        for image in versions(frames[number], line)
    ]
    return Plan([(line, frames[number].shape) for number, line in picked], pieces)


def read_plans(plans: list[Plan], languages: str, workdir: Path) -> list[list[Line]]:
    """The text of each planned scene, top to bottom as it reads. One Tesseract run reads
    the sheets of all the plans, one page each: its start-up (loading both languages' models,
    about 0.2 CPU s) costs as much as reading a sheet, so it is paid once for many scenes."""
    if not plans:
        return []
    sheets = [stack(plan.pieces) for plan in plans]
    pages = run_tesseract_pages([sheet for sheet, _tops in sheets], languages, workdir)
    return [
        scene_reading(plan, page_words(rows, tops, len(plan.pieces)))
        for plan, (_sheet, tops), rows in zip(plans, sheets, pages, strict=True)
    ]


def scene_reading(plan: Plan, words: list[list[tuple[str, float, int]]]) -> list[Line]:
    """A scene's lines from the words read off its sheet's pieces: for each line its best
    version (or none), in reading order."""
    lines = []
    for k, (line, shape) in enumerate(plan.chosen):
        best = best_reading([words[i] for i, p in enumerate(plan.pieces) if p.line == k])
        if best is not None:
            text, confidence, version = best
            turn = SIDEWAYS[version // 2] if line.vertical else None
            lines.append((reading_order(line, turn, shape), Line(text, confidence, line.box)))
    return [line for _key, line in sorted(lines, key=lambda item: item[0])]


def read_scene(frames: list[np.ndarray], languages: str, workdir: Path) -> list[Line]:
    """The text of a scene from its frames (BGR), top to bottom as it reads; [] if none."""
    plan = plan_scene(frames)
    return read_plans([plan], languages, workdir)[0] if plan is not None else []


def read_text(image: np.ndarray, languages: str, workdir: Path) -> list[Line]:
    """The lines of text in one BGR image (an empty list when it shows none)."""
    return read_scene([image], languages, workdir)


def best_frame(found: list[FrameText], vertical: bool) -> int | None:
    """The sharpest of the frames showing nearly the most letters in that direction."""
    letters = [item.letters(vertical) for item in found]
    if not letters or max(letters) == 0:
        return None
    near = [k for k, count in enumerate(letters) if count >= NEAR_BEST * max(letters)]
    return max(near, key=lambda k: found[k].sharpness)


def scene_lines(found: list[FrameText]) -> list[tuple[int, TextLine]]:
    """(frame, line) to read: the lines of the best frame for upright text and of the best
    for text on its side, at most ``MAX_LINES``, those with the most letters first. A line on
    its side needs ``SIDEWAYS_MIN_LETTERS``, an upright one ``MIN_LETTERS``: short chains of
    blobs are mostly foliage, bars and railings, each costing pieces on the sheet."""
    picked = []
    for vertical in (False, True):
        number = best_frame(found, vertical)
        if number is not None:
            lines = [ln for ln in found[number].lines if ln.vertical == vertical]
            least = SIDEWAYS_MIN_LETTERS if vertical else MIN_LETTERS
            picked += [(number, ln) for ln in merge_rows(lines) if ln.letters >= least]
    picked.sort(key=lambda item: -item[1].letters)
    return picked[:MAX_LINES]


def merge_rows(lines: list[TextLine]) -> list[TextLine]:
    """Lines of one frame and direction that continue each other (words of one row found as
    separate chains) joined into one, so that Tesseract reads the row whole."""
    merged: list[TextLine] = []
    for line in sorted(lines, key=lambda ln: _along(ln)[0]):
        start, _end, middle, size = _along(line)
        for k, other in enumerate(merged):
            _start, o_end, o_middle, o_size = _along(other)
            alike = max(size, o_size) <= 1.5 * min(size, o_size)
            if alike and abs(middle - o_middle) < 0.5 * size and start - o_end < 3 * size:
                merged[k] = _joined(other, line)
                break
        else:
            merged.append(line)
    return merged


def _along(line: TextLine) -> tuple[float, float, float, float]:
    """(start, end) along the line's direction, its middle across it, and its height."""
    x, y, w, h = line.box
    if line.vertical:
        return y, y + h, x + w / 2, w
    return x, x + w, y + h / 2, h


def _joined(a: TextLine, b: TextLine) -> TextLine:
    x0, y0 = min(a.box[0], b.box[0]), min(a.box[1], b.box[1])
    x1 = max(a.box[0] + a.box[2], b.box[0] + b.box[2])
    y1 = max(a.box[1] + a.box[3], b.box[1] + b.box[3])
    return TextLine((x0, y0, x1 - x0, y1 - y0), a.letters + b.letters, a.vertical)


def reading_order(line: TextLine, turn: str | None, shape: tuple[int, ...]) -> tuple[int, ...]:
    """Sort key of a line: upright lines first, top to bottom; then lines on their side, top
    to bottom as they stand once turned the way they read."""
    x, y, w, h = line.box
    if turn is None:
        return (0, y, x)
    if turn == "cw":  # (x, y) turns to (height - y, x)
        return (1, x, shape[0] - y - h)
    return (1, shape[1] - x - w, y)  # ccw: (x, y) turns to (y, width - x)


@dataclass(frozen=True)
class Cut:
    """A line cut out of a frame with a margin, scaled to reading size, not yet turned."""

    image: np.ndarray  # grey
    across: tuple[float, float]  # where its letters lie across the line, in its pixels
    vertical: bool

    @property
    def letter(self) -> float:
        return self.across[1] - self.across[0]


def versions(frame: np.ndarray, line: TextLine) -> list[np.ndarray]:
    """The line cut out of the frame at reading size, as grey print and as its letters
    alone, dark on light, each turned upright (both ways for a line on its side)."""
    import cv2

    grey = cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY) if frame.ndim == 3 else frame
    cut = cut_out(grey, line)
    letters, light = letters_alone(cut)
    print_ = stretched(cut.image)
    images = [cv2.bitwise_not(print_) if light else print_, letters]
    if not line.vertical:
        return images
    codes = {"cw": cv2.ROTATE_90_CLOCKWISE, "ccw": cv2.ROTATE_90_COUNTERCLOCKWISE}
    return [cv2.rotate(image, codes[turn]) for turn in SIDEWAYS for image in images]


def stretched(grey: np.ndarray) -> np.ndarray:
    """The grey cut with its contrast stretched (dim footage, translucent letters)."""
    import numpy as np

    low, high = np.percentile(grey, (2, 98))
    if high - low < 1:
        return grey
    scaled = (grey.astype(np.float32) - low) * (255.0 / (high - low))
    return np.clip(scaled, 0, 255).astype(np.uint8)


def cut_out(grey: np.ndarray, line: TextLine) -> Cut:
    """The line with a margin, scaled so that its letters are about ``LETTER_HEIGHT`` tall
    (small print is upscaled at most ``MAX_UPSCALE`` times)."""
    import cv2

    x, y, w, h = line.box
    size = w if line.vertical else h
    pad = round(PADDING * size)
    x0, y0 = max(0, x - pad), max(0, y - pad)
    cut = grey[y0 : y + h + pad, x0 : x + w + pad]
    scale = min(MAX_UPSCALE, LETTER_HEIGHT / max(1, size))
    method = cv2.INTER_CUBIC if scale > 1 else cv2.INTER_AREA
    image = cv2.resize(cut, None, fx=scale, fy=scale, interpolation=method)
    start = (x - x0) if line.vertical else (y - y0)
    return Cut(image, (start * scale, (start + size) * scale), line.vertical)


def letters_alone(cut: Cut) -> tuple[np.ndarray, bool]:
    """The letters of a cut-out line drawn black on white, and whether they are light on a
    dark ground: its letter-sized stable regions inside the line, of the commoner polarity
    (the holes in letters are of the other one and stay white), and the dots and accents
    beside them. Outlines, shadows and the ground behind translucent letters drop out."""
    import cv2
    import numpy as np

    image, size = cut.image, cut.letter
    mser = cv2.MSER.create(delta=4, min_area=max(8, int(size) // 3), max_area=int(3 * size**2))
    regions, boxes = mser.detectRegions(image)
    found = [(np.asarray(points), box) for points, box in zip(regions, boxes, strict=True)]
    kept = [item for item in found if _letterlike(item[0], item[1], cut)]
    big = [(p, b, _is_light(image, p, b)) for p, b in kept if _across(b, cut)[1] >= 0.35 * size]
    light = 2 * sum(is_light for _p, _b, is_light in big) > len(big)
    mask = np.zeros(image.shape, np.uint8)
    for points, _box, is_light in big:
        if is_light == light:
            mask[points[:, 1], points[:, 0]] = 255
    for points, (x, y, w, h) in kept:  # a dot, an accent, a stop: where no letter is
        small = _across((x, y, w, h), cut)[1] < 0.35 * size
        alone = not mask[y : y + h, x : x + w].any()
        if small and alone and _is_light(image, points, (x, y, w, h)) == light:
            mask[points[:, 1], points[:, 0]] = 255
    return cv2.bitwise_not(mask), light


def _across(box: Any, cut: Cut) -> tuple[int, int, int]:
    """(start, extent) of a box across the line, and its extent along it."""
    x, y, w, h = box
    return (x, w, h) if cut.vertical else (y, h, w)


def _letterlike(points: np.ndarray, box: Any, cut: Cut) -> bool:
    """Inside the line across it, no wider than a wide letter, and not a solid blotch."""
    start, tall, wide = _across(box, cut)
    low, high = cut.across[0] - 0.15 * cut.letter, cut.across[1] + 0.15 * cut.letter
    solid = len(points) / (box[2] * box[3]) > 0.85 and wide > 0.6 * cut.letter
    return low <= start and start + tall <= high and wide <= 1.6 * cut.letter and not solid


def _is_light(image: np.ndarray, points: np.ndarray, box: Any) -> bool:
    """Whether a region is lighter than the rest of its box."""
    x, y, w, h = box
    return bool(image[points[:, 1], points[:, 0]].mean() > image[y : y + h, x : x + w].mean())


def page_words(
    rows: list[list[str]], tops: list[int], count: int
) -> list[list[tuple[str, float, int]]]:
    """Tesseract's words of one sheet (its TSV rows) as (text, confidence, left) per piece,
    each word given to the piece it stands on (``tops``: the pieces' tops on the sheet)."""
    words: list[list[tuple[str, float, int]]] = [[] for _piece in range(count)]
    for cols in rows:
        if len(cols) < 12 or cols[0] != "5" or not cols[11].strip():
            continue
        middle = int(cols[7]) + int(cols[9]) / 2
        k = next((k for k, top in reversed(list(enumerate(tops))) if top <= middle), 0)
        words[k].append((cols[11].strip(), float(cols[10]), int(cols[6])))
    return words


def stack(pieces: list[Piece]) -> tuple[np.ndarray, list[int]]:
    """The pieces on one white sheet, one under the other; and each piece's top."""
    import numpy as np

    width = max(p.image.shape[1] for p in pieces) + 2 * GAP
    height = sum(p.image.shape[0] for p in pieces) + GAP * (len(pieces) + 1)
    sheet = np.full((height, width), 255, dtype=np.uint8)
    tops, top = [], GAP
    for piece in pieces:
        h, w = piece.image.shape[:2]
        sheet[top : top + h, GAP : GAP + w] = piece.image
        tops.append(top)
        top += h + GAP
    return sheet, tops


@dataclass(frozen=True)
class Reading:
    """What one version of a line reads as: its words worth showing, and how sure."""

    words: list[str]
    confidence: float
    read: list[str]  # every word Tesseract saw in it, sure or not

    @property
    def letters(self) -> int:
        return sum(ch.isalnum() for word in self.words for ch in word)


def reading(words: list[tuple[str, float, int]]) -> Reading:
    """One version's words (text, confidence, left) as a :class:`Reading`."""
    from vision.wordcheck import real_words

    ordered = sorted(words, key=lambda w: w[2])
    pairs = [(t, c) for t, c, _left in ordered if c >= MIN_WORD_CONFIDENCE and _plausible(t)]
    if not pairs:
        return Reading([], 0.0, [t for t, _c, _left in ordered])
    confidence = sum(c for _t, c in pairs) / len(pairs)
    return Reading(real_words(pairs), confidence, [t for t, _c, _left in ordered])


def agrees(word: str, others: list[str]) -> bool:
    """Whether another version read the same word (give or take a letter)."""
    from rapidfuzz import fuzz

    def bare(text: str) -> str:
        return "".join(ch for ch in text.casefold() if ch.isalnum())

    return len(bare(word)) >= 2 and any(
        fuzz.ratio(bare(word), bare(other)) >= AGREEMENT for other in others
    )


def best_reading(readings: list[list[tuple[str, float, int]]]) -> tuple[str, float, int] | None:
    """(text, confidence, which) of the version of a line that reads most like language;
    None when every version reads as gibberish (:func:`vision.wordcheck.real_words`), or
    when the best is a lone word that no other version of the line read too: texture read
    as letters gives a different word in each version, print gives the same."""
    found = [reading(words) for words in readings]
    usable = [
        (r.letters, r.confidence, k)
        for k, r in enumerate(found)
        if r.confidence >= MIN_LINE_CONFIDENCE and r.letters >= 3
    ]
    if not usable:
        return None
    _letters, confidence, which = max(usable)
    best = found[which]
    others = [word for k, r in enumerate(found) if k != which for word in r.read]
    confirmed = any(agrees(word, others) for word in best.words)
    if not confirmed and len(best.words) < 2:
        return None
    return " ".join(best.words), round(confidence, 1), which


def run_tesseract_pages(
    images: list[np.ndarray], languages: str, workdir: Path
) -> list[list[list[str]]]:
    """Tesseract's TSV rows (split into columns) for each grey or BGR image, all read in one
    run as the pages of one document, each as one block of lines (one thread: several runs
    go side by side). The pieces are dark on light already: Tesseract's second try of every
    unsure line inverted would only cost time."""
    import cv2

    workdir.mkdir(parents=True, exist_ok=True)
    folder = Path(tempfile.mkdtemp(dir=workdir))
    try:
        paths = [folder / f"page{number:04d}.png" for number in range(len(images))]
        for path, image in zip(paths, images, strict=True):
            cv2.imwrite(str(path), image)
        listing = folder / "pages.txt"
        listing.write_text("".join(f"{path}\n" for path in paths))
        env = {**os.environ, "OMP_THREAD_LIMIT": "1"}
        done = subprocess.run(
            [
                "tesseract",
                str(listing),
                "stdout",
                "-l",
                languages,
                "--psm",
                "6",
                *TESSERACT_OPTIONS,
            ],
            capture_output=True,
            text=True,
            env=env,
            timeout=TESSERACT_TIMEOUT * len(images),
            check=False,
        )
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    if done.returncode != 0:
        raise OcrUnavailable(f"tesseract failed: {done.stderr.strip()[:300]}")
    pages: list[list[list[str]]] = [[] for _image in images]
    for row in done.stdout.splitlines()[1:]:
        cols = row.split("\t")
        if len(cols) >= 2 and cols[1].isdigit() and 1 <= int(cols[1]) <= len(images):
            pages[int(cols[1]) - 1].append(cols)  # the TSV's page numbers count from 1
    return pages


def _plausible(word: str) -> bool:
    alnum = sum(ch.isalnum() for ch in word)
    return alnum >= 1 and alnum / len(word) >= 0.5


def normalise(text: str) -> str:
    return " ".join(re.findall(r"\w+", text.casefold()))


def mark_repeats(texts: list[SceneText]) -> list[SceneText]:
    """Flag scenes whose text repeats the previous scene's (titles held across cuts)."""
    from rapidfuzz import fuzz

    previous: SceneText | None = None
    for item in sorted(texts, key=lambda t: t.scene_index):
        current = normalise(item.text)
        before = normalise(previous.text) if previous else ""
        if current and before and fuzz.token_set_ratio(current, before) >= REPEAT_SIMILARITY:
            item.continues = True
            assert previous is not None
            item.first_scene_index = previous.first_scene_index
        elif current:
            item.first_scene_index = item.scene_index
        previous = item
    return texts
