"""Where the text of a frame is: letters found as stable regions (MSER), chained into lines.

A letter is a patch of even ink that keeps its outline over a range of grey thresholds (a
maximally stable extremal region) whatever its colour, its contrast or what lies behind it: a
translucent watermark over stone, red letters on a taxi sign, light print on a screen. Letters
of one line are about as tall as each other and sit side by side, so regions chained that way
make a line; foliage and texture give letter-like regions as well, but seldom chains of them.
The regions do not depend on how the frame is turned: chained top to bottom instead of left
to right, the same regions give the lines that stand on their side (a phone filmed sideways),
so one search finds both.

Faint print (dark red letters on a dim sign at night, a blurred sign the camera pans past)
is not stable over the thresholds that find crisp letters: its letters grow into their
ground a few grey levels on. A second, cheap search at half size lets regions grow faster
(``FAINT_VARIATION``) and keeps the lines of evenly standing letters it finds where the
first found none, or found fewer letters (the "AXI" of a "TAXI").
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np

Box = tuple[int, int, int, int]  # x, y, width, height
DETECT_WIDTH = 640  # frames are searched at most this wide
MIN_LETTER = 5  # smallest letter height searched, in detection pixels
MAX_LETTER_SHARE = 0.25  # tallest letter, as a share of the frame's shorter side
MIN_LETTERS = 3  # letters a chain needs to count as a line
MAX_REGIONS = 1500  # a frame of pure texture: the tallest regions are kept (pairs are compared)
HEIGHT_RATIO = 1.5  # neighbouring letters differ in height by at most this factor
MISALIGNMENT = 0.35  # and in their middles by at most this share of their height
SPACING = 1.0  # and are at most this many letter heights apart
EVEN = 0.12  # letters "even": tops and bottoms within this share of their height of each other
VARIATION = 0.25  # MSER's largest area growth per threshold step for a stable region
FAINT_SCALE = 0.5  # the faint search looks at the frame this much smaller (bigger letters only)
FAINT_VARIATION = 0.4  # and lets a region grow this much per step


@dataclass(frozen=True)
class TextLine:
    """A line of letters: its box in the frame's pixels, its letters, its direction."""

    box: Box
    letters: int
    vertical: bool  # the line runs top to bottom (text standing on its side)
    even: bool = False  # its letters are of one height and stand on one line, as print does
    faint: bool = False  # found only by the faint search (low contrast, blurred)


@dataclass(frozen=True)
class FrameText:
    """The lines of text one frame shows."""

    lines: list[TextLine]

    def letters(self, vertical: bool) -> int:
        return sum(line.letters for line in self.lines if line.vertical == vertical)


def find_lines(image: np.ndarray) -> FrameText:
    """The lines of text of a BGR (or grey) frame, both upright and standing on their side:
    those of crisp letters, and those of faint ones where no crisp line lies."""
    import cv2

    factor = min(1.0, DETECT_WIDTH / image.shape[1])
    small = cv2.resize(image, None, fx=factor, fy=factor, interpolation=cv2.INTER_AREA)
    grey = cv2.cvtColor(small, cv2.COLOR_BGR2GRAY) if small.ndim == 3 else small
    found = _lines(grey, factor, VARIATION, faint=False)
    half = cv2.resize(grey, None, fx=FAINT_SCALE, fy=FAINT_SCALE, interpolation=cv2.INTER_AREA)
    faint = _lines(half, factor * FAINT_SCALE, FAINT_VARIATION, faint=True)
    faint = [
        line for line in faint if line.even and not any(_covers(other, line) for other in found)
    ]
    # A crisp line inside a faint one of more letters is part of it ("AXI" of "TAXI").
    found = [line for line in found if not any(_covers(other, line) for other in faint)]
    return FrameText(found + faint)


