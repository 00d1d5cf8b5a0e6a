"""On-screen text: find the lines of text first, read only those with Tesseract, drop repeats.

Running Tesseract on whole frames costs about half a second each and reads texture as
letters; most frames hold no text. :mod:`vision.textregions` finds the lines of letters of
every frame of a scene cheaply, upright and standing on their side. The lines of all the
frames are grouped into the lines of the scene (the same place, the same letter size: a title
held, a sign the camera passes), and each is read on the frames where it shows the most
letters, most sharply (``READS_PER_LINE``): a sign on screen for half a second is read where it
is, whichever frame is sharpest overall. Each line is cut out, scaled so that its letters are
about ``LETTER_HEIGHT`` pixels tall (small print upscaled up to ``MAX_UPSCALE`` times), set
upright (turned for a line on its side, sheared for letters leaning from the camera's pan or
perspective) and put on one sheet twice: as grey print made dark on light, and as its letters
alone, drawn black on white from the stable regions that make them (this reads outlined and
translucent letters that grey print hides). One Tesseract run reads the sheets of several
scenes (one page each); for each line the version that reads most like language
(:mod:`vision.wordcheck`) is kept, its words put right where the other versions agree on a
better spelling, and lines that read as gibberish in every version go.
Tesseract runs as the ``tesseract`` command (apt ``tesseract-ocr`` with ``-rus`` and ``-eng``).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass, field
from itertools import pairwise
from pathlib import Path
from typing import TYPE_CHECKING, Any

from vision.textregions import FrameText, TextLine, sharpness

if TYPE_CHECKING:
    import numpy as np

MIN_WORD_CONFIDENCE = 55.0
MIN_LINE_CONFIDENCE = 70.0
VOTED_MIN_CONFIDENCE = 65.0  # a line of dictionary words another version read too
LONE_WORD_CONFIDENCE = 80.0  # a lone dictionary word read one way only needs this
LONE_WORD_LETTERS = 4
NAME_VOTE_CONFIDENCE = 70.0  # an unknown word two versions read letter for letter
AGREED_MIN_CONFIDENCE = 30.0  # a dictionary word two versions of a line read alike
AGREEMENT = 75.0  # rapidfuzz ratio of two readings of a word that are the same word
REPEAT_SIMILARITY = 85.0  # rapidfuzz token-set ratio of two scenes' texts that are "the same"
TESSERACT_TIMEOUT = 60  # seconds per page
TESSERACT_OPTIONS = ("-c", "tessedit_do_invert=0", "tsv")
MAX_LINES = 8  # lines read per scene, those with the most letters first
MAX_SIDEWAYS_LINES = 3  # of them on their side (each is read turned both ways)
READS_PER_LINE = 2  # frames a line is read on (voted), the most letters first
MAX_READS = 10  # frames' cut-outs read per scene in all: the first of each line first
SAME_LINE_OVERLAP = 0.4  # share of the smaller box two frames' lines share to be one line
LETTER_HEIGHT = 36  # pixels: Tesseract reads letters of about this height best
MAX_UPSCALE = 4.0
PADDING = 0.3  # of a line's height, around its cut-out
GAP = 16  # white pixels between the pieces on the sheet
SHORT_LINE = 5  # letters of a line cut out wider
SHORT_PADDING = 1.2  # of a short line's height, along it at each end
# Turns that make a line standing on its side upright: a phone filmed sideways, footage
# stored without its rotation. Text upside down on an upright frame is rare enough to skip.
MIN_LETTERS = 4  # a line of fewer is read only as part of its row
COUNTER_SLACK = 0.1  # of the letter height: a counter's box may stick out of its letter's
MIN_COUNTER = 0.2  # of the letter height: a counter at least this tall
FLOAT_SHARE = 0.3  # of the letter height: a region's bottom this far above the baseline
BASELINE_LETTERS = 8  # a line's baseline is judged from this many letters or more
BLOT_REACH = 0.15  # of the letter height: a blot over a letter reaches past its side so far
EDGE_MARGIN = 0.006  # of the frame's side: a line's box this near an edge runs into it
SIDEWAYS_MIN_LETTERS = 5
EVEN_MIN_LETTERS = 3
# Letters leaning (a camera panning with a rolling shutter, a sign seen at an angle) read as
# other letters: shears tried to set them upright, kept when they stand clearly straighter.
SHEARS = tuple(k / 10 for k in range(-6, 7))
MIN_SHEAR_GAIN = 1.05
LATIN_MODEL = "eng"
# Cyrillic capitals drawn as Latin ones: a Latin word in them may be read in either script.
LOOKALIKES = "АВЕКМНОРСТХ"  # noqa: RUF001
LATIN_TWINS = str.maketrans(LOOKALIKES + LOOKALIKES.lower(), "ABEKMHOPCTX" + "abekmhopctx")


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
    turn: str | None = None  # how a line on its side was turned upright ("cw", "ccw")


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
    """What to read of one scene: its lines (each as found on the frame it is read on
    first, with that frame's shape), and the pieces of those lines that go on its sheet."""

    chosen: list[tuple[TextLine, tuple[int, ...]]]
    pieces: list[Piece]


def plan_scene(frames: list[np.ndarray]) -> Plan | None:
    """The lines of a scene's frames (BGR) worth reading, cut out; None when there are none."""
    from vision.textregions import find_lines

    found = [find_lines(frame) for frame in frames]
    picked = scene_lines(found, frames)
    if not picked:
        return None
    pieces = [
        Piece(k, image, turn)
        for k, reads in enumerate(picked)
        for n, (number, line) in enumerate(reads)
        for image, turn in versions(frames[number], line, whole=n == 0)
    ]
    chosen = [(reads[0][1], frames[reads[0][0]].shape) for reads in picked]
    return Plan(chosen, pieces)


def read_plans(plans: list[Plan], languages: str, workdir: Path) -> list[list[Line]]:
    """The text of each planned scene, top to bottom as it reads. One Tesseract run reads
    the sheets of all the plans, one page each: its start-up (loading both languages' models,
    about 0.2 CPU s) costs as much as reading a sheet, so it is paid once for many scenes.
    Lines read as Cyrillic look-alikes of Latin capitals are read again in Latin alone
    (:func:`latin_again`), a second run only when there are such lines."""
    if not plans:
        return []
    sheets = [stack(plan.pieces) for plan in plans]
    pages = run_tesseract_pages([sheet for sheet, _tops in sheets], languages, workdir)
    words = [
        page_words(rows, tops, len(plan.pieces))
        for plan, (_sheet, tops), rows in zip(plans, sheets, pages, strict=True)
    ]
    if LATIN_MODEL in languages.split("+") and languages != LATIN_MODEL:
        plans, words = latin_again(plans, words, sheets, workdir)
    return [scene_reading(plan, read) for plan, read in zip(plans, words, strict=True)]


Words = list[list[tuple[str, float, int]]]  # per piece of a plan: (text, confidence, left)


def latin_again(
    plans: list[Plan],
    words: list[Words],
    sheets: list[tuple[np.ndarray, list[int]]],
    workdir: Path,
) -> tuple[list[Plan], list[Words]]:
    """Read again, with the Latin model alone, the sheets of the scenes where a line reads
    as capitals that look the same in both scripts (a roof sign's TAXI read as "TAX!" in
    Cyrillic look-alikes: with both models loaded Tesseract often takes a short Latin word
    in capitals for its Cyrillic twin). The plans and their words, with those lines' Latin
    readings added as more versions of them, so that the dictionary check chooses between
    the scripts: a real Russian word in those capitals (MOSKVA in look-alikes) reads as
    gibberish in Latin. The whole sheet is read again, not the line's pieces alone:
    Tesseract reads a piece differently on a sheet of another width (TAXI as "TAX!")."""
    again = [(k, lookalike_lines(plan, words[k])) for k, plan in enumerate(plans)]
    again = [(k, lines) for k, lines in again if lines]
    if not again:
        return plans, words
    pages = run_tesseract_pages([sheets[k][0] for k, _lines in again], LATIN_MODEL, workdir)
    plans, words = list(plans), list(words)
    for (k, lines), rows in zip(again, pages, strict=True):
        latin = page_words(rows, sheets[k][1], len(plans[k].pieces))
        keep = [i for i, piece in enumerate(plans[k].pieces) if piece.line in lines]
        plans[k] = Plan(plans[k].chosen, plans[k].pieces + [plans[k].pieces[i] for i in keep])
        words[k] = words[k] + [latin[i] for i in keep]
    return plans, words


def lookalike_lines(plan: Plan, words: Words) -> set[int]:
    """The lines of a plan that one of their versions reads, surely enough to count, as a
    word (of 3+ letters) of Cyrillic capitals that all have a Latin look-alike."""
    return {
        piece.line
        for piece, read in zip(plan.pieces, words, strict=True)
        if any(_lookalike(t) for t, confidence, _left in read if confidence >= MIN_WORD_CONFIDENCE)
    }


def _lookalike(text: str) -> bool:
    letters = [ch for ch in text if ch.isalpha()]
    return len(letters) >= 3 and all(ch in LOOKALIKES for ch in letters)


def scene_reading(plan: Plan, words: list[list[tuple[str, float, int]]]) -> list[Line]:
    """A scene's lines from the words read off its sheet's pieces: for each line its best
    version (or none), in reading order."""
    lines = []
    for k, (line, shape) in enumerate(plan.chosen):
        mine = [i for i, piece in enumerate(plan.pieces) if piece.line == k]
        best = best_reading([words[i] for i in mine])
        if best is not None:
            text, confidence, version = best
            turn = plan.pieces[mine[version]].turn
            lines.append((reading_order(line, turn, shape), Line(text, confidence, line.box)))
    return [line for _key, line in sorted(lines, key=lambda item: item[0])]


def read_scene(frames: list[np.ndarray], languages: str, workdir: Path) -> list[Line]:
    """The text of a scene from its frames (BGR), top to bottom as it reads; [] if none."""
    plan = plan_scene(frames)
    return read_plans([plan], languages, workdir)[0] if plan is not None else []


def read_text(image: np.ndarray, languages: str, workdir: Path) -> list[Line]:
    """The lines of text in one BGR image (an empty list when it shows none)."""
    return read_scene([image], languages, workdir)


Read = tuple[int, TextLine]  # a line as found on one frame: (frame, line)


def scene_lines(found: list[FrameText], frames: list[np.ndarray]) -> list[list[Read]]:
    """The scene's lines to read, each as the frames to read it on (best first).

    The lines of every frame (rows joined; short chains of blobs are mostly foliage, bars
    and railings: :func:`enough_letters`; lines whose letters the frame's edge cuts across
    are not read there: :func:`cut_across`) are grouped across frames (:func:`same_line`); at
    most ``MAX_LINES`` are kept, those with the most letters first, at most
    ``MAX_SIDEWAYS_LINES`` of them on their side. Each is read on up to ``READS_PER_LINE``
    frames, ``MAX_READS`` in all: those where it shows the most letters and, among equals,
    is sharpest (the line itself, not the frame: bokeh or a sharp background says nothing
    of a sign blurred by the pan).
    """
    rows = [
        (number, line)
        for number, item in enumerate(found)
        for vertical in (False, True)
        for line in merge_rows([ln for ln in item.lines if ln.vertical == vertical])
        if enough_letters(line)
    ]
    turned = turned_frames(rows)
    reads = [
        (number, line)
        for number, line in rows
        if (turned or not line.vertical) and not cut_across(line, frames[number].shape)
    ]
    sharp = {id(line): line_sharpness(frames[number], line) for number, line in reads}
    reads.sort(key=lambda r: (-r[1].letters, -sharp[id(r[1])]))
    groups: list[list[Read]] = []
    for number, line in reads:
        group = next((g for g in groups if same_line(g[0][1], line)), None)
        if group is None:
            groups.append([(number, line)])
        elif all(other != number for other, _line in group):  # one read a frame
            group.append((number, line))
    sideways = [g for g in groups if g[0][1].vertical][:MAX_SIDEWAYS_LINES]
    groups = [g for g in groups if not g[0][1].vertical or g in sideways][:MAX_LINES]
    budget = MAX_READS - len(groups)
    picked = []
    for group in groups:
        extra = min(READS_PER_LINE - 1, len(group) - 1, max(0, budget))
        budget -= extra
        picked.append(group[: 1 + extra])
    return picked


def turned_frames(reads: list[Read]) -> bool:
    """Whether a frame of the scene stands on its side: more of its letters (in lines worth
    reading) run top to bottom than across. Text on its side comes from a frame turned as a
    whole (a phone filmed sideways, footage stored without its rotation), where most lines
    stand so; on an upright frame, chains of letter-like blobs running top to bottom are
    railings, foliage and fences, and each costs two readings (turned both ways)."""
    letters: dict[tuple[int, bool], int] = {}
    for number, line in reads:
        key = (number, line.vertical)
        letters[key] = letters.get(key, 0) + line.letters
    frames = {number for number, _line in reads}
    return any(letters.get((n, True), 0) > letters.get((n, False), 0) for n in frames)


def cut_across(line: TextLine, shape: tuple[int, ...]) -> bool:
    """Whether the frame's edge cuts a line's letters across (an upright line running into
    the top or the bottom edge, a line on its side into the left or the right): only parts
    of its letters show, and Tesseract reads parts of letters as other letters and words
    ("Pat" for the tops of a screen's tab labels). Cut along it (a sign at the left edge),
    a line loses a letter at most and is read."""
    x, y, w, h = line.box
    start, size, side = (x, w, shape[1]) if line.vertical else (y, h, shape[0])
    margin = EDGE_MARGIN * side
    return start <= margin or start + size >= side - margin


def enough_letters(line: TextLine) -> bool:
    """Whether a line has letters enough to be read: ``SIDEWAYS_MIN_LETTERS`` on its side,
    ``MIN_LETTERS`` upright, or ``EVEN_MIN_LETTERS`` upright whose letters stand evenly on
    one line (a short sign: TAXI with its T lost in the sign's rim)."""
    if line.vertical:
        return line.letters >= SIDEWAYS_MIN_LETTERS
    return line.letters >= (EVEN_MIN_LETTERS if line.even else MIN_LETTERS)


def same_line(a: TextLine, b: TextLine) -> bool:
    """Whether two frames' lines are one line of the scene: the same direction, letters of
    about one size, and their boxes sharing ``SAME_LINE_OVERLAP`` of the smaller."""
    size_a, size_b = _along(a)[3], _along(b)[3]
    if a.vertical != b.vertical or max(size_a, size_b) > 1.5 * min(size_a, size_b):
        return False
    (ax, ay, aw, ah), (bx, by, bw, bh) = a.box, b.box
    wide = max(0, min(ax + aw, bx + bw) - max(ax, bx))
    tall = max(0, min(ay + ah, by + bh) - max(ay, by))
    return wide * tall >= SAME_LINE_OVERLAP * min(aw * ah, bw * bh)


def line_sharpness(frame: np.ndarray, line: TextLine) -> float:
    """How sharp a line is on a frame: the variance of the Laplacian inside its box."""
    import cv2

    x, y, w, h = line.box
    cut = frame[y : y + h, x : x + w]
    if cut.size == 0:
        return 0.0
    return sharpness(cv2.cvtColor(cut, cv2.COLOR_BGR2GRAY) if cut.ndim == 3 else cut)


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
    box = (x0, y0, x1 - x0, y1 - y0)
    return TextLine(box, a.letters + b.letters, a.vertical, faint=a.faint and b.faint)


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
    count: int = 0  # letters the search found in the line

    @property
    def letter(self) -> float:
        return self.across[1] - self.across[0]


def versions(
    frame: np.ndarray, line: TextLine, *, whole: bool = True
) -> list[tuple[np.ndarray, str | None]]:
    """The line cut out of the frame at reading size, as grey print and as its letters
    alone, dark on light, each set upright (turned both ways for a line on its side, then
    sheared if its letters lean); with how it was turned. ``whole``: every version, else
    (the line read again on another frame, to vote) its letters alone, which read best."""
    import cv2

    grey = cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY) if frame.ndim == 3 else frame
    cut = cut_out(grey, line)
    if line.faint:
        # Faint letters are not stable regions at the cut's own contrast either: they are
        # found on it stretched to the range of their band.
        cut = Cut(stretched(cut), cut.across, cut.vertical, cut.count)
    letters, light = letters_alone(cut)
    print_ = stretched(cut)
    print_ = cv2.bitwise_not(print_) if light else print_
    images = [print_, letters]
    if line.faint:
        # Faint letters' regions have ragged outlines; Tesseract reads such blurred capitals
        # as other letters (TAXI as "TARA") more often than the same letters smoothed, and
        # reads them differently each way: both go, to be voted on (:func:`agreed_word`).
        images.insert(1, cv2.GaussianBlur(letters, (3, 3), 0))
    first = 0 if whole else -1
    if not line.vertical:
        return [(image, None) for image in straightened(images)[first:]]
    # Turned clockwise, set straight there; the other way is that turned over (the same
    # shear still stands its strokes upright).
    turned = straightened([cv2.rotate(image, cv2.ROTATE_90_CLOCKWISE) for image in images])
    over = [cv2.rotate(image, cv2.ROTATE_180) for image in turned[first:]]
    return [*((image, "cw") for image in turned[first:]), *((image, "ccw") for image in over)]


