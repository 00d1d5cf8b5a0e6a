"""On-screen text: find text-like regions cheaply, read them with Tesseract, drop repeats.

Running Tesseract on every full keyframe costs about half a second each; most frames hold no
text. A morphological text detector (strong gradients closed into line-shaped blobs) finds
candidate lines first, and Tesseract reads only the crop around them, or nothing at all.
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
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np

DETECT_WIDTH = 640
PADDING = 12
MIN_WORD_CONFIDENCE = 55.0
MIN_LINE_CONFIDENCE = 70.0
REPEAT_SIMILARITY = 85.0  # rapidfuzz token-set ratio of two scenes' texts that are "the same"
TESSERACT_TIMEOUT = 60
MIN_LETTERS = 3
MAX_BANDS = 12  # text bands read per keyframe, largest first
GAP = 16  # white pixels between bands on the sheet Tesseract reads
Box = tuple[int, int, int, int]


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


def text_regions(image: np.ndarray) -> list[Box]:
    """Boxes (x, y, w, h) of text-like lines in a BGR image, in its own pixels."""
    import cv2

    scale = min(1.0, DETECT_WIDTH / image.shape[1])
    small = cv2.resize(image, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
    grey = cv2.cvtColor(small, cv2.COLOR_BGR2GRAY)
    gradient = cv2.morphologyEx(
        grey, cv2.MORPH_GRADIENT, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (3, 3))
    )
    _, binary = cv2.threshold(gradient, 0, 255, cv2.THRESH_BINARY | cv2.THRESH_OTSU)
    # Long straight edges (frames around captions, horizons) are not letters: remove them so
    # that closing does not glue a line of text to the box it sits in.
    for size in ((41, 1), (1, 41)):
        lines = cv2.morphologyEx(
            binary, cv2.MORPH_OPEN, cv2.getStructuringElement(cv2.MORPH_RECT, size)
        )
        binary = cv2.subtract(binary, lines)
    # Letters of a word sit close side by side: close horizontally to join them into lines.
    joined = cv2.morphologyEx(
        binary, cv2.MORPH_CLOSE, cv2.getStructuringElement(cv2.MORPH_RECT, (11, 1))
    )
    contours, _ = cv2.findContours(joined, cv2.RETR_LIST, cv2.CHAIN_APPROX_SIMPLE)
    boxes = []
    height = small.shape[0]
    for contour in contours:
        x, y, w, h = cv2.boundingRect(contour)
        if not (7 <= h <= height * 0.25 and w >= 1.8 * h and w >= 24):
            continue
        patch = binary[y : y + h, x : x + w]
        filled = cv2.countNonZero(patch) / float(w * h)
        # Strokes with gaps (neither flat areas nor solid edges) made of several letter-sized
        # pieces side by side: foliage and textures rarely pass both. Bold letters merge in
        # the gradient picture, so the ink of the grey patch is counted too.
        letters = max(letter_count(patch), letter_count(ink(grey[y : y + h, x : x + w])))
        if 0.2 <= filled <= 0.85 and letters >= MIN_LETTERS:
            boxes.append((round(x / scale), round(y / scale), round(w / scale), round(h / scale)))
    return boxes


def ink(grey: np.ndarray) -> np.ndarray:
    """The minority side of an Otsu split of a grey patch: the letters, light or dark."""
    import cv2

    _, split = cv2.threshold(grey, 0, 255, cv2.THRESH_BINARY | cv2.THRESH_OTSU)
    return split if cv2.countNonZero(split) * 2 < split.size else cv2.bitwise_not(split)


def letter_count(patch: np.ndarray) -> int:
    """Connected pieces of a line candidate about as tall as a letter and not too wide."""
    import cv2

    count, _labels, stats, _centroids = cv2.connectedComponentsWithStats(patch, connectivity=8)
    height = patch.shape[0]
    return sum(
        1
        for _x, _y, w, h, _area in stats[1:count]
        if 0.35 * height <= h <= height and w <= 1.5 * height
    )


def bands(boxes: list[Box], shape: tuple[int, ...]) -> list[Box]:
    """Boxes merged into horizontal bands (boxes that overlap vertically), padded, top first."""
    merged: list[list[int]] = []
    for x, y, w, h in sorted(boxes, key=lambda b: b[1]):
        if merged and y < merged[-1][3]:
            last = merged[-1]
            last[:] = [min(last[0], x), last[1], max(last[2], x + w), max(last[3], y + h)]
        else:
            merged.append([x, y, x + w, y + h])
    merged.sort(key=lambda b: -(b[2] - b[0]) * (b[3] - b[1]))
    padded = [
        (
            max(0, x0 - PADDING),
            max(0, y0 - PADDING // 2),
            min(shape[1], x1 + PADDING),
            min(shape[0], y1 + PADDING // 2),
        )
        for x0, y0, x1, y1 in merged[:MAX_BANDS]
    ]
    return sorted(padded, key=lambda b: b[1])


def montage(image: np.ndarray, parts: list[Box]) -> tuple[np.ndarray, list[tuple[int, Box]]]:
    """The bands, grey and dark on light, stacked on a white sheet; and each band's top on
    the sheet with its box. Tesseract reads dark print on a light page best: light captions
    and screen text on a dark ground are inverted."""
    import cv2
    import numpy as np

    width = max(x1 - x0 for x0, _y0, x1, _y1 in parts) + 2 * GAP
    height = sum(y1 - y0 for _x0, y0, _x1, y1 in parts) + GAP * (len(parts) + 1)
    sheet = np.full((height, width), 255, dtype=np.uint8)
    grey = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY) if image.ndim == 3 else image
    placed, top = [], GAP
    for x0, y0, x1, y1 in parts:
        band = grey[y0:y1, x0:x1]
        sheet[top : top + y1 - y0, GAP : GAP + x1 - x0] = dark_on_light(band)
        placed.append((top, (x0, y0, x1, y1)))
        top += y1 - y0 + GAP
    return sheet, placed


def dark_on_light(band: np.ndarray) -> np.ndarray:
    """The grey band inverted when most of it is dark (light letters on a dark ground)."""
    import cv2

    _, split = cv2.threshold(band, 0, 255, cv2.THRESH_BINARY | cv2.THRESH_OTSU)
    return cv2.bitwise_not(band) if cv2.countNonZero(split) * 2 < split.size else band


def to_source(line: Line, placed: list[tuple[int, Box]], scale: float) -> Line:
    """A line read on the montage, with its box back in keyframe pixels."""
    x, y, w, h = (round(v / scale) for v in line.box)
    middle = y + h / 2
    top, (x0, y0, _x1, _y1) = next(((t, b) for t, b in reversed(placed) if t <= middle), placed[0])
    return Line(line.text, line.confidence, (x0 + x - GAP, y0 + y - top, w, h))


def run_tesseract(image: np.ndarray, languages: str, workdir: Path) -> str:
    """Tesseract's TSV output for a BGR image (one thread: several run side by side)."""
    import cv2

    workdir.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile(suffix=".png", dir=workdir, delete=False) as handle:
        path = Path(handle.name)
    try:
        cv2.imwrite(str(path), image)
        env = {**os.environ, "OMP_THREAD_LIMIT": "1"}
        done = subprocess.run(
            ["tesseract", str(path), "stdout", "-l", languages, "--psm", "3", "tsv"],
            capture_output=True,
            text=True,
            env=env,
            timeout=TESSERACT_TIMEOUT,
            check=False,
        )
    finally:
        path.unlink(missing_ok=True)
    if done.returncode != 0:
        raise OcrUnavailable(f"tesseract failed: {done.stderr.strip()[:300]}")
    return done.stdout