def _lines(grey: np.ndarray, factor: float, variation: float, *, faint: bool) -> list[TextLine]:
    """The lines of a grey picture (the frame scaled by ``factor``), in the frame's pixels."""
    boxes = letter_boxes(grey, variation)
    tallest = MAX_LETTER_SHARE * min(grey.shape[:2])
    found = []
    for vertical in (False, True):
        for box, letters, even in chain(boxes, vertical, tallest):
            full = tuple(round(v / factor) for v in box)
            found.append(TextLine(full, letters, vertical, even, faint))  # type: ignore[arg-type]
    return found


def _covers(big: TextLine, small: TextLine) -> bool:
    """Whether a line covers another: the same direction, as many letters, and the other's
    box lies mostly (half of it) inside its own."""
    if big.vertical != small.vertical or big.letters < small.letters:
        return False
    (ax, ay, aw, ah), (bx, by, bw, bh) = big.box, small.box
    wide = max(0, min(ax + aw, bx + bw) - max(ax, bx))
    tall = max(0, min(ay + ah, by + bh) - max(ay, by))
    return wide * tall >= 0.5 * bw * bh


def sharpness(grey: np.ndarray) -> float:
    """How sharp a grey picture is: the variance of its Laplacian."""
    import cv2

    return float(cv2.Laplacian(grey, cv2.CV_32F).var())


def letter_boxes(grey: np.ndarray, variation: float = VARIATION) -> np.ndarray:
    """Boxes (n x 4: x, y, w, h) of the letter-sized stable regions of a grey image, light
    and dark ones alike, each distinct box once; ``variation``: how much a region may grow
    from one threshold to the next and still count as stable."""
    import cv2
    import numpy as np

    tallest = MAX_LETTER_SHARE * min(grey.shape[:2])
    mser = cv2.MSER.create(
        delta=4, min_area=8, max_area=int(2 * tallest * tallest), max_variation=variation
    )
    regions, found = mser.detectRegions(grey)
    if len(found) == 0:
        return np.zeros((0, 4), dtype=np.int32)
    boxes = np.asarray(found, dtype=np.int32)
    area = np.array([len(points) for points in regions], dtype=np.float64)
    shorter, longer = boxes[:, 2:].min(axis=1), boxes[:, 2:].max(axis=1)
    fill = area / (boxes[:, 2] * boxes[:, 3])
    # Bars and blotches are not letters: letters fill part of their box, and are neither
    # tiny nor larger than the tallest letter (a wide one, such as W, in one direction).
    keep = (
        (longer >= MIN_LETTER)
        & (shorter <= tallest)
        & (longer <= 2 * tallest)
        & (fill >= 0.12)
        & (fill <= 0.95)
    )
    boxes = np.unique(boxes[keep], axis=0)
    if len(boxes) > MAX_REGIONS:
        boxes = boxes[np.argsort(-boxes[:, 3], kind="stable")[:MAX_REGIONS]]
    return boxes


def chain(boxes: np.ndarray, vertical: bool, tallest: float) -> list[tuple[Box, int, bool]]:
    """Letter boxes chained into lines, each as (box, letters, even); ``vertical``: chained top
    to bottom (the boxes are transposed, chained left to right, and transposed back).
    ``tallest``: the tallest letter, in the boxes' pixels."""
    import numpy as np

    if vertical:
        boxes = boxes[:, [1, 0, 3, 2]]
    w, h = boxes[:, 2], boxes[:, 3]
    boxes = boxes[(w <= 1.8 * h) & (h >= MIN_LETTER) & (h <= tallest)]
    if len(boxes) < MIN_LETTERS:
        return []
    first, second = _neighbours(boxes.astype(np.float32))
    labels = _components(len(boxes), first, second)
    # Most components are single regions (texture): only those with enough members are
    # looked at, each found from the labels sorted once rather than by a pass per component.
    sizes = np.bincount(labels)
    order = np.argsort(labels, kind="stable")
    starts = np.concatenate(([0], np.cumsum(sizes)))
    lines = []
    for label in np.nonzero(sizes >= MIN_LETTERS)[0]:
        members = boxes[order[starts[label] : starts[label + 1]]]
        letters = _distinct(members)
        if letters < MIN_LETTERS:
            continue
        x0, y0 = members[:, :2].min(axis=0)
        x1, y1 = (members[:, :2] + members[:, 2:]).max(axis=0)
        box = (int(y0), int(x0), int(y1 - y0), int(x1 - x0)) if vertical else None
        lines.append(
            (box or (int(x0), int(y0), int(x1 - x0), int(y1 - y0)), letters, _even(members))
        )
    return lines


