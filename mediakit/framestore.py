"""Pictures kept from the one decode pass for the stages that run after the cuts are known.

The keyframes of a scene (its middle, and about 1 s after its start) can only be chosen once
the cuts are known, after the pass. So the pass keeps full-size JPEG *candidates*: the frame
1 s after every big picture change (where a cut probably is), or ``SETTLE_SECONDS`` after it
when the next change comes sooner, and between those one at least every
``candidate_interval`` seconds; plus a strip of small thumbnails at a fixed interval for the
timeline. Files, in the run's scratch directory:

``candidates/f0000123.jpg`` + ``candidates.json``
    {"interval": s, "frames": [[frame index, time], ...]}; upright (rotation applied), at
    most ``MAX_CANDIDATE_WIDTH`` pixels wide.
``strip.jpg`` + ``strip.json``
    one row of ``count`` tiles of ``tile_width`` x ``tile_height`` pixels, tile ``i`` showing
    the video at ``i * interval`` seconds; {"interval", "tile_width", "tile_height", "count"}.
``layout.u8``
    every frame shrunk to 8 x 6 pixels (upright, BGR, uint8, 144 bytes a frame, frame order):
    where the colours are, which the storylines compare scenes by (:func:`load_layouts`).
"""

from __future__ import annotations

import bisect
import json
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mediakit.decode import (
    MOTION_WIDTH,
    DecodedFrame,
    memmap_frames,
    rotate_image,
    scaled_height,
)
from mediakit.meters import MotionMeter

if TYPE_CHECKING:
    import numpy as np

CANDIDATES_DIR = "candidates"
CANDIDATES_INDEX = "candidates.json"
STRIP_NAME = "strip.jpg"
STRIP_INDEX = "strip.json"
LAYOUT_NAME = "layout.u8"
LAYOUT_SIZE = (8, 6)  # width, height: cv2's order
JPEG_QUALITY = 88
MAX_CANDIDATE_WIDTH = 1920  # keyframes are for looking at; 4K would fill the disk
MAX_CANDIDATES = 3000  # longer videos get a sparser grid
MAX_TILES = 240
TILE_WIDTH = 160
AFTER_START_SECONDS = 1.0  # the "second frame": what the shot looks like once it has settled
CHANGE_MOTION = 0.08  # a mean luma jump this large is probably a cut: keep frames after it
# The frame this soon after a big change: the one a shot that ends before its frame 1 s in
# gets (the shortest shots, MIN_SCENE_SECONDS = 0.6, have their middle about here).
SETTLE_SECONDS = 0.25
# A shot's last frame is kept (``ends``) when the shot lasted this long: as long as the
# shortest scene. Frame after frame of big changes (a flash, a whip pan) keeps none.
END_MIN_SHOT_SECONDS = 0.6


def candidate_interval(duration: float, wanted: float | None = None) -> float:
    """1 s (or ``wanted``, when shorter), sparser so a long video keeps at most
    ``MAX_CANDIDATES`` grid pictures.

    Encoding a 720p JPEG costs as much as decoding the frame, so a denser grid weighs on the
    shots stage; with the frames kept after the big changes, 1 s still leaves every shot a
    keyframe near its middle (figures: bench/RESULTS.md, "design measurements").
    """
    step = 1.0 if wanted is None else min(1.0, max(wanted, 0.04))
    return max(step, duration / MAX_CANDIDATES)


def tile_interval(duration: float) -> float:
    """1 s, or sparser so the strip holds at most ``MAX_TILES`` tiles (a multiple of 0.5 s)."""
    return max(1.0, round(duration / MAX_TILES * 2 + 0.5) / 2)