def straightened(images: list[np.ndarray]) -> list[np.ndarray]:
    """The grey print and the letters alone of an upright line, sheared by the slant that
    stands the letters' strokes most upright (:func:`slant`), the same for both."""
    shear = slant(images[-1])
    return images if shear == 0 else [sheared(image, shear) for image in images]


def slant(letters: np.ndarray) -> float:
    """The shear (x moved by shear * y) that makes the letters' (black on white) strokes
    most upright: upright strokes pile their ink into few columns, so the sum of the squared
    column counts peaks there. 0 unless it beats no shear by ``MIN_SHEAR_GAIN``."""
    import numpy as np

    ys, xs = np.nonzero(letters < 128)
    if len(xs) == 0:
        return 0.0
    scores = {}
    for shear in SHEARS:
        # Floored, not rounded: rounding half-way values to even piles a half shear's ink
        # into every other column and makes it look upright.
        columns = np.floor(xs + shear * ys).astype(np.int64)
        scores[shear] = float((np.bincount(columns - columns.min()).astype(np.float64) ** 2).sum())
    best = max(scores, key=lambda k: scores[k])
    return best if scores[best] >= MIN_SHEAR_GAIN * scores[0.0] else 0.0


def sheared(image: np.ndarray, shear: float) -> np.ndarray:
    """The image sheared (x moved by shear * y), widened to keep all of it, white around."""
    import cv2
    import numpy as np

    height, width = image.shape[:2]
    room = int(np.ceil(abs(shear) * height))
    offset = room if shear < 0 else 0
    matrix = np.array([[1.0, shear, offset], [0.0, 1.0, 0.0]], dtype=np.float32)
    return cv2.warpAffine(image, matrix, (width + room, height), borderValue=255)


