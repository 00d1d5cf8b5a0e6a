"""On-screen text read where it shows: a sign on one blurred frame of a scene whose other
frames are sharper, letters leaning as a panning camera leans them, a lone word confirmed
by the same line on another frame. Clips made with ffmpeg drawtext, decoded as the ocr stage
decodes a scene's frames."""

from __future__ import annotations

import subprocess
from pathlib import Path

import numpy as np
import pytest

from tests.fixtures_vision import FONT
from vision import ocr


def clip_frames(tmp_path: Path, filters: str, times: list[float]) -> list[np.ndarray]:
    """The BGR frames at ``times`` of a 2 s 960x540 clip: a grey ground, ``filters`` on it."""
    import cv2

    if not FONT.exists():
        pytest.skip("DejaVu fonts are missing (apt-get install fonts-dejavu-core)")
    clip = tmp_path / "clip.mp4"
    subprocess.run(
        [
            *("ffmpeg", "-v", "error", "-y", "-f", "lavfi"),
            *("-i", "color=c=0x6e7a86:size=960x540:rate=25", "-t", "2"),
            *("-vf", filters, "-pix_fmt", "yuv420p", str(clip)),
        ],
        check=True,
    )
    capture = cv2.VideoCapture(str(clip))
    frames = []
    for seconds in times:
        capture.set(cv2.CAP_PROP_POS_MSEC, seconds * 1000)
        ok, frame = capture.read()
        assert ok
        frames.append(frame)
    capture.release()
    return frames


def text(words: str, size: int, x: str, y: str, extra: str = "") -> str:
    return (
        f"drawtext=fontfile={FONT}:text='{words}':fontsize={size}:fontcolor=0xf0f0f0:"
        f"x={x}:y={y}{extra}"
    )


def read(frames: list[np.ndarray], tmp_path: Path) -> list[str]:
    return [line.text for line in ocr.read_scene(frames, "rus+eng", tmp_path / "ocr")]


def test_a_sign_on_one_blurred_frame_is_read_though_another_frame_is_sharper(
    tmp_path: Path,
) -> None:
    """A title held all along, a caption in the first second, and in the second a sign
    passing by with the picture blurred by the motion: both frames show about as many
    letters, the sign is on the blurred one only. Reading the sharpest frame with about the
    most letters loses the sign; reading each line on the frame that shows it does not."""
    title = text("Breaking news tonight from the harbour", 40, "(w-text_w)/2", "h*0.8")
    caption = text("Live from the studio", 40, "60", "h*0.5", ":enable='lt(t,1)'")
    sign = text("GRAND HOTEL", 34, "60", "60", ":enable='gte(t,1)'")
    blur = "gblur=sigma=1.6:enable='gte(t,1)'"
    frames = clip_frames(tmp_path, f"{title},{caption},{sign},{blur}", [0.5, 1.5])
    lines = read(frames, tmp_path)
    assert "GRAND HOTEL" in lines
    assert "Breaking news tonight from the harbour" in lines
    assert "Live from the studio" in lines


def test_letters_leaning_from_a_pan_are_set_upright_and_read(tmp_path: Path) -> None:
    """A sign whose letters lean (a rolling shutter's skew while the camera pans): sheared,
    blurred along the pan and moving across the frames."""
    sign = text("TAXI RANK", 64, "120+200*t", "200", ":box=1:boxcolor=0x202020:boxborderw=14")
    frames = clip_frames(
        tmp_path, f"{sign},shear=shx=-0.35:fillcolor=0x6e7a86,gblur=sigma=1.2", [0.6, 1.2]
    )
    assert read(frames, tmp_path) == ["TAXI RANK"]


def test_a_line_is_read_on_two_frames_and_its_words_spelt_as_they_agree() -> None:
    """Two frames' readings of one line: the fuller one is kept, and a name misread on it
    ("Gastellano") is spelt as the other frame read it more surely; a dictionary word is
    never respelt."""
    first = [("Copyright", 91.0, 0), ("2013", 95.0, 100), ("Brandon", 93.0, 200)]
    first.append(("Gastellano", 88.0, 400))
    second = [("Copyright", 96.0, 0), ("Brandon", 96.0, 200), ("Castellano", 97.0, 400)]
    assert ocr.best_reading([first, second]) == ("Copyright 2013 Brandon Castellano", 91.8, 0)
    assert ocr.respelt("Copyright", [], [("Copyrigkt", 99.0)]) == "Copyright"
    # Two frames misread the name alike, one read it right: the surer total wins.
    sure = [("Gastellano", 88.0)]
    assert ocr.respelt("Gastellano", sure, [("Gastellano", 90.0), ("Castellano", 97.0)]) == (
        "Gastellano"
    )