def encode_jpeg(image: np.ndarray, width: int | None = None, quality: int = JPEG_QUALITY) -> bytes:
    """JPEG bytes of ``image`` (BGR), scaled down to ``width`` if given."""
    import cv2

    if width is not None and image.shape[1] > width:
        height = max(1, round(image.shape[0] * width / image.shape[1]))
        image = cv2.resize(image, (width, height), interpolation=cv2.INTER_AREA)
    ok, buffer = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, quality])
    if not ok:
        raise ValueError("Could not encode a picture as JPEG.")
    return buffer.tobytes()


def write_picture(
    av_frame: Any, rotation: int, max_width: int, path: Path, reformatter: Any
) -> None:
    """Save a decoded frame as an upright JPEG at most ``max_width`` pixels wide.

    ``reformatter`` (a ``VideoReformatter``) converts the picture and must belong to the
    calling thread: PyAV's own per-frame converter is the pass's thread's, and two threads
    converting the same frame through one swscale context deadlock in its slice threads.
    """
    # One swscale thread: the writer already runs beside the decoder's threads.
    if av_frame.width > max_width:
        height = scaled_height(av_frame.width, av_frame.height, max_width)
        small = reformatter.reformat(
            av_frame,
            width=max_width,
            height=height,
            format="bgr24",
            interpolation="AREA",
            threads=1,
        )
    else:  # as ``to_ndarray`` converts
        small = reformatter.reformat(av_frame, format="bgr24", threads=1)
    path.write_bytes(encode_jpeg(rotate_image(small.to_ndarray(), rotation)))


class BackgroundWriter:
    """Runs picture saves in one thread beside the frame pass, at most ``pending`` queued.

    Converting a frame to BGR and encoding it as JPEG happens in FFmpeg and libjpeg, which let
    go of the GIL: done beside the pass, it uses the CPU the decoder leaves idle instead of
    holding up the next frame. A failed save is raised by the next ``submit``
    or by ``close``.
    """

    def __init__(self, pending: int = 4) -> None:
        from concurrent.futures import ThreadPoolExecutor

        from av.video.reformatter import VideoReformatter

        self._pool = ThreadPoolExecutor(1, thread_name_prefix="picture-writer")
        # The one thread's own converter: the frames' are used by the pass's thread.
        self.reformatter = VideoReformatter()
        self._pending: list[Any] = []
        self._limit = pending

    def submit(self, fn: Any, *args: Any) -> None:
        self._pending.append(self._pool.submit(fn, *args))
        while len(self._pending) > self._limit:
            self._pending.pop(0).result()

    def close(self) -> None:
        """Wait for every save; raise the first failure."""
        try:
            for future in self._pending:
                future.result()
        finally:
            self._pending.clear()
            self._pool.shutdown(wait=True)


