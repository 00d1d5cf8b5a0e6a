"""On-screen text: lines of letters found upright and on their side, small and translucent
print read, texture never read as words; rendered frames, an ffmpeg clip and shared clips."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import numpy as np
import pytest

from tests.fixtures_vision import FONT, sample_image
from vision import ocr, textregions

SHARED = Path(os.environ.get("SHARED_MEDIA", Path(__file__).parents[3] / "shared" / "media"))


def rendered(
    text: str, size: int, *, ground: np.ndarray | None = None, outlined: bool = False
) -> np.ndarray:
    """A 1280x720 BGR frame with ``text`` in letters ``size`` px tall near its bottom: black
    on a light grey ground, or light and translucent with a dark outline over a photo."""
    from PIL import Image, ImageDraw, ImageFont

    if not FONT.exists():
        pytest.skip("DejaVu fonts are missing (apt-get install fonts-dejavu-core)")
    base = (
        Image.new("RGB", (1280, 720), (200, 200, 200))
        if ground is None
        else Image.fromarray(ground).resize((1280, 720)).convert("RGB")
    )
    layer = Image.new("RGBA", base.size, (0, 0, 0, 0))
    draw = ImageDraw.Draw(layer)
    font = ImageFont.truetype(str(FONT), size)
    if outlined:  # a watermark: light fill at 60 % over the picture, a dark rim
        draw.text(
            (80, 600),
            text,
            font=font,
            fill=(235, 235, 235, 150),
            stroke_width=2,
            stroke_fill=(40, 40, 40, 190),
        )
    else:
        draw.text((80, 600), text, font=font, fill=(0, 0, 0, 255))
    frame = Image.alpha_composite(base.convert("RGBA"), layer).convert("RGB")
    return np.ascontiguousarray(np.asarray(frame)[..., ::-1])


def read(frames: list[np.ndarray], tmp_path: Path) -> list[str]:
    return [line.text for line in ocr.read_scene(frames, "rus+eng", tmp_path)]


def test_lines_are_found_upright_and_on_their_side() -> None:
    import cv2

    frame = rendered("Breaking news tonight", 40)
    upright = textregions.find_lines(frame)
    assert upright.letters(False) >= 15 and upright.letters(True) == 0
    x, y, w, h = max(upright.lines, key=lambda ln: ln.letters).box
    assert 60 <= x <= 100 and 590 <= y <= 620 and w > 300 and 25 <= h <= 60
    sideways = textregions.find_lines(cv2.rotate(frame, cv2.ROTATE_90_CLOCKWISE))
    assert sideways.letters(True) >= 15 and sideways.letters(False) < 5


def test_a_plain_frame_shows_no_lines_and_a_photo_reads_as_nothing(tmp_path: Path) -> None:
    plain = np.full((720, 1280, 3), 128, dtype=np.uint8)
    assert textregions.find_lines(plain).lines == []
    # Texture makes chains of letter-like blobs; none of them reads as words.
    coffee = np.ascontiguousarray(sample_image("coffee")[..., ::-1])
    assert textregions.find_lines(coffee).lines
    assert read([coffee], tmp_path) == []


def test_small_print_is_upscaled_and_read(tmp_path: Path) -> None:
    # Letters 14 px tall on a 1280 px frame: 7 px at the search width, read at 4x.
    assert read([rendered("Private property keep out", 14)], tmp_path) == [
        "Private property keep out"
    ]


def test_a_translucent_outlined_watermark_over_a_photo_is_read(tmp_path: Path) -> None:
    frame = rendered("Copyright 2013 Brandon", 34, ground=sample_image("coffee"), outlined=True)
    words = set(" ".join(read([frame], tmp_path)).split())
    # The grey print fades into the cup and the saucer; the letters alone read where it
    # does not. Whatever is read is the watermark's, and most of it is.
    assert words <= {"Copyright", "2013", "Brandon"} and len(words) >= 2


def test_a_lone_word_read_one_way_only_is_dropped() -> None:
    texture = [[("Waits", 73.0, 0)], [("ME", 20.0, 0)]]
    assert ocr.best_reading(texture) is None
    word = [[("Taxi", 80.0, 0)], [("Taxl", 60.0, 0)]]
    assert ocr.best_reading(word) == ("Taxi", 80.0, 0)
    line = [[("Send", 90.0, 0), ("Spike", 88.0, 40)], []]
    assert ocr.best_reading(line) == ("Send Spike", 89.0, 0)


def test_text_turned_in_a_real_clip_is_read_from_its_frames(tmp_path: Path) -> None:
    """A clip made with ffmpeg: drawtext over a test pattern, turned a quarter (a phone
    filmed sideways); its decoded frames are read as the ocr stage reads a scene's."""
    import cv2

    if not FONT.exists():
        pytest.skip("DejaVu fonts are missing (apt-get install fonts-dejavu-core)")
    clip = tmp_path / "sideways.mp4"
    text = (
        f"drawtext=fontfile={FONT}:text='Initiate Search Program':fontsize=44:fontcolor=white:"
        "box=1:boxcolor=black@0.7:boxborderw=12:x=(w-text_w)/2:y=h*0.7"
    )
    subprocess.run(
        [
            "ffmpeg",
            "-v",
            "error",
            "-y",
            "-f",
            "lavfi",
            "-i",
            "testsrc2=size=960x540:rate=25",
            "-t",
            "2",
            "-vf",
            f"{text},transpose=2",
            "-pix_fmt",
            "yuv420p",
            str(clip),
        ],
        check=True,
    )
    capture = cv2.VideoCapture(str(clip))
    frames: list[np.ndarray] = []
    for _ in range(3):
        capture.set(cv2.CAP_PROP_POS_FRAMES, len(frames) * 20)
        ok, frame = capture.read()
        assert ok
        frames.append(frame)
    capture.release()
    assert frames[0].shape[:2] == (960, 540)  # standing: the text runs bottom to top
    lines = ocr.read_scene(frames, "rus+eng", tmp_path)
    assert [line.text for line in lines] == ["Initiate Search Program"]
    x, y, w, h = lines[0].box
    assert h > 3 * w and x >= 0 and x + w <= 540 and y >= 0 and y + h <= 960