def stretched(cut: Cut) -> np.ndarray:
    """The grey cut with its contrast stretched (dim footage, translucent letters) to the
    range of the band its letters stand in: the dark roof and rim around a sign, or the sky
    around a title, would otherwise squeeze the letters and their ground into a few greys."""
    import numpy as np

    start, end = (max(0, round(v)) for v in cut.across)
    band = cut.image[:, start:end] if cut.vertical else cut.image[start:end]
    low, high = np.percentile(band if band.size else cut.image, (2, 98))
    if high - low < 1:
        return cut.image
    scaled = (cut.image.astype(np.float32) - low) * (255.0 / (high - low))
    return np.clip(scaled, 0, 255).astype(np.uint8)


def cut_out(grey: np.ndarray, line: TextLine) -> Cut:
    """The line with a margin, scaled so that its letters are about ``LETTER_HEIGHT`` tall
    (small print is upscaled at most ``MAX_UPSCALE`` times)."""
    import cv2

    x, y, w, h = line.box
    size = w if line.vertical else h
    pad = round(PADDING * size)
    # Along a short line a whole letter more: its first or last letter is often the one
    # the search lost (cut by the frame's edge, run into a sign's rim). Along a faint line
    # only when it is shorter than a word the search usually finds whole: beside a faint
    # sign's letters, its rim reads as letters too ("ATAX!)").
    short = line.letters < MIN_LETTERS if line.faint else line.letters <= SHORT_LINE
    more = round(SHORT_PADDING * size) if short else pad
    x_pad, y_pad = (pad, more) if line.vertical else (more, pad)
    x0, y0 = max(0, x - x_pad), max(0, y - y_pad)
    cut = grey[y0 : y + h + y_pad, x0 : x + w + x_pad]
    scale = min(MAX_UPSCALE, LETTER_HEIGHT / max(1, size))
    method = cv2.INTER_CUBIC if scale > 1 else cv2.INTER_AREA
    image = cv2.resize(cut, None, fx=scale, fy=scale, interpolation=method)
    start = (x - x0) if line.vertical else (y - y0)
    return Cut(image, (start * scale, (start + size) * scale), line.vertical, line.letters)