class KeyframeCandidates:
    """Keeps, as JPEG files, the frame ``after`` seconds after every big change, a frame
    whenever ``interval`` seconds passed since the last one kept or the last big change, and
    the frame ``SETTLE_SECONDS`` after a big change when the next big change comes before
    ``after`` seconds (a shot too short for the others to fall inside).

    That last frame is held (neither converted nor encoded yet) until its shot has lasted
    ``after`` seconds (then it is dropped: the frame ``after`` stands for the shot) or a big
    change ends the shot first (then it is kept). With ``follow`` set, the frame ``follow`` seconds
    after each kept frame is kept too (the audio-description mode compares a frame with one a
    moment later to see movement). With ``ends`` set, the last frame before each big change
    (and the video's last) is kept apart, as the *end* of its shot, when the shot lasted
    ``END_MIN_SHOT_SECONDS``: what a screen shows once everything is typed in, the title
    fully faded in, often shows only there (:func:`load_end_frames`).
    """

    def __init__(
        self,
        workdir: Path,
        interval: float,
        motion: MotionMeter | None = None,
        *,
        after: float = AFTER_START_SECONDS,
        follow: float | None = None,
        max_width: int = MAX_CANDIDATE_WIDTH,
        ends: bool = False,
    ) -> None:
        self.folder = workdir / CANDIDATES_DIR
        self.folder.mkdir(parents=True, exist_ok=True)
        self.index_path = workdir / CANDIDATES_INDEX
        self.interval = interval
        self.motion = motion  # consumes each frame before this one does
        self.after, self.follow, self.max_width = after, follow, max_width
        self.saved: list[tuple[int, float]] = []
        self.ends: list[tuple[int, float]] | None = [] if ends else None
        self._previous: DecodedFrame | None = None  # the frame before, unless it was kept
        self._shot_start = 0.0  # when the last big change came
        self._next = 0.0  # the grid's next frame: ``interval`` after the last kept or change
        self._after: list[float] = [after]
        self._followers: list[float] = []
        self._settle: list[float] = []  # when the frames SETTLE_SECONDS after changes come
        self._held: tuple[DecodedFrame, float] | None = None  # a settle frame, and until when
        self._writer = BackgroundWriter()

    def consume(self, frame: DecodedFrame) -> None:
        time = frame.time
        wanted = self._due(self._after, time) or time >= self._next - 1e-6
        followed = self._due(self._followers, time)
        settling = self._due(self._settle, time)
        if self._held is not None and time >= self._held[1] - 1e-6:
            self._held = None  # its shot lasted: the frame ``after`` into it stands for it
        if wanted:
            self._next = time + self.interval
            if self.follow is not None:
                bisect.insort(self._followers, time + self.follow)
        if self.motion is not None and self.motion.values[-1] >= CHANGE_MOTION:
            self._end_shot()
            self._changed(time)
        if wanted or followed:
            self._save(frame)
        elif settling:
            self._held = (frame, time - SETTLE_SECONDS + self.after)
        self._previous = None if wanted or followed else frame

    def _changed(self, time: float) -> None:
        """A big change (probably a cut) at ``time``: the shot before it ends here."""
        if self._held is not None:
            self._save(self._held[0])  # that shot was shorter than ``after``
            self._held = None
        # Frames still due for earlier shots would fall into this one, which gets its own.
        self._after = [time + self.after]
        # With ``after`` that soon, its own frame is the short shot's.
        self._settle = [time + SETTLE_SECONDS] if self.after > SETTLE_SECONDS else []
        self._next = time + self.interval  # the grid starts again at the cut
        self._shot_start = time

    def _end_shot(self) -> None:
        """Keep the frame before a big change as its shot's end, if asked and not kept yet."""
        previous, self._previous = self._previous, None
        if self.ends is None or previous is None:
            return
        if previous.time - self._shot_start >= END_MIN_SHOT_SECONDS - 1e-6:
            self._save(previous, self.ends)

    @staticmethod
    def _due(times: list[float], time: float) -> bool:
        """Whether the first of ``times`` has come; drops every time that has."""
        if not times or time < times[0] - 1e-6:
            return False
        times[:] = [t for t in times if t > time + 1e-6]
        return True

    def _save(self, frame: DecodedFrame, into: list[tuple[int, float]] | None = None) -> None:
        path = self.folder / f"f{frame.index:07d}.jpg"
        self._writer.submit(
            write_picture,
            frame.av_frame,
            frame.rotation,
            self.max_width,
            path,
            self._writer.reformatter,
        )
        (self.saved if into is None else into).append((frame.index, round(frame.time, 4)))

    def finish(self, frame_count: int) -> None:
        if self._held is not None:  # the video ended less than ``after`` into its last shot
            self._save(self._held[0])
            self._held = None
        self._end_shot()  # the video's last frame ends its last shot
        self._writer.close()
        self.saved.sort()  # a held frame is saved after later ones
        data: dict[str, Any] = {"interval": self.interval, "frames": self.saved}
        if self.ends is not None:
            data["ends"] = self.ends
        self.index_path.write_text(json.dumps(data))


@dataclass(frozen=True)
class Candidate:
    index: int
    time: float
    path: Path


