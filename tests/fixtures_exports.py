"""A long-GOP clip whose every frame says which source frame it is, and ways to read it back.

Each shot has its own colour (top of the picture) and every frame carries its frame number as
ten black/white stripes (bottom band, bit ``b`` in stripe ``b``), so an exported cut can be
checked frame by frame. The video is H.264 with one keyframe every 250 frames and B-frames, as
camera files and web downloads are: a cut at keyframes would drag in seconds of other shots.
The audio is a 1 kHz beep for one frame (40 ms) at frame 12 of every second, so audio/video sync
can be measured at every join: a beep must start with the frame whose number is 12 mod 25.
"""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path

import numpy as np

FPS = 25
WIDTH, HEIGHT = 160, 120
BAND_TOP = 80  # the frame-number stripes fill the rows below
STRIPE = 16  # pixels per bit
BITS = 10
SAMPLE_RATE = 48000
BEEP_FRAME = 12  # the beep starts with this frame of every second
COLOURS = [
    (230, 30, 30),
    (30, 200, 40),
    (40, 60, 230),
    (240, 220, 30),
    (220, 40, 220),
    (30, 220, 220),
    (240, 140, 20),
]
# Cuts fall between keyframes (0 and 10 s): a keyframe cut of any scene drags in others.
SECONDS = [2.2, 3.4, 1.8, 4.0, 2.6, 3.0, 2.0]
ASSIGNMENT = [0, 1, 0, 1, 0, 1, 0]
NAMES = ["Chase", "Harbour"]
DECODE = ["ffmpeg", "-hide_banner", "-loglevel", "error", "-i"]


@dataclass(frozen=True)
class LongGopClip:
    path: Path
    seconds: list[float]

    @property
    def cuts(self) -> list[float]:
        return [sum(self.seconds[: i + 1]) for i in range(len(self.seconds) - 1)]

    @property
    def frames(self) -> int:
        return round(sum(self.seconds) * FPS)

    def scene_frames(self, index: int) -> range:
        """Source frame numbers of scene ``index`` (0-based)."""
        start = round(sum(self.seconds[:index]) * FPS)
        return range(start, start + round(self.seconds[index] * FPS))

    def storyline_frames(self, number: int) -> list[int]:
        """Source frame numbers of storyline ``number`` (1-based), in film order."""
        return [
            f
            for i, where in enumerate(ASSIGNMENT)
            if where == number - 1
            for f in self.scene_frames(i)
        ]


def make_long_gop_clip(
    path: Path,
    seconds: list[float] = SECONDS,
    *,
    sample_rate: int = SAMPLE_RATE,
    bframes: tuple[str, ...] = ("-bf", "3"),
) -> LongGopClip:
    """The numbered clip; its AAC sound at ``sample_rate`` (a packet is 1024 samples), its
    B-frames as ``bframes`` (libx264 options) say."""
    total = sum(seconds)
    inputs: list[str] = []
    for (r, g, b), length in zip(COLOURS, seconds, strict=False):
        colour = f"0x{r:02x}{g:02x}{b:02x}"
        inputs += ["-f", "lavfi", "-i", f"color=c={colour}:s={WIDTH}x{HEIGHT}:r={FPS}:d={length}"]
    n = len(seconds)
    bits = f"255*mod(floor(N/pow(2\\,floor(X/{STRIPE})))\\,2)"
    band = f"nullsrc=s={WIDTH}x{HEIGHT - BAND_TOP}:r={FPS}:d={total},format=yuv420p"
    inputs += ["-f", "lavfi", "-i", f"{band},geq=lum='{bits}':cb=128:cr=128"]
    start, end = BEEP_FRAME / FPS, (BEEP_FRAME + 1) / FPS
    beep = f"0.5*sin(2*PI*1000*t)*gte(mod(t\\,1)\\,{start})*lt(mod(t\\,1)\\,{end})"
    inputs += ["-f", "lavfi", "-i", f"aevalsrc='{beep}':s={SAMPLE_RATE}:d={total}"]
    joined = "".join(f"[{i}:v]" for i in range(n))
    graph = f"{joined}concat=n={n}:v=1:a=0,format=yuv420p[c];[c][{n}:v]overlay=0:{BAND_TOP}[v]"
    encode = ["-c:v", "libx264", "-preset", "veryfast", "-g", "250", "-keyint_min", "250"]
    encode += ["-sc_threshold", "0", *bframes, "-c:a", "aac", "-b:a", "128k"]
    encode += ["-ar", str(sample_rate)]
    maps = ["-filter_complex", graph, "-map", "[v]", "-map", f"{n + 1}:a"]
    subprocess.run(
        ["ffmpeg", "-hide_banner", "-loglevel", "error", "-y", *inputs, *maps, *encode, str(path)],
        check=True,
        timeout=120,
    )
    return LongGopClip(path, list(seconds))


def decoded_frames(path: Path) -> np.ndarray:
    """Every frame of ``path`` as RGB, shape (frames, height, width, 3)."""
    out = subprocess.run(
        [*DECODE, str(path), "-map", "0:v:0", "-f", "rawvideo", "-pix_fmt", "rgb24", "-"],
        capture_output=True,
        check=True,
        timeout=300,
    ).stdout
    frames = np.frombuffer(out, dtype=np.uint8)
    return frames.reshape(-1, HEIGHT, WIDTH, 3)


def frame_numbers(path: Path) -> list[int]:
    """The source frame number burnt into every frame of ``path``."""
    return stripe_numbers(decoded_frames(path))


def stripe_numbers(frames: np.ndarray) -> list[int]:
    """The frame numbers burnt into RGB ``frames`` (frames, height, width, 3)."""
    row = (BAND_TOP + HEIGHT) // 2
    centres = [b * STRIPE + STRIPE // 2 for b in range(BITS)]
    lit = frames[:, row, centres, :].mean(axis=2) > 128
    return [int(sum(1 << b for b in range(BITS) if bits[b])) for bits in lit]


def frame_colours(path: Path) -> list[int]:
    """Index of the nearest shot colour of every frame of ``path`` (the top band's mean)."""
    frames = decoded_frames(path)[:, :BAND_TOP].reshape(-1, BAND_TOP * WIDTH, 3).mean(axis=1)
    palette = np.array(COLOURS, dtype=float)
    distances = ((frames[:, None, :] - palette[None, :, :]) ** 2).sum(axis=2)
    return [int(i) for i in distances.argmin(axis=1)]


def audio_samples(path: Path) -> np.ndarray:
    """The first audio stream of ``path`` as mono float samples at ``SAMPLE_RATE``."""
    out = subprocess.run(
        [
            *DECODE,
            str(path),
            "-map",
            "0:a:0",
            "-ac",
            "1",
            "-ar",
            str(SAMPLE_RATE),
            "-f",
            "f32le",
            "-",
        ],
        capture_output=True,
        check=True,
        timeout=300,
    ).stdout
    return np.frombuffer(out, dtype=np.float32)


def beep_onsets(samples: np.ndarray) -> list[float]:
    """Start times (seconds) of the beeps: where the 1 ms envelope first rises above 0.1."""
    window = SAMPLE_RATE // 1000
    usable = len(samples) // window * window
    loud = np.abs(samples[:usable]).reshape(-1, window).max(axis=1) > 0.1
    starts = np.flatnonzero(loud[1:] & ~loud[:-1]) + 1
    onsets: list[float] = []
    last = -1.0
    for ms in starts.tolist():
        if ms / 1000 - last > 0.5:  # one onset per beep (a beep is 40 ms long)
            onsets.append(ms / 1000)
        last = ms / 1000
    return onsets
