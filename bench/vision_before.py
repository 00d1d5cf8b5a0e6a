"""The on-screen text path before issue 19, kept only as the benchmark's baseline.

``bench/vision_eval.py`` compares the current OCR (:mod:`vision.ocr`) with what the first
version showed and what it cost: a morphological text detector (strong gradients closed into
line-shaped blobs) on the one keyframe, its bands read upright by Tesseract, every confident
word shown. Not used by the application.
"""

from __future__ import annotations

import os
import subprocess
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

from vision.ocr import Line, OcrUnavailable

if TYPE_CHECKING:
    import numpy as np

DETECT_WIDTH = 640
PADDING = 12
MIN_WORD_CONFIDENCE = 55.0
MIN_LINE_CONFIDENCE = 70.0
TESSERACT_TIMEOUT = 60
MIN_LETTERS = 3
MAX_BANDS = 12
GAP = 16
Box = tuple[int, int, int, int]


def classify(image: np.ndarray) -> np.ndarray:
    """ImageNet class probabilities of an RGB frame's centre crop, as the first version ran
    the network: torch's own thread count (the new path runs it on one thread)."""
    import torch

    from vision.mobilenet import load_mobilenet_v2, preprocess

    model = load_mobilenet_v2("cpu")
    with torch.inference_mode():
        probs = torch.softmax(model(preprocess([image])), dim=1)
    return probs[0].numpy()


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


def _plausible(word: str) -> bool:
    alnum = sum(ch.isalnum() for ch in word)
    return alnum >= 1 and alnum / len(word) >= 0.5


def parse_tsv(tsv: str) -> list[Line]:
    """The confident lines of Tesseract's TSV output, top to bottom, every confident word."""
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
        kept = [text for text, _c in pairs]
        text = " ".join(kept)
        if confidence < MIN_LINE_CONFIDENCE or sum(ch.isalnum() for ch in text) < 3:
            continue
        x0 = min(int(w[6]) for w in words)
        y0 = min(int(w[7]) for w in words)
        x1 = max(int(w[6]) + int(w[8]) for w in words)
        y1 = max(int(w[7]) + int(w[9]) for w in words)
        lines.append(Line(text, round(confidence, 1), (x0, y0, x1 - x0, y1 - y0)))
    return sorted(lines, key=lambda line: (line.box[1], line.box[0]))


def read_text(image: np.ndarray, languages: str, workdir: Path) -> list[Line]:
    """The lines of text in a BGR image (an empty list when it shows none)."""
    boxes = text_regions(image)
    if not boxes:
        return []
    return _read_regions(image, boxes, languages, workdir)


def _read_regions(image: np.ndarray, boxes: list[Box], languages: str, workdir: Path) -> list[Line]:
    import cv2

    sheet, placed = montage(image, bands(boxes, image.shape))
    # Tesseract reads small print better a little larger (it likes ~30 px letters).
    scale = 2.0 if min(b[3] - b[1] for _t, b in placed) < 40 else 1.0
    if scale != 1.0:
        sheet = cv2.resize(sheet, None, fx=scale, fy=scale, interpolation=cv2.INTER_CUBIC)
    lines = parse_tsv(run_tesseract(sheet, languages, workdir))
    return [to_source(line, placed, scale) for line in lines]


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
