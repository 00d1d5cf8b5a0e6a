"""Real face photos from installed packages, and a clip of them with two espeak-ng voices.

The photos are public-domain portraits shipped by PyPI packages: scikit-image's ``astronaut``
(Eileen Collins, NASA) and matplotlib's ``grace_hopper.jpg`` (Grace Hopper, U.S. Navy). Each
person appears in two non-adjacent shots, framed differently the second time (a mirrored close
crop, a smaller face elsewhere on the frame), so the two sightings give different detections and
different embeddings that the clustering must still join.
"""

from __future__ import annotations

import importlib.util
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from tests.fixtures_media import speak

WIDTH, HEIGHT, FPS = 640, 360, 25
SHOT_SECONDS = 4.0
# Who is on each shot of ``people_clip`` and who speaks there (espeak-ng voice or None).
SHOT_FACES = ["astronaut", "hopper", None, "astronaut", "hopper"]
SHOT_VOICES = ["en", "en+f3", "en", "en+f3", None]
SENTENCES = [
    "The quick brown fox jumps over the lazy dog.",
    "Please call Stella and ask her to bring these things.",
    "We also need a small plastic snake and a big toy frog.",
    "She can scoop these things into three red bags.",
]


def hopper_path() -> Path | None:
    spec = importlib.util.find_spec("matplotlib")
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(next(iter(spec.submodule_search_locations))) / "mpl-data/sample_data"
    path = path / "grace_hopper.jpg"
    return path if path.exists() else None


def load_photos() -> dict[str, np.ndarray]:
    """RGB portraits: ``astronaut`` and ``hopper``; plus ``coffee``, a real photo with no face."""
    import cv2
    from skimage import data

    hopper = hopper_path()
    if hopper is None:
        pytest.skip("matplotlib's sample photo is missing (pip install --no-deps matplotlib)")
    bgr = cv2.imread(str(hopper))
    if bgr is None:
        pytest.skip(f"OpenCV cannot read {hopper}")
    image = cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
    return {"astronaut": data.astronaut(), "hopper": image, "coffee": data.coffee()}


def place(photo: np.ndarray, *, height: int, x: int, y: int, background: tuple[int, ...]) -> Any:
    """``photo`` scaled to ``height`` pixels and pasted at (x, y) on a plain frame."""
    import cv2

    width = round(photo.shape[1] * height / photo.shape[0])
    scaled = cv2.resize(photo, (width, height), interpolation=cv2.INTER_AREA)
    frame = np.zeros((HEIGHT, WIDTH, 3), dtype=np.uint8)
    frame[:] = background
    right, bottom = min(WIDTH, x + width), min(HEIGHT, y + height)
    frame[y:bottom, x:right] = scaled[: bottom - y, : right - x]
    return frame


def shot_frames(photos: dict[str, np.ndarray]) -> list[np.ndarray]:
    """Five shots: A, H, no face, A again (mirrored close-up), H again (darker, smaller)."""
    astronaut, hopper = photos["astronaut"], photos["hopper"]
    close_up = np.ascontiguousarray(astronaut[20:300, 90:370][:, ::-1])  # head and shoulders
    dim = (hopper[:380].astype(np.float32) * 0.7).astype(np.uint8)  # darker, and smaller below
    return [
        place(astronaut, height=360, x=40, y=0, background=(90, 90, 90)),
        place(hopper, height=360, x=170, y=0, background=(20, 40, 90)),
        place(photos["coffee"], height=360, x=50, y=0, background=(0, 0, 0)),
        place(close_up, height=300, x=300, y=40, background=(140, 120, 60)),
        place(dim, height=170, x=430, y=150, background=(60, 110, 60)),
    ]


@dataclass(frozen=True)
class PeopleClip:
    path: Path
    shots: int
    faces: list[str | None]
    voices: list[str | None]


def build_people_clip(folder: Path, frames: list[np.ndarray], voices: list[str | None]) -> Path:
    """Still frames looped into ``SHOT_SECONDS`` shots with hard cuts; a voice per shot."""
    import cv2

    folder.mkdir(parents=True, exist_ok=True)
    args: list[str] = []
    for i, frame in enumerate(frames):
        png = folder / f"shot{i}.png"
        cv2.imwrite(str(png), cv2.cvtColor(frame, cv2.COLOR_RGB2BGR))
        args += ["-loop", "1", "-framerate", str(FPS), "-t", str(SHOT_SECONDS), "-i", str(png)]
    count = len(frames)
    filters = ["".join(f"[{i}:v]" for i in range(count)) + f"concat=n={count}:v=1:a=0[v]"]
    for i, voice in enumerate(voices):
        if voice is None:
            args += ["-f", "lavfi", "-t", str(SHOT_SECONDS), "-i", "anullsrc=r=22050:cl=mono"]
        else:
            wav = speak(folder / f"voice{i}.wav", SENTENCES[i % len(SENTENCES)], voice=voice)
            args += ["-i", str(wav)]
        filters.append(
            f"[{count + i}:a]aresample=22050,adelay=400:all=1,apad=whole_dur={SHOT_SECONDS},"
            f"atrim=0:{SHOT_SECONDS}[a{i}]"
        )
    filters.append("".join(f"[a{i}]" for i in range(count)) + f"concat=n={count}:v=0:a=1[a]")
    path = folder / "people.mp4"
    subprocess.run(
        [
            "ffmpeg",
            "-y",
            "-hide_banner",
            "-loglevel",
            "error",
            *args,
            "-filter_complex",
            ";".join(filters),
            "-map",
            "[v]",
            "-map",
            "[a]",
            "-c:v",
            "libx264",
            "-preset",
            "veryfast",
            "-pix_fmt",
            "yuv420p",
            "-r",
            str(FPS),
            "-c:a",
            "aac",
            str(path),
        ],
        check=True,
    )
    return path


@pytest.fixture(scope="session")
def face_photos() -> dict[str, np.ndarray]:
    return load_photos()


@pytest.fixture(scope="session")
def people_clip(tmp_path_factory: pytest.TempPathFactory, face_photos: dict) -> PeopleClip:
    """20 s: five 4-second shots of real faces; a male and a female espeak-ng voice."""
    folder = tmp_path_factory.mktemp("people")
    path = build_people_clip(folder, shot_frames(face_photos), SHOT_VOICES)
    return PeopleClip(path, len(SHOT_FACES), SHOT_FACES, SHOT_VOICES)