def _plausible(word: str) -> bool:
    alnum = sum(ch.isalnum() for ch in word)
    return alnum >= 1 and alnum / len(word) >= 0.5


def parse_tsv(tsv: str, strict: bool = True) -> list[Line]:
    """The confident lines of Tesseract's TSV output, top to bottom; ``strict``: only the
    words of lines that read as language (:func:`vision.wordcheck.real_words`)."""
    from vision.wordcheck import real_words

    grouped: dict[tuple[str, str, str], list[list[str]]] = {}
    for row in tsv.splitlines()[1:]:
        cols = row.split("\t")
        if len(cols) < 12 or cols[0] != "5" or not cols[11].strip():
            continue
        if float(cols[10]) >= MIN_WORD_CONFIDENCE and _plausible(cols[11].strip()):
            grouped.setdefault((cols[2], cols[3], cols[4]), []).append(cols)
    lines = []
    for words in grouped.values():
        confidence = sum(float(w[10]) for w in words) / len(words)
        pairs = [(w[11].strip(), float(w[10])) for w in words]
        kept = real_words(pairs) if strict else [text for text, _c in pairs]
        text = " ".join(kept)
        if confidence < MIN_LINE_CONFIDENCE or sum(ch.isalnum() for ch in text) < 3:
            continue
        x0 = min(int(w[6]) for w in words)
        y0 = min(int(w[7]) for w in words)
        x1 = max(int(w[6]) + int(w[8]) for w in words)
        y1 = max(int(w[7]) + int(w[9]) for w in words)
        lines.append(Line(text, round(confidence, 1), (x0, y0, x1 - x0, y1 - y0)))
    return sorted(lines, key=lambda line: (line.box[1], line.box[0]))