def _components(count: int, first: np.ndarray, second: np.ndarray) -> np.ndarray:
    """The connected component of each of ``count`` nodes joined by the edges (first,
    second), numbered in the order of their lowest node. Each node takes the lowest label
    among its neighbours' and follows its label's own label, until nothing changes: a few
    array passes for chains of letters, without building a sparse graph per frame (whose
    set-up cost more than the search of a frame's few hundred boxes)."""
    import numpy as np

    labels = np.arange(count)
    while True:
        low = np.minimum(labels[first], labels[second])
        joined = labels.copy()
        np.minimum.at(joined, first, low)
        np.minimum.at(joined, second, low)
        joined = joined[joined]
        if np.array_equal(joined, labels):
            return np.unique(labels, return_inverse=True)[1]
        labels = joined


def _even(members: np.ndarray) -> bool:
    """Whether a chain's boxes share their top and their bottom (capitals, digits, a word's
    x-height letters): print does, a row of blurred lights or leaves seldom."""
    import numpy as np

    tops, bottoms = members[:, 1], members[:, 1] + members[:, 3]
    height = float(members[:, 3].max())
    return bool(np.ptp(tops) <= EVEN * height and np.ptp(bottoms) <= EVEN * height)


def _neighbours(boxes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Index pairs of boxes that could be neighbouring letters of one line.

    Only pairs that could be near along the line are compared: with the boxes sorted by
    their left edge, a box's neighbour to its right starts at most ``SPACING`` letter
    heights after it ends, and the taller of two neighbours is at most ``HEIGHT_RATIO``
    times the other, so each box is compared with the few that start before that. (All
    pairs of a frame of texture's 1,500 regions cost as much as its whole MSER search.)"""
    import numpy as np

    order = np.argsort(boxes[:, 0], kind="stable")
    x, y, w, h = boxes[order].T
    reach = x + w + SPACING * HEIGHT_RATIO * h
    ends = np.searchsorted(x, reach, side="right")
    starts = np.arange(1, len(x) + 1)
    counts = np.maximum(ends - starts, 0)
    first = np.repeat(np.arange(len(x)), counts)
    second = np.repeat(starts - np.cumsum(counts) + counts, counts) + np.arange(counts.sum())
    xa, ya, wa, ha = x[first], y[first], w[first], h[first]
    xb, yb, wb, hb = x[second], y[second], w[second], h[second]
    taller, shorter = np.maximum(ha, hb), np.minimum(ha, hb)
    middle = np.abs((ya + ha / 2) - (yb + hb / 2))
    gap = np.maximum(xb - (xa + wa), xa - (xb + wb))
    near = (
        (taller <= HEIGHT_RATIO * shorter)
        & (middle <= MISALIGNMENT * taller)
        & (gap <= SPACING * taller)
        & (gap >= -0.5 * np.minimum(wa, wb))
    )
    return order[first[near]], order[second[near]]


def _distinct(members: np.ndarray) -> int:
    """Letters in a chain: nested regions of one letter (found at several thresholds)
    count once, as boxes whose middles are less than a third of a letter apart."""
    middles = sorted(float(x + w / 2) for x, _y, w, _h in members)
    step = float(members[:, 3].mean()) / 3
    count, last = 0, -1e9
    for middle in middles:
        if middle - last >= step:
            count, last = count + 1, middle
    return count