def load_candidates(workdir: Path) -> list[Candidate] | None:
    """The candidates the pass kept, in order; None when the pass left none (e.g. resumed
    on another machine)."""
    index = workdir / CANDIDATES_INDEX
    if not index.exists():
        return None
    frames = json.loads(index.read_text())["frames"]
    folder = workdir / CANDIDATES_DIR
    found = [Candidate(i, t, folder / f"f{i:07d}.jpg") for i, t in frames]
    return [c for c in found if c.path.exists()] or None


def load_end_frames(workdir: Path) -> list[Candidate]:
    """The shots' last frames the pass kept (``KeyframeCandidates`` with ``ends``), in
    order; none when it kept none."""
    index = workdir / CANDIDATES_INDEX
    if not index.exists():
        return []
    ends = json.loads(index.read_text()).get("ends", [])
    found = [Candidate(i, t, workdir / CANDIDATES_DIR / f"f{i:07d}.jpg") for i, t in ends]
    return [c for c in found if c.path.exists()]


class ThumbnailStrip:
    """One horizontal sprite of small upright thumbnails every ``interval`` seconds."""

    def __init__(self, workdir: Path, interval: float, tile_width: int = TILE_WIDTH) -> None:
        self.workdir = workdir
        self.interval = interval
        self.tile_width = tile_width
        self.tile_height = 0
        self.tiles: list[np.ndarray] = []

    def consume(self, frame: DecodedFrame) -> None:
        import cv2

        if frame.time < len(self.tiles) * self.interval - 1e-6:
            return
        image = frame.bgr(self.tile_width)
        if not self.tile_height:
            ratio = image.shape[0] / image.shape[1]
            self.tile_height = max(2, round(self.tile_width * ratio / 2) * 2)
        size = (self.tile_width, self.tile_height)
        tile = cv2.resize(image, size, interpolation=cv2.INTER_AREA)
        while frame.time >= len(self.tiles) * self.interval - 1e-6:  # repeat over VFR gaps
            self.tiles.append(tile)

    def finish(self, frame_count: int) -> None:
        import numpy as np

        if not self.tiles:
            return
        (self.workdir / STRIP_NAME).write_bytes(encode_jpeg(np.hstack(self.tiles), quality=80))
        (self.workdir / STRIP_INDEX).write_text(json.dumps(self.describe()))

    def describe(self) -> dict[str, Any]:
        return {
            "interval": self.interval,
            "tile_width": self.tile_width,
            "tile_height": self.tile_height,
            "count": len(self.tiles),
        }


def load_strip(workdir: Path) -> tuple[Path, dict[str, Any]] | None:
    """(strip JPEG, its description) if the pass made one."""
    image, index = workdir / STRIP_NAME, workdir / STRIP_INDEX
    if not (image.exists() and index.exists()):
        return None
    return image, json.loads(index.read_text())


class LayoutStore:
    """Writes every frame shrunk to 8 x 6 pixels, upright, to ``layout.u8``."""

    def __init__(self, workdir: Path) -> None:
        workdir.mkdir(parents=True, exist_ok=True)
        self._file = (workdir / LAYOUT_NAME).open("wb")

    def consume(self, frame: DecodedFrame) -> None:
        import cv2

        # The motion meter's small copy: computed for every frame anyway.
        small = rotate_image(frame.small(MOTION_WIDTH), frame.rotation)
        self._file.write(cv2.resize(small, LAYOUT_SIZE, interpolation=cv2.INTER_AREA).tobytes())

    def finish(self, frame_count: int) -> None:
        self._file.close()


def load_layouts(workdir: Path) -> np.ndarray | None:
    """Every frame's 8 x 6 picture, memory-mapped (frames, 6, 8, 3) uint8 BGR; None if absent."""
    path = workdir / LAYOUT_NAME
    if not path.exists():
        return None
    return memmap_frames(path, (LAYOUT_SIZE[1], LAYOUT_SIZE[0], 3))