def letters_alone(cut: Cut, light: bool | None = None) -> tuple[np.ndarray, bool]:
    """The letters of a cut-out line drawn black on white, and whether they are light on a
    dark ground: its letter-sized stable regions inside the line, of the commoner polarity
    unless ``light`` says which (the holes in letters are of the other one and stay white),
    and the dots and accents beside them. Outlines, shadows and the ground behind
    translucent letters drop out."""
    import cv2
    import numpy as np

    image, size = cut.image, cut.letter
    mser = cv2.MSER.create(delta=4, min_area=max(8, int(size) // 3), max_area=int(3 * size**2))
    regions, boxes = mser.detectRegions(image)
    if len(regions) == 0:
        return np.full(image.shape, 255, np.uint8), bool(light)
    keep = np.nonzero(_letterlike(regions, np.asarray(boxes), cut))[0].tolist()
    kept = [(np.asarray(regions[k]), boxes[k]) for k in keep]
    lights = _are_light(image, kept)
    big = [
        bool(is_light)
        for (_p, b), is_light in zip(kept, lights, strict=True)
        if _across(b, cut)[1] >= 0.35 * size
    ]
    if light is None:
        light = 2 * sum(big) > len(big)
    same = [item for item, is_light in zip(kept, lights, strict=True) if is_light == light]
    tall = [k for k, (_p, b) in enumerate(same) if _across(b, cut)[1] >= MIN_COUNTER * size]
    # A smaller hole in a letter is a speck of its ink: drawn as before.
    inner = {tall[k] for k in counters([same[k] for k in tall], COUNTER_SLACK * size)}
    ours = [region for k, region in enumerate(same) if k not in inner]
    holes = [region for k, region in enumerate(same) if k in inner]
    ours = without_floating(ours, cut)
    mask = np.zeros(image.shape, np.uint8)
    for points, box in ours:
        if _across(box, cut)[1] >= 0.35 * size:
            mask[points[:, 1], points[:, 0]] = 255
    for points, (x, y, w, h) in ours:  # a dot, an accent, a stop: where no letter is
        small = _across((x, y, w, h), cut)[1] < 0.35 * size
        if small and not mask[y : y + h, x : x + w].any():
            mask[points[:, 1], points[:, 0]] = 255
    for points, _box in holes:  # open again where a letter's larger region filled them in
        mask[points[:, 1], points[:, 0]] = 0
    return cv2.bitwise_not(mask), light


def without_floating(
    regions: list[tuple[np.ndarray, Any]], cut: Cut
) -> list[tuple[np.ndarray, Any]]:
    """The regions (points, box) of an upright line but those that float above its baseline
    (the median bottom of its letter-sized regions) by ``FLOAT_SHARE`` of a letter or more,
    letter-sized, and those that hold one and two letters beside each other (the blot grown
    into the letters at another threshold). Letters stand on the baseline or hang below it;
    a light blot of the ground between translucent letters, joined to their tops, does not,
    and drawn with them it makes two letters one blob ("Castellano" read "Casfétiano").
    Quotes and accents are smaller than letters and are not judged; nor are lines of fewer
    than ``BASELINE_LETTERS`` letters (a short sign's few letters, its rim and roof give no
    baseline) or lines on their side (which way is down is not known yet)."""
    import numpy as np

    big = [k for k, (_p, b) in enumerate(regions) if _across(b, cut)[1] >= 0.35 * cut.letter]
    if cut.vertical or cut.count < BASELINE_LETTERS or not big:
        return regions
    baseline = float(np.median([regions[k][1][1] + regions[k][1][3] for k in big]))
    level = baseline - FLOAT_SHARE * cut.letter
    afloat = [k for k in big if regions[k][1][1] + regions[k][1][3] < level]
    points_afloat = [regions[k][0][0] for k in afloat]
    letters = [regions[k] for k in big if k not in afloat]
    blots = _blots(regions, level, [k for k in big if k not in afloat], cut.letter)
    return [
        (points, box)
        for k, (points, box) in enumerate(regions)
        if k not in afloat
        and k not in blots
        and not (
            any(_holds(points, point) for point in points_afloat)
            and _joins_letters(points, letters)
        )
    ]


def _blots(
    regions: list[tuple[np.ndarray, Any]], level: float, letters: list[int], size: float
) -> set[int]:
    """Which regions (points, box) are a light blot of the ground over the letters, or hold
    one: a region whose bottom is above ``level`` (floating above the line's body) that lies
    over a letter (of ``letters``: standing on the baseline) and reaches past its side by
    ``BLOT_REACH`` of a letter (``size``), and a region holding such a region and the letter
    under it (the letter grown into the blot through a gap in its rim: an outlined
    watermark's "s" with the stone above it, and "a" read as "d"). A dot or an accent lies
    within its letter's width, a quote beside the letters; the letter itself is drawn from
    its smaller regions."""
    import numpy as np

    boxes = np.array([box for _points, box in regions], dtype=np.int64).reshape(-1, 4)
    floating = np.nonzero(boxes[:, 1] + boxes[:, 3] < level)[0]
    if len(floating) == 0 or not letters:
        return set()
    over = _lies_over(boxes[floating], boxes[letters], BLOT_REACH * size)
    if not over.any():
        return set()
    found = {int(k) for k in floating[over.any(axis=1)]}
    inside = _boxes_inside(boxes)  # inside[j, k]: region k's box lies in region j's
    pairs = [(int(floating[b]), letters[k]) for b, k in zip(*np.nonzero(over), strict=True)]
    for j in np.nonzero(inside.any(axis=1))[0].tolist():
        points = regions[j][0]
        if any(
            j not in (b, k)
            and inside[j, b]
            and inside[j, k]
            and _holds(points, regions[b][0][0])
            and _holds(points, regions[k][0][0])
            for b, k in pairs
        ):
            found.add(j)
    return found


def _boxes_inside(boxes: np.ndarray) -> np.ndarray:
    """inside[j, k]: box k (x, y, w, h) lies in box j."""
    x, y, w, h = boxes.T
    return (
        (x[:, None] <= x)
        & (y[:, None] <= y)
        & (x[:, None] + w[:, None] >= x + w)
        & (y[:, None] + h[:, None] >= y + h)
    )


def _lies_over(blots: np.ndarray, letters: np.ndarray, reach: float) -> np.ndarray:
    """over[b, k]: box b (x, y, w, h) lies over letter box k: above its top (its bottom no
    more than ``reach`` into it), over its columns, and past its left or right side by
    ``reach``."""
    import numpy as np

    bx, by, bw, bh = (v[:, None] for v in blots.T)
    lx, ly, lw, _lh = letters.T
    above = by + bh <= ly + reach
    columns = np.minimum(bx + bw, lx + lw) - np.maximum(bx, lx) > 0
    past = np.maximum(lx - bx, bx + bw - lx - lw) >= reach
    return above & columns & past


def _joins_letters(points: np.ndarray, letters: list[tuple[np.ndarray, Any]]) -> bool:
    """Whether a region holds two letter regions side by side (apart along the line):
    letters joined through the ground, not one letter found at another threshold."""
    inside = sorted(
        (box[0], box[0] + box[2])
        for other, box in letters
        if other is not points and _holds(points, other[0])
    )
    return any(later[0] >= earlier[1] for earlier, later in pairwise(inside))


def counters(regions: list[tuple[np.ndarray, Any]], slack: float = 0.0) -> list[int]:
    """Which of the regions (points, box) of one polarity are the counter of another:
    inside its box (give or take ``slack`` pixels), at most half of it, none of its
    pixels, and ringed by them (:func:`_rings`). Outlined letters (a watermark's light
    letters in a dark rim) hold their counters in the rim as well, of the letters' own
    polarity: an "o" drawn with its counter filled reads as a blot, a "C" whose rim closes
    its mouth as "G". Stable regions of one polarity are nested or apart: a larger region
    holding a region's pixels is the same letter at another threshold."""
    import numpy as np

    if len(regions) < 2:
        return []
    boxes = np.array([box for _points, box in regions], dtype=np.float64)
    x, y, w, h = boxes.T
    holds = (
        (x[:, None] - slack <= x)
        & (y[:, None] - slack <= y)
        & (x[:, None] + w[:, None] + slack >= x + w)
        & (y[:, None] + h[:, None] + slack >= y + h)
        & (w[:, None] * h[:, None] >= 2 * w * h)
    )  # holds[j, k]: region j's box holds region k's, twice its size at least
    found = []
    for k in np.nonzero(holds.any(axis=0))[0].tolist():
        points, box = regions[k]
        if any(
            not _holds(regions[j][0], points[0]) and _rings(regions[j][0], box)
            for j in np.nonzero(holds[:, k])[0].tolist()
        ):
            found.append(k)
    return found


def _holds(points: np.ndarray, point: np.ndarray) -> bool:
    """Whether a region's points include a point."""
    return bool(((points[:, 0] == point[0]) & (points[:, 1] == point[1])).any())


def _rings(points: np.ndarray, box: Any) -> bool:
    """Whether a region's pixels lie on three sides at least of a box's middle (left, right,
    above, below): round a counter, or over the ground under an "n"'s arch, not beside an
    "l" that a blot of the ground next to it holds in its box."""
    x, y, w, h = box
    middle_x, middle_y = x + w / 2, y + h / 2
    across = (points[:, 1] >= y) & (points[:, 1] < y + h)
    along = (points[:, 0] >= x) & (points[:, 0] < x + w)
    sides = [
        (across & (points[:, 0] < middle_x)).any(),
        (across & (points[:, 0] >= middle_x)).any(),
        (along & (points[:, 1] < middle_y)).any(),
        (along & (points[:, 1] >= middle_y)).any(),
    ]
    return sum(bool(side) for side in sides) >= 3


def _across(box: Any, cut: Cut) -> tuple[int, int, int]:
    """(start, extent) of a box across the line, and its extent along it."""
    x, y, w, h = box
    return (x, w, h) if cut.vertical else (y, h, w)


def _letterlike(regions: Any, boxes: np.ndarray, cut: Cut) -> np.ndarray:
    """Which regions (their points, and boxes n x 4) lie inside the line across it, are no
    wider than a wide letter, and are not solid blotches."""
    import numpy as np

    if len(boxes) == 0:
        return np.zeros(0, dtype=bool)
    x, y, w, h = boxes.T
    start, tall, wide = (x, w, h) if cut.vertical else (y, h, w)
    low, high = cut.across[0] - 0.15 * cut.letter, cut.across[1] + 0.15 * cut.letter
    area = np.fromiter((len(points) for points in regions), dtype=np.float64, count=len(boxes))
    solid = (area / (w * h) > 0.85) & (wide > 0.6 * cut.letter)
    return (low <= start) & (start + tall <= high) & (wide <= 1.6 * cut.letter) & ~solid


def _are_light(image: np.ndarray, regions: list[tuple[np.ndarray, Any]]) -> list[bool]:
    """Whether each region (points, box) is lighter than the whole of its box: the mean of
    its pixels against its box's (from the summed-area table: one pass over the cut, not
    one per region)."""
    import cv2
    import numpy as np

    if not regions:
        return []
    table = cv2.integral(image, sdepth=cv2.CV_64F)
    points = np.concatenate([p for p, _b in regions])
    sizes = np.array([len(p) for p, _b in regions])
    owner = np.repeat(np.arange(len(regions)), sizes)
    inside = np.bincount(owner, weights=image[points[:, 1], points[:, 0]], minlength=len(sizes))
    x, y, w, h = np.array([b for _p, b in regions], dtype=np.int64).T
    box = table[y + h, x + w] - table[y, x + w] - table[y + h, x] + table[y, x]
    return (inside / sizes > box / (w * h)).tolist()


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
    sure: list[tuple[str, float]] = field(default_factory=list)  # words read surely enough

    @property
    def letters(self) -> int:
        return sum(ch.isalnum() for word in self.words for ch in word)

    @property
    def longest(self) -> int:
        """Letters of its longest word: a line of one- and two-letter words ("A Га") is
        texture read as letters far more often than print."""
        return max((len(_bare(word)) for word in self.words), default=0)


def reading(words: list[tuple[str, float, int]]) -> Reading:
    """One version's words (text, confidence, left) as a :class:`Reading`."""
    from vision.wordcheck import real_words

    ordered = sorted(words, key=lambda w: w[2])
    pairs = [(t, c) for t, c, _left in ordered if c >= MIN_WORD_CONFIDENCE and _plausible(t)]
    if not pairs:
        return Reading([], 0.0, [t for t, _c, _left in ordered])
    confidence = sum(c for _t, c in pairs) / len(pairs)
    return Reading(real_words(pairs), confidence, [t for t, _c, _left in ordered], pairs)


def _bare(text: str) -> str:
    return "".join(ch for ch in text.casefold() if ch.isalnum())


def _shapes(text: str) -> str:
    """A word's letters as shapes: Cyrillic look-alikes spelt as their Latin twins (TAX in
    either script is one reading of the same print)."""
    return _bare(text).translate(LATIN_TWINS)


def agrees(word: str, others: list[str]) -> bool:
    """Whether another version read the same word (give or take a letter)."""
    from rapidfuzz import fuzz

    return len(_bare(word)) >= 2 and any(
        fuzz.ratio(_shapes(word), _shapes(other)) >= AGREEMENT for other in others
    )


def best_reading(readings: list[list[tuple[str, float, int]]]) -> tuple[str, float, int] | None:
    """(text, confidence, which) of the version of a line that reads most like language;
    None when every version reads as gibberish (:func:`vision.wordcheck.real_words`), or
    when the best is a lone word that no other version of the line read too: texture read
    as letters gives a different word in each version, print gives the same. A version
    less sure than ``MIN_LINE_CONFIDENCE`` (but ``VOTED_MIN_CONFIDENCE``) counts when all its
    words are dictionary words that another version read too (the line read on two frames,
    or as print and as letters). Its words are then spelt as the versions agree
    (:func:`respelt`)."""
    found = [reading(words) for words in voted_names(readings)]
    usable = [
        (r.letters, r.confidence, k)
        for k, r in enumerate(found)
        if r.longest >= 3
        and (
            r.confidence >= MIN_LINE_CONFIDENCE
            or (r.confidence >= VOTED_MIN_CONFIDENCE and _voted(k, found))
        )
    ]
    if not usable:
        return agreed_word(readings)
    _letters, confidence, which = max(usable)
    best = found[which]
    others = [word for k, r in enumerate(found) if k != which for word in r.read]
    confirmed = any(agrees(word, others) for word in best.words) or _sure_word(best)
    if not confirmed and len(best.words) < 2:
        return None
    variants = [pair for k, r in enumerate(found) if k != which for pair in r.sure]
    words = [respelt(word, best.sure, variants) for word in best.words]
    return " ".join(words), round(confidence, 1), which


def voted_names(readings: list[list[tuple[str, float, int]]]) -> list[list[tuple[str, float, int]]]:
    """The versions' words, a word that is no dictionary word but could be a name (a
    watermark's "Castellano") counted as surely read (``UNKNOWN_MIN_CONFIDENCE``) when
    another version of the line read it letter for letter, both at ``NAME_VOTE_CONFIDENCE``:
    two readings agreeing on every letter of an unknown word are rarely both wrong. A
    version that reads exactly as another (one picture read twice) is no second reading."""
    from vision.wordcheck import UNKNOWN_MIN_CONFIDENCE, clean, is_known, wordlike

    def names(words: list[tuple[str, float, int]]) -> set[str]:
        return {
            clean(t)
            for t, c, _left in words
            if c >= NAME_VOTE_CONFIDENCE and wordlike(clean(t)) and not is_known(clean(t))
        }

    found = [names(words) for words in readings]
    voted = []
    for k, words in enumerate(readings):
        others = set().union(
            *(found[j] for j in range(len(readings)) if j != k and readings[j] != words)
        )
        voted.append(
            [
                (t, max(c, UNKNOWN_MIN_CONFIDENCE) if clean(t) in found[k] & others else c, left)
                for t, c, left in words
            ]
        )
    return voted


def agreed_word(readings: list[list[tuple[str, float, int]]]) -> tuple[str, float, int] | None:
    """(word, confidence, which) of a line that two of its versions read as the same
    dictionary word of ``LONE_WORD_LETTERS`` letters or more, each as all it holds (a
    stray stroke aside) and at ``AGREED_MIN_CONFIDENCE`` at least: a blurred sign
    (TAXI on a dim roof at night) reads unsurely, but alike as print and as its letters
    alone; texture read as letters gives a different word in each version. Two versions
    read alike to the confidence are one picture read twice (a still scene's frames cut
    alike: texture read as "Witt" at 45 on both), not two readings. None if none."""
    from vision.wordcheck import clean, is_known

    alone = []
    for k, words in enumerate(readings):
        lettered = [(clean(t), c) for t, c, _left in words if any(ch.isalnum() for ch in t)]
        if len(lettered) == 1 and lettered[0][1] >= AGREED_MIN_CONFIDENCE:
            word, confidence = lettered[0]
            if len(_bare(word)) >= LONE_WORD_LETTERS and is_known(word):
                alone.append((_shapes(word), word, confidence, k))
    for n, (shape, word, confidence, k) in enumerate(alone):
        others = [
            c
            for other, again, c, j in alone[n + 1 :]
            if other == shape and j != k and (again, c) != (word, confidence)
        ]
        if others:
            return word, round((confidence + max(others)) / 2, 1), k
    return None


def _sure_word(found: Reading) -> bool:
    """Whether a lone word stands without a second reading: a dictionary word of
    ``LONE_WORD_LETTERS`` read at ``LONE_WORD_CONFIDENCE`` (a sign, blurred on the one frame
    that shows it, often reads well one way only)."""
    from vision.wordcheck import clean, is_known

    return (
        len(found.words) == 1
        and found.confidence >= LONE_WORD_CONFIDENCE
        and len(_bare(found.words[0])) >= LONE_WORD_LETTERS
        and is_known(clean(found.words[0]))
    )


def _voted(which: int, found: list[Reading]) -> bool:
    """Whether every word of a version is a dictionary word another version read too."""
    from vision.wordcheck import clean, is_known

    others = [word for k, r in enumerate(found) if k != which for word in r.read]
    words = found[which].words
    return bool(words) and all(is_known(clean(w)) and agrees(w, others) for w in words)


def respelt(word: str, sure: list[tuple[str, float]], variants: list[tuple[str, float]]) -> str:
    """``word`` as the versions of its line spell it: a word not in the dictionary whose
    other readings (``variants``, give or take a letter) include one that is, or that they
    read more surely in all (confidence summed over the versions that read it so), is
    replaced by it; a dictionary word stays. ``sure``: the word's own version's readings."""
    from rapidfuzz import fuzz

    from vision.wordcheck import JUNK_EDGES, clean, is_known, keep

    if is_known(clean(word)):
        return word
    own = max((c for t, c in sure if t.strip(JUNK_EDGES) == word), default=0.0)
    alike = [
        (text.strip(JUNK_EDGES), c)
        for text, c in variants
        if fuzz.ratio(_bare(text), _bare(word)) >= AGREEMENT and keep(clean(text), c)
    ]
    known = [(t, c) for t, c in alike if is_known(clean(t))]
    if known:
        return max(known, key=lambda pair: pair[1])[0]
    votes: dict[str, float] = {_bare(word): own}
    spelling = {_bare(word): word}
    for text, c in alike:
        votes[_bare(text)] = votes.get(_bare(text), 0.0) + c
        spelling.setdefault(_bare(text), text)
    return spelling[max(votes, key=lambda key: votes[key])]


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
