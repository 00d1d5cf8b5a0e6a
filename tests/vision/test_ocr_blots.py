"""A light blot of the ground lying over an outlined watermark's letters and joined to one of
them through a gap in its rim: left out of the letters alone, which drew it as an accent or as
part of the letter (testvideo's "www.bcastell.com" read "www.bcdStell.com"). Frames drawn with
PIL (DejaVu Sans) read by Tesseract; and regions built by hand for what stays drawn."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tests.fixtures_vision import FONT, mser_region
from vision import ocr

REGULAR = FONT.with_name("DejaVuSans.ttf")


def watermark_with_a_blot(words: str, under: int) -> np.ndarray:
    """A 960x540 BGR frame: a mottled grey ground and ``words`` as a watermark (light letters
    in a dark rim); a light patch of the ground lies over the letter ``words[under]`` and
    the one before it, joined to that letter by a thin lighter gap in its rim."""
    from PIL import Image, ImageDraw, ImageFilter, ImageFont

    if not REGULAR.exists():
        pytest.skip("DejaVu fonts are missing (apt-get install fonts-dejavu-core)")
    size = 32
    noise = np.random.default_rng(3).normal(150, 20, (54, 96)).clip(0, 255).astype(np.uint8)
    base = Image.fromarray(noise).resize((960, 540), Image.BICUBIC).convert("RGBA")
    font = ImageFont.truetype(str(REGULAR), size)
    layer = Image.new("RGBA", base.size, (0, 0, 0, 0))
    draw = ImageDraw.Draw(layer)
    draw.text(
        (60, 420),
        words,
        font=font,
        fill=(232, 232, 232, 255),
        stroke_width=2,
        stroke_fill=(60, 60, 60, 255),
    )
    left = 60 + draw.textlength(words[:under], font=font)
    middle = (left + 60 + draw.textlength(words[: under + 1], font=font)) / 2
    top = 420 + font.getbbox("x")[1]  # the letters' x-height line
    draw.rectangle((middle - 1, top - 5, middle + 1, top + 2), fill=(140, 140, 140, 255))
    patch = (left - 0.45 * size, top - 4 - 0.3 * size, middle + 3, top - 4)
    draw.ellipse(patch, fill=(240, 240, 240, 255))
    layer = layer.filter(ImageFilter.GaussianBlur(0.7))
    frame = Image.alpha_composite(base, layer).convert("RGB")
    return np.ascontiguousarray(np.asarray(frame)[..., ::-1])


@pytest.mark.parametrize(
    ("words", "under"),
    [
        ("Summer in Rome", 4),  # the reader before: "in Rome" (the blot over "me")
        ("Morning news", 9),  # before: "Morning"
        ("Photos of towns", 2),  # before: "of towns"
    ],
)
def test_a_watermark_with_a_blot_of_the_ground_over_its_letters_is_read(
    words: str, under: int, tmp_path: Path
) -> None:
    lines = ocr.read_scene([watermark_with_a_blot(words, under)], "rus+eng", tmp_path)
    assert [line.text for line in lines] == [words]


def test_a_blot_over_a_letter_goes_and_dots_and_quotes_stay() -> None:
    """Regions of an upright line 30 px tall (x-height 20): an "s", a blot of the ground on
    its top reaching 8 px past its left side, the s grown into the blot; an "i" with its
    dot; a quote beside the next letter, an "o". The blot and the grown s go; the s itself,
    the i's dot and the quote stay."""
    s, blot = (20, 10, 12, 20), (12, 2, 16, 8)
    stem, dot = (40, 10, 4, 20), (39, 3, 6, 5)
    quote, o = (52, 0, 4, 8), (58, 10, 12, 20)
    regions = [
        mser_region(s),
        mser_region(blot),
        mser_region(s, blot, (22, 9, 2, 2)),
        mser_region(stem),
    ]
    regions += [mser_region(dot), mser_region(quote), mser_region(o), mser_region((0, 0, 10, 30))]
    cut = ocr.Cut(np.zeros((30, 80), np.uint8), (0.0, 30.0), vertical=False, count=12)
    kept = [box for _points, box in ocr.without_floating(regions, cut)]
    assert kept == [s, stem, dot, quote, o, (0, 0, 10, 30)]
