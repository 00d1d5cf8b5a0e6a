"""What the reader skips and what it reads since its cost was brought down: lines on their side
are read only in scenes with a frame turned as a whole; a light blot of the ground joined to
the tops of watermark letters is left out of their letters; a name two versions read alike a
little less surely is kept. Frames drawn with PIL (DejaVu fonts) and regions built by hand; no
Tesseract reading is asserted, so these do not hang on its version."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from tests.fixtures_vision import FONT, mser_region
from vision import ocr
from vision.textregions import find_lines


def _frame(picture: Any) -> np.ndarray:
    """A PIL picture as a BGR frame."""
    return np.ascontiguousarray(np.asarray(picture.convert("RGB"))[..., ::-1])


def upright_with_a_sideways_line() -> np.ndarray:
    """A 1280x720 frame: a long upright line, and a shorter one standing on its side (as a
    railing's bars or a book's spine would be chained) at the right."""
    from PIL import Image, ImageDraw, ImageFont

    if not FONT.exists():
        pytest.skip("DejaVu fonts are missing (apt-get install fonts-dejavu-core)")
    font = ImageFont.truetype(str(FONT), 40)
    frame = Image.new("RGB", (1280, 720), (200, 200, 200))
    ImageDraw.Draw(frame).text((80, 300), "Breaking news tonight from town", font=font, fill=0)
    side = Image.new("RGB", (420, 60), (200, 200, 200))
    ImageDraw.Draw(side).text((10, 5), "Side street cafe", font=font, fill=0)
    frame.paste(side.rotate(90, expand=True), (1100, 150))
    return _frame(frame)


def planned(frames: list[np.ndarray]) -> list[bool]:
    """Whether each line a scene's frames would be read for stands on its side."""
    picked = ocr.scene_lines([find_lines(frame) for frame in frames], frames)
    return [reads[0][1].vertical for reads in picked]


def test_lines_on_their_side_are_read_only_where_a_frame_is_turned() -> None:
    import cv2

    frame = upright_with_a_sideways_line()
    found = find_lines(frame)
    assert found.letters(True) >= 5  # the side line is found...
    assert planned([frame]) == [False]  # ...and not read: the frame stands upright
    turned = cv2.rotate(frame, cv2.ROTATE_90_CLOCKWISE)  # a phone filmed sideways
    assert sorted(planned([turned])) == [False, True]  # both read: most letters stand on end
    # One turned frame in the scene is enough for its lines on their side to be read.
    assert True in planned([frame, turned])


def test_a_blot_floating_above_the_baseline_is_left_out_of_the_letters() -> None:
    """Regions of an upright line 30 px tall: "t" and "e" on the baseline, a light blot of
    the ground above them, the blot grown into both letters at another threshold, and a "2"
    whose bowl is a region of its own. The blot and what joins it to the letters go (drawn,
    "tell" read as one blob: "Casfétiano"); the "2" stays whole though its bowl floats."""
    t, e, two = (0, 0, 10, 30), (12, 10, 10, 20), (40, 0, 10, 30)
    blot = (4, 0, 14, 12)
    regions = [
        mser_region(t),
        mser_region(e),
        mser_region(blot),
        mser_region(t, e, blot),
        mser_region(two),
        mser_region((40, 0, 10, 12)),  # the 2's bowl
    ]
    cut = ocr.Cut(np.zeros((30, 60), np.uint8), (0.0, 30.0), vertical=False, count=12)
    kept = [box for _points, box in ocr.without_floating(regions, cut)]
    assert kept == [t, e, two]
    turned = ocr.Cut(np.zeros((60, 30), np.uint8), (0.0, 30.0), vertical=True, count=12)
    assert len(ocr.without_floating(regions, turned)) == len(regions)  # no baseline known
    short = ocr.Cut(cut.image, cut.across, vertical=False, count=4)  # a sign's few letters
    assert len(ocr.without_floating(regions, short)) == len(regions)


def test_a_name_two_versions_read_alike_a_little_unsurely_is_kept() -> None:
    readings = [
        [("Copyright", 96.0, 0), ("Castellano", 74.0, 200)],
        [("Copyright", 96.0, 0), ("Castellano", 82.0, 200)],
    ]
    assert ocr.best_reading(readings) == ("Copyright Castellano", 90.5, 1)