def shared_frame(clip: str, seconds: float) -> np.ndarray:
    import cv2

    path = SHARED / "shots" / clip
    if not path.exists():
        pytest.skip(f"no shared clip {clip}")
    capture = cv2.VideoCapture(str(path))
    capture.set(cv2.CAP_PROP_POS_MSEC, seconds * 1000)
    ok, frame = capture.read()
    capture.release()
    assert ok
    return np.ascontiguousarray(frame)


def test_shared_clips_screen_text_on_its_side_and_a_watermark(tmp_path: Path) -> None:
    phone = read([shared_frame("issue-134-rotate.mp4", t) for t in (1.0, 1.5)], tmp_path)
    assert "Send Spike" in phone
    mark = " ".join(read([shared_frame("testvideo.mp4", t) for t in (14.0, 15.0)], tmp_path))
    assert {"Copyright", "2013", "Brandon"} <= set(mark.split())
    leaves = read([shared_frame("cockatoo.mp4", t) for t in (2.0, 3.0)], tmp_path)
    assert leaves == []  # a bird, feathers and a window: no words


def test_scenes_read_in_one_tesseract_run_keep_their_own_text(tmp_path: Path) -> None:
    """The sheets of several scenes go to Tesseract as the pages of one run: each scene gets
    its own lines, as it would read alone; a scene with no lines has no sheet."""
    import cv2

    scenes = [
        [rendered("Harbour lights tonight", 40)],
        [np.full((720, 1280, 3), 128, dtype=np.uint8)],
        [cv2.rotate(rendered("Private property keep out", 40), cv2.ROTATE_90_CLOCKWISE)],
        [rendered("Breaking news", 40), rendered("Breaking news", 40)],
    ]
    plans = [ocr.plan_scene(frames) for frames in scenes]
    assert plans[1] is None
    together = ocr.read_plans([p for p in plans if p is not None], "rus+eng", tmp_path / "a")
    assert [[line.text for line in lines] for lines in together] == [
        ["Harbour lights tonight"],
        ["Private property keep out"],
        ["Breaking news"],
    ]
    alone = [ocr.read_scene(scenes[k], "rus+eng", tmp_path / "b") for k in (0, 2, 3)]
    assert together == alone
    assert not any((tmp_path / "a").iterdir())  # the pages are removed once read


def test_a_scene_searches_each_distinct_picture_once() -> None:
    """The keyframe and the frame 1 s in are copies of the pass's candidates: a picture
    stored twice is searched for text once; missing and broken files are left out."""
    import cv2

    from vision.stages.ocr import distinct_frames

    first, second = rendered("Harbour lights", 40), rendered("Breaking news", 40)
    a, b = (cv2.imencode(".jpg", frame)[1].tobytes() for frame in (first, second))
    frames = distinct_frames([a, a, None, b, b"not a picture", a])
    assert len(frames) == 2
    assert [textregions.find_lines(f) for f in frames] == [
        textregions.find_lines(cv2.imdecode(np.frombuffer(x, np.uint8), cv2.IMREAD_COLOR))
        for x in (a, b)
    ]


def test_a_latin_sign_read_as_cyrillic_look_alikes_is_read_in_latin(tmp_path: Path) -> None:
    """The taxi's roof sign in the shared bikes clip, whole on one of two pictures of its
    scene: with both languages loaded Tesseract reads its TAXI there as Cyrillic look-alikes
    ("TAX!" in Cyrillic, no Russian word, dropped); read again in Latin it is TAXI."""
    frames = [shared_frame("bikes.mp4", t) for t in (1.7, 2.7)]
    assert "TAXI" in read(frames, tmp_path)