def read_text(image: np.ndarray, languages: str, workdir: Path, strict: bool = True) -> list[Line]:
    """The lines of text in a BGR image (an empty list when it shows none)."""
    boxes = text_regions(image)
    if not boxes:
        return []
    return _read_regions(image, boxes, languages, workdir, strict)


def _read_regions(
    image: np.ndarray, boxes: list[Box], languages: str, workdir: Path, strict: bool
) -> list[Line]:
    import cv2

    sheet, placed = montage(image, bands(boxes, image.shape))
    # Tesseract reads small print better a little larger (it likes ~30 px letters).
    scale = 2.0 if min(b[3] - b[1] for _t, b in placed) < 40 else 1.0
    if scale != 1.0:
        sheet = cv2.resize(sheet, None, fx=scale, fy=scale, interpolation=cv2.INTER_CUBIC)
    lines = parse_tsv(run_tesseract(sheet, languages, workdir), strict)
    return [to_source(line, placed, scale) for line in lines]


# Turns tried on a frame: upright, and a quarter turn either way (phones filmed sideways,
# footage stored without its rotation). Upside-down text is rare enough to skip.
TURNS = (None, "cw", "ccw")


def turned(image: np.ndarray, turn: str | None) -> np.ndarray:
    import cv2

    codes = {"cw": cv2.ROTATE_90_CLOCKWISE, "ccw": cv2.ROTATE_90_COUNTERCLOCKWISE}
    return image if turn is None else cv2.rotate(image, codes[turn])


def box_back(box: Box, turn: str | None, shape: tuple[int, ...]) -> Box:
    """A box found on the turned frame, in the original frame's pixels."""
    x, y, w, h = box
    height, width = shape[:2]  # of the original frame
    if turn == "cw":  # original (x, y) -> turned (height - 1 - y, x)
        return (y, height - x - w, h, w)
    if turn == "ccw":  # original (x, y) -> turned (y, width - 1 - x)
        return (width - y - h, x, h, w)
    return box


def sharpness(image: np.ndarray) -> float:
    """Variance of the Laplacian of the grey frame: blurred frames read worse."""
    import cv2

    grey = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY) if image.ndim == 3 else image
    return float(cv2.Laplacian(grey, cv2.CV_32F).var())


@dataclass(frozen=True)
class View:
    """A frame at a quarter turn with its text regions (boxes in the turned frame's pixels)."""

    evidence: float  # total width of the text regions, in detection pixels
    sharpness: float
    frame: int
    turn: str | None
    boxes: list[Box]


def views(frames: list[np.ndarray], turned_frames: int = 2) -> list[View]:
    """Every frame and turn that shows text regions, most evidence (then sharpness) first.

    Regions are looked for on a copy at most ``DETECT_WIDTH`` wide: cheap enough to search
    every frame upright. Only the first ``turned_frames`` are searched at every turn; the
    others at the turns where those showed regions (footage filmed or stored sideways is
    sideways in every frame)."""
    import cv2

    found: list[View] = []
    for number, frame in enumerate(frames):
        factor = min(1.0, DETECT_WIDTH / frame.shape[1])
        small = cv2.resize(frame, None, fx=factor, fy=factor, interpolation=cv2.INTER_AREA)
        sharp = sharpness(small)
        seen = {v.turn for v in found}
        for turn in (
            TURNS if number < turned_frames else [t for t in TURNS if t in seen or t is None]
        ):
            boxes = text_regions(turned(small, turn))
            if boxes:
                full = [tuple(round(v / factor) for v in box) for box in boxes]
                evidence = float(sum(w for _x, _y, w, _h in boxes))
                found.append(View(evidence, sharp, number, turn, full))  # type: ignore[arg-type]
    return sorted(found, key=lambda v: (-v.evidence, -v.sharpness))


def read_scene(frames: list[np.ndarray], languages: str, workdir: Path) -> list[Line]:
    """The text of a scene from its frames (BGR).

    Tesseract reads the view with the most text evidence upright; only when that yields no
    words, the best view turned each way (footage filmed or stored sideways)."""
    found = views(frames)
    tries = [next((v for v in found if v.turn == turn), None) for turn in TURNS]
    for view in tries:
        if view is None:
            continue
        frame = frames[view.frame]
        image = turned(frame, view.turn)
        lines = _read_regions(image, view.boxes, languages, workdir, strict=True)
        if lines:
            return [
                Line(ln.text, ln.confidence, box_back(ln.box, view.turn, frame.shape))
                for ln in lines
            ]
    return []


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
