"""A clip of solid-colour shots with sparse keyframes, and a made-up finished analysis of it.

Each shot has its own colour, so the order of scenes in an exported cut can be read back from
its frames; keyframes fall every second (not at the cuts), so a stream-copy cut must widen.
"""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

FPS = 25
COLOURS = [
    (230, 30, 30),
    (30, 200, 40),
    (40, 60, 230),
    (240, 220, 30),
    (220, 40, 220),
    (30, 220, 220),
]
SECONDS = [1.0, 1.6, 1.2, 2.0, 1.4, 1.8]
# Storyline A: scenes 1, 3, 5; storyline B: scenes 2, 4, 6 (0-based positions below).
ASSIGNMENT = [0, 1, 0, 1, 0, 1]
NAMES = ["Погоня", "Harbour"]


@dataclass(frozen=True)
class ColourClip:
    path: Path
    seconds: list[float]
    colours: list[tuple[int, int, int]]

    @property
    def cuts(self) -> list[float]:
        return [sum(self.seconds[: i + 1]) for i in range(len(self.seconds) - 1)]


def make_colour_clip(
    path: Path, seconds: list[float] = SECONDS, size: str = "160x120"
) -> ColourClip:
    inputs: list[str] = []
    for (r, g, b), length in zip(COLOURS, seconds, strict=False):
        inputs += [
            "-f",
            "lavfi",
            "-i",
            f"color=c=0x{r:02x}{g:02x}{b:02x}:size={size}:rate={FPS}:duration={length}",
        ]
    n = len(seconds)
    total = sum(seconds)
    inputs += ["-f", "lavfi", "-i", f"sine=frequency=330:sample_rate=48000:duration={total}"]
    joined = "".join(f"[{i}:v]" for i in range(n))
    subprocess.run(
        [
            "ffmpeg",
            "-hide_banner",
            "-loglevel",
            "error",
            "-y",
            *inputs,
            "-filter_complex",
            f"{joined}concat=n={n}:v=1:a=0,format=yuv420p[v]",
            "-map",
            "[v]",
            "-map",
            f"{n}:a",
            "-c:v",
            "libx264",
            "-preset",
            "veryfast",
            "-g",
            str(FPS),
            "-keyint_min",
            str(FPS),
            "-sc_threshold",
            "0",
            "-c:a",
            "aac",
            "-b:a",
            "96k",
            "-shortest",
            str(path),
        ],
        check=True,
        timeout=60,
    )
    return ColourClip(path, list(seconds), COLOURS[:n])


@pytest.fixture(scope="session")
def colour_clip(tmp_path_factory: pytest.TempPathFactory) -> ColourClip:
    return make_colour_clip(tmp_path_factory.mktemp("timeline") / "Фильм цвета.mp4")


@pytest.fixture
def seeded_analysis(user: Any, colour_clip: ColourClip) -> Any:
    """A completed analysis of the colour clip: one scene per shot, two storylines."""
    from frontend.seeding import seed_analysis

    return seed_analysis(
        owner=user,
        video_path=colour_clip.path,
        cuts=colour_clip.cuts,
        storylines=2,
        assignment=ASSIGNMENT,
        names=NAMES,
    )


def frame_colours(path: Path) -> list[tuple[int, int, int]]:
    """The mean colour of every frame of ``path``, in order."""
    out = subprocess.run(
        [
            "ffmpeg",
            "-hide_banner",
            "-loglevel",
            "error",
            "-i",
            str(path),
            "-map",
            "0:v:0",
            "-vf",
            "scale=1:1:flags=area",
            "-f",
            "rawvideo",
            "-pix_fmt",
            "rgb24",
            "-",
        ],
        capture_output=True,
        check=True,
        timeout=120,
    ).stdout
    return [(out[i], out[i + 1], out[i + 2]) for i in range(0, len(out) - 2, 3)]


def nearest_colour(rgb: tuple[int, int, int]) -> int:
    """Index of the shot colour closest to ``rgb``."""
    return min(
        range(len(COLOURS)),
        key=lambda i: sum((a - b) ** 2 for a, b in zip(COLOURS[i], rgb, strict=True)),
    )


def seed_colour_analysis(
    stack: Any, clip: ColourClip, *extra: str, names: list[str] | None = None
) -> str:
    """Seed ``clip``'s analysis (its cuts, two storylines as ``ASSIGNMENT``) in an e2e stack's
    database with ``manage.py seed_analysis`` (``extra``: more of its options); its id."""
    from tests.e2e_server import USERNAME

    out = stack.manage(
        "seed_analysis",
        str(clip.path),
        "--user",
        USERNAME,
        "--cuts",
        ",".join(f"{c:.3f}" for c in clip.cuts),
        "--storylines",
        "2",
        "--assignment",
        ",".join(map(str, ASSIGNMENT)),
        "--names",
        "|".join(NAMES if names is None else names),
        *extra,
    )
    return str(out).strip().splitlines()[-1]
