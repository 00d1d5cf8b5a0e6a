"""How much the picture moves in each scene: mean absolute difference of small grey frames.

The shots stage's decode pass leaves every frame's difference to the one before in the run's
scratch directory (``motion.npy``, see ``analysis.pipeline.decode``): when it is there, that
is used, scaled to frames ``STEP_SECONDS`` apart. Otherwise (a resumed run whose scratch
files are gone) the video is sampled here without decoding it all again: the decoder seeks
to each scene (encoders put a keyframe at most cuts, so the seek lands close), decodes about
a second and compares frames ``STEP_SECONDS`` apart. Scenes that follow each other closely are
read without seeking; a long run-up to a window skips non-reference frames.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from analysis.pipeline.stages.common import SceneSpan

if TYPE_CHECKING:
    import numpy as np

SAMPLE_WIDTH = 96  # grey thumbnails: motion is about large areas, not detail
STEP_SECONDS = 0.2
WINDOW_SECONDS = 1.2
SEEK_AHEAD_SECONDS = 2.0  # closer than this, decoding on is cheaper than seeking
FAST_FORWARD_SECONDS = 1.0  # further than this before a window, skip non-reference frames
# Mean absolute grey difference (0..1) between frames 0.2 s apart, upper bounds per label;
# measured on locked-off, hand-held and action footage.
ACTION_LEVELS = ((0.012, "static"), (0.035, "calm"), (0.08, "moving"))
FAST_LABEL = "fast motion"


@dataclass(frozen=True)
class Window:
    scene_index: int
    start: float
    end: float


def action_label(motion: float) -> str:
    """A word for a motion value: static, calm, moving or fast motion."""
    for bound, label in ACTION_LEVELS:
        if motion < bound:
            return label
    return FAST_LABEL


def windows_for(scenes: list[SceneSpan]) -> list[Window]:
    """One sampling window per scene, a little after its start, inside the scene."""
    result = []
    for scene in scenes:
        duration = scene.end_time - scene.start_time
        start = scene.start_time + min(0.1, duration * 0.1)
        end = min(start + WINDOW_SECONDS, scene.end_time - min(0.04, duration * 0.1))
        result.append(Window(scene.index, start, max(start, end)))
    return result


def _grey(frame: Any) -> np.ndarray:
    import numpy as np

    height = max(2, round(frame.height * SAMPLE_WIDTH / frame.width / 2) * 2)
    pixels = frame.to_ndarray(width=SAMPLE_WIDTH, height=height, format="gray")
    return pixels.astype(np.float32) / 255.0


class _Reader:
    """Frames in time order with seeking; times are relative to the first video frame."""

    def __init__(self, container: Any, stream: Any, origin: float) -> None:
        self.container, self.stream, self.origin = container, stream, origin
        self.frames: Any = None
        self.position = -1.0  # time of the last decoded frame

    def seek(self, seconds: float) -> None:
        target = int((self.origin + max(0.0, seconds)) / self.stream.time_base)
        self.container.seek(target, stream=self.stream, backward=True, any_frame=False)
        self.frames, self.position = None, -1.0

    def next_frame(self) -> Any | None:
        if self.frames is None:
            self.frames = self.container.decode(self.stream)
        frame = next(self.frames, None)
        if frame is not None and frame.time is not None:
            self.position = frame.time - self.origin
        return frame


def _sample_window(reader: _Reader, window: Window) -> float | None:
    """Mean grey difference over the window, or None when no two frames could be read."""
    import numpy as np

    context = reader.stream.codec_context
    previous: np.ndarray | None = None
    diffs: list[float] = []
    wanted = window.start
    while True:
        fast = reader.position < wanted - FAST_FORWARD_SECONDS
        context.skip_frame = "NONREF" if fast else "DEFAULT"
        frame = reader.next_frame()
        if frame is None or reader.position > window.end + STEP_SECONDS:
            break
        if reader.position + 1e-3 < wanted:
            continue
        grey = _grey(frame)
        if previous is not None and previous.shape == grey.shape:
            diffs.append(float(np.mean(np.abs(grey - previous))))
        previous, wanted = grey, reader.position + STEP_SECONDS
        if wanted > window.end:
            break
    context.skip_frame = "DEFAULT"
    return float(np.mean(diffs)) if diffs else (0.0 if previous is not None else None)


def shared_motion(workdir: Path, scenes: list[SceneSpan], fps: float) -> dict[int, float] | None:
    """Scene index -> motion from the shots stage's ``motion.npy``, or None without it."""
    from analysis.pipeline.decode import MOTION_NAME
    from analysis.pipeline.decode import scene_motion as frame_motion

    if not (workdir / MOTION_NAME).exists():
        return None
    # Differences between neighbouring frames grow about linearly with the gap between them.
    step = max(1.0, fps * STEP_SECONDS)
    return {
        s.index: round(min(1.0, frame_motion(workdir, s.start_frame, s.end_frame) * step), 5)
        for s in scenes
    }


def scene_motion(
    path: Path, scenes: list[SceneSpan], progress: Callable[[float, str], None] | None = None
) -> dict[int, float]:
    """Scene index -> motion (0 = still picture; about 0.1 and more = fast action)."""
    import av

    from analysis.pipeline.decode import video_start_time

    windows = windows_for(scenes)
    result: dict[int, float] = {}
    origin = video_start_time(path)
    with av.open(str(path), metadata_errors="ignore") as container:
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        reader = _Reader(container, stream, origin)
        for done, window in enumerate(windows):
            ahead = window.start - reader.position
            if reader.position < 0 or ahead < 0 or ahead > SEEK_AHEAD_SECONDS:
                reader.seek(window.start)
            value = _sample_window(reader, window)
            result[window.scene_index] = round(value or 0.0, 5)
            if progress:
                progress(done / max(1, len(windows)), f"Motion of scene {done + 1}")
    return result
