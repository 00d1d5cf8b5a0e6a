"""Words the reader used to miss: a line typed in during a scene's last moments (read on the
shot's last frame, which the decode pass keeps), outlined watermark letters whose counters hold
the picture behind them, a name two readings agree on letter for letter; and what stays
unread: letters the frame's edge cuts across, one picture read twice taken for two readings.
Clips made with ffmpeg drawtext and frames drawn with PIL, run through the real stages."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from analysis.models import Analysis, AnalysisStatus
from analysis.pipeline.runner import analysis_execute
from analysis.services import video_create_from_path
from tests.fixtures_vision import FONT
from vision import ocr
from vision.models import SceneText
from vision.stages.ocr import MAX_TEXT_FRAMES, spread
from vision.textregions import TextLine, find_lines


def typed_at_the_end(path: Path) -> Path:
    """A 3 s shot whose second line shows only in its last 0.3 s (after the pass's last
    half-second grid picture), then a 2 s shot of another colour: a cut at 3 s."""
    if not FONT.exists():
        pytest.skip("DejaVu fonts are missing (apt-get install fonts-dejavu-core)")
    line = f"drawtext=fontfile={FONT}:fontsize=40:fontcolor=0xf0f0f0:x=80"
    filters = (
        f"[0:v]{line}:text='Initiate search':y=120,"
        f"{line}:text='Enter password':y=200:enable='gte(t,2.7)'[a];"
        "[a][1:v]concat=n=2:v=1[v]"
    )
    subprocess.run(
        [
            *("ffmpeg", "-v", "error", "-y", "-f", "lavfi"),
            *("-i", "color=c=0x203040:size=640x360:rate=25:d=3", "-f", "lavfi"),
            *("-i", "color=c=0xb0a070:size=640x360:rate=25:d=2"),
            *("-filter_complex", filters, "-map", "[v]", "-pix_fmt", "yuv420p", str(path)),
        ],
        check=True,
    )
    return path


@pytest.mark.django_db
def test_a_line_typed_in_at_a_scene_s_end_is_read_on_its_last_frame(
    tmp_path: Path, user: Any
) -> None:
    video = video_create_from_path(owner=user, path=typed_at_the_end(tmp_path / "typed.mp4"))
    stages = ["probe", "shots", "keyframes", "ocr"]
    analysis = Analysis.objects.create(video=video, parameters={"stages": stages})
    done = analysis_execute(analysis_id=analysis.pk)
    assert done is not None and done.status == AnalysisStatus.COMPLETED, done and done.error
    texts = {row.scene.index: row.text for row in SceneText.objects.filter(analysis=done)}
    assert texts == {0: "Initiate search\nEnter password"}


def test_the_frames_spread_over_a_scene_reach_its_last() -> None:
    assert spread(3, 5) == [0, 1, 2]
    assert spread(9, MAX_TEXT_FRAMES - 1) == [0, 2, 4, 6, 8]
    assert spread(10, 4) == [0, 3, 6, 9]
    assert spread(4, 1) == [0] and spread(4, 0) == []


def outlined(words: str, ground: int) -> np.ndarray:
    """A 960x540 BGR frame: a mottled ground about as light as the letters, and ``words`` as
    a watermark over it: light letters in a dark rim, the ground showing in their counters
    and in the mouth of each C."""
    from PIL import Image, ImageDraw, ImageFilter, ImageFont

    if not FONT.exists():
        pytest.skip("DejaVu fonts are missing (apt-get install fonts-dejavu-core)")
    noise = np.random.default_rng(3).normal(ground, 28, (54, 96)).clip(0, 255).astype(np.uint8)
    base = Image.fromarray(noise).resize((960, 540), Image.BICUBIC).convert("RGB")
    layer = Image.new("RGBA", base.size, (0, 0, 0, 0))
    draw = ImageDraw.Draw(layer)
    draw.text(
        (60, 420),
        words,
        font=ImageFont.truetype(str(FONT), 30),
        fill=(232, 232, 232, 230),
        stroke_width=3,
        stroke_fill=(60, 60, 60, 200),
    )
    layer = layer.filter(ImageFilter.GaussianBlur(0.8))
    frame = Image.alpha_composite(base.convert("RGBA"), layer).convert("RGB")
    return np.ascontiguousarray(np.asarray(frame)[..., ::-1])


def test_an_outlined_letter_s_counter_is_left_open() -> None:
    """Letters alone of an outlined "O": its counter (the ground, ringed by the rim) is a
    region of the letters' own polarity inside the letter's box; it stays white."""
    import cv2

    frame = outlined("COCOA", 200)
    line = max(find_lines(frame).lines, key=lambda found: found.letters)
    assert abs(line.box[1] - 425) < 10  # the word, not the ground
    grey = cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY)
    cut = ocr.cut_out(grey, line)
    letters, light = ocr.letters_alone(cut)
    assert light
    ink = (letters < 128).astype(np.uint8)
    count, _labels, stats, _middles = cv2.connectedComponentsWithStats(ink)
    shapes = sorted((x, y, w, h) for x, y, w, h, _area in stats[1:count] if h >= 0.5 * cut.letter)
    assert len(shapes) >= 5  # C O C O A (and a speck of the ground after them)
    x, y, w, h = shapes[1]
    assert not ink[y + h // 2, x + w // 2]  # the O's middle: its counter, white


@pytest.mark.parametrize(
    ("words", "ground"),
    [
        ("Photograph Cecilia Costello", 190),  # the reader before: "Photograph Costello"
        ("Copyright Olga Castellano", 170),  # before: nothing
        ("Hotel Colorado", 180),  # before: "Hotel Golorado" (the rim closed the C's mouth)
        ("Cocoa Bean Cooperative", 200),
    ],
)
def test_an_outlined_watermark_over_a_light_ground_is_read(
    words: str, ground: int, tmp_path: Path
) -> None:
    lines = ocr.read_scene([outlined(words, ground)], "rus+eng", tmp_path)
    assert [line.text for line in lines] == [words]


def test_a_name_two_readings_agree_on_is_kept() -> None:
    """A name below the surety a lone reading needs stays when another version of its line
    read it letter for letter; one picture read twice (alike to the confidence) is not two
    readings, and a name read one way only still goes."""
    two = [
        [("Copyright", 96.0, 0), ("Castellano", 82.0, 200)],
        [("Copyright", 97.0, 0), ("Castellano", 80.0, 200)],
    ]
    assert ocr.best_reading(two) == ("Copyright Castellano", 91.0, 1)
    once = [two[0], [("Copyright", 97.0, 0), ("Gastellang", 80.0, 200)]]
    assert (ocr.best_reading(once) or ("",))[0] == "Copyright"
    twice = [two[0], list(two[0])]
    assert (ocr.best_reading(twice) or ("",))[0] == "Copyright"
    assert ocr.best_reading([[("Witt", 45.0, 0)], [("Witt", 45.0, 0)]]) is None


def test_a_line_the_frame_s_edge_cuts_across_is_not_read() -> None:
    shape = (544, 1280, 3)
    tops = TextLine((980, 2, 206, 24), 11, False)  # tab labels with their tops cut off
    assert ocr.cut_across(tops, shape)
    assert ocr.cut_across(TextLine((980, 530, 206, 14), 11, False), shape)
    sign = TextLine((0, 105, 136, 37), 3, False, even=True)  # a sign at the left edge
    assert not ocr.cut_across(sign, shape)
    standing = TextLine((1270, 100, 10, 300), 8, True)  # on its side, into the right edge
    assert ocr.cut_across(standing, shape)
