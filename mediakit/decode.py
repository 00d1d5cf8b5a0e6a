"""The one pass over a video's frames, and the decoding helpers around it.

Frames are numbered 0, 1, 2… in the order they are presented, and their time is
``pts * time_base`` minus the first frame's, so a file whose streams start late still begins
at 0.0 s and a variable-frame-rate file keeps its true times. PyAV is imported inside the
functions (the web process never loads it through this module).

:func:`run_frame_pass` decodes a video once and hands every frame to every
:class:`FrameConsumer` (cut detectors, keyframe candidates, the thumbnail strip, the motion
meter...). What the consumers of an analysis leave in its scratch directory is described in
:mod:`mediakit.passfiles`.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from mediakit.errors import MediaError

logger = logging.getLogger(__name__)

if TYPE_CHECKING:
    import numpy as np

# The cut signals compare colours, not detail: a 128-pixel copy finds the same cuts on the
# benchmark clips as a 256-pixel one, for less swscale work (bench/RESULTS.md).
ANALYSIS_WIDTH = 128
MOTION_WIDTH = 64


def rotate_image(image: np.ndarray, rotation: int) -> np.ndarray:
    """Turn a decoded picture upright; ``rotation`` is the display matrix angle in degrees.

    The angle is counter-clockwise (FFmpeg's convention, ``frame.rotation`` in PyAV): -90 means
    the picture must be turned 90 degrees clockwise to be shown, as ``ffmpeg`` itself does.
    """
    import cv2

    turn = round(rotation / 90) % 4
    if turn == 0:
        return image
    codes = {1: cv2.ROTATE_90_COUNTERCLOCKWISE, 2: cv2.ROTATE_180, 3: cv2.ROTATE_90_CLOCKWISE}
    return cv2.rotate(image, codes[turn])


@dataclass
class DecodedFrame:
    """One presented frame. Converting to pixels is left to the consumer: it is the costly part."""

    index: int
    time: float
    av_frame: Any  # av.VideoFrame
    rotation: int = 0
    # One per decode: it keeps its swscale context between frames. A new context per frame
    # (``VideoFrame.reformat``) costs more than the scaling itself.
    reformatter: Any = field(default=None, repr=False)
    _small: dict[int, np.ndarray] = field(default_factory=dict, repr=False)

    def bgr(self, width: int | None = None, upright: bool = True) -> np.ndarray:
        """The picture as BGR, scaled to ``width`` (of the stored picture) and turned upright."""
        frame = self.av_frame
        if width is None or width >= frame.width:
            image = frame.to_ndarray(format="bgr24")
        else:
            image = self.small(width).copy()
        return rotate_image(image, self.rotation) if upright else image

    def small(self, width: int = ANALYSIS_WIDTH) -> np.ndarray:
        """A ``width``-pixel-wide BGR copy as stored (not rotated), computed once per width.

        The shrinking and the colour conversion happen together in swscale, which costs a
        fraction of converting the full-size picture first. Copies narrower than
        ``ANALYSIS_WIDTH`` are shrunk from that one, so their pixels do not depend on which
        consumers asked first.
        """
        if width not in self._small:
            self._small[width] = self._scaled(width)
        return self._small[width]

    def grey(self, width: int = MOTION_WIDTH) -> np.ndarray:
        """The ``width``-pixel copy in grey levels, converted once per frame (the motion
        meter and the cut detector's brightness both read it)."""
        key = -width  # beside the colour copies, apart from them
        if key not in self._small:
            import cv2

            self._small[key] = cv2.cvtColor(self.small(width), cv2.COLOR_BGR2GRAY)
        return self._small[key]

    def _scaled(self, width: int) -> np.ndarray:
        import cv2

        frame = self.av_frame
        width = min(width, frame.width)
        height = scaled_height(frame.width, frame.height, width)
        if width < min(ANALYSIS_WIDTH, frame.width):  # cheaper: shrink the analysis copy
            source = self.small(ANALYSIS_WIDTH)
            return cv2.resize(source, (width, height), interpolation=cv2.INTER_AREA)
        # swscale shrinks and converts in one SIMD pass with the stream's own colour matrix
        # and range: about 5x cheaper than OpenCV's INTER_AREA on the full-size planes, and
        # within 1 grey level of converting the full picture first. One thread: its slice
        # threads would only compete with the decoder's frame threads for the same cores.
        if self.reformatter is None:
            from av.video.reformatter import VideoReformatter

            self.reformatter = VideoReformatter()
        small = self.reformatter.reformat(
            frame, width=width, height=height, format="bgr24", interpolation="AREA", threads=1
        )
        pixels: np.ndarray = small.to_ndarray()
        return pixels


def scaled_height(width: int, height: int, new_width: int) -> int:
    """The even height that keeps a ``width`` x ``height`` picture's shape at ``new_width``."""
    return max(2, round(height * new_width / width / 2) * 2)


def _open_video(path: Path) -> Any:
    import av

    try:
        container = av.open(str(path), metadata_errors="ignore")
    except (av.FFmpegError, UnicodeDecodeError) as exc:
        raise MediaError("This file is not a video that can be read.") from exc
    if not container.streams.video:
        container.close()
        raise MediaError("The file has no video stream (is it an audio file?).")
    return container


def decode_tolerant(container: Any, stream: Any) -> Iterator[Any]:
    """Frames of ``stream``, skipping packets the decoder rejects as invalid data.

    A file damaged in the middle still yields every frame that can be read (the decoder
    conceals what it can; a packet it refuses outright is dropped) instead of failing the run.
    """
    import av

    skipped = 0
    for packet in container.demux(stream):
        try:
            frames = packet.decode()
        except av.InvalidDataError as exc:
            skipped += 1
            if skipped == 1:
                logger.warning("skipping undecodable data in %s: %s", container.name, exc)
            continue
        yield from frames
    if skipped:
        logger.warning("%d damaged packets skipped in %s", skipped, container.name)


def iter_frames(path: Path) -> Iterator[DecodedFrame]:
    """Yield every frame of the first video stream, decoded with the codec's own threads.

    Raises:
        MediaError: the file cannot be opened or has no video stream.
    """
    from av.video.reformatter import VideoReformatter

    with _open_video(path) as container:
        stream = container.streams.video[0]
        # Frame and slice threading: several times faster on multi-core machines.
        stream.thread_type = "AUTO"
        fps = float(stream.average_rate or stream.guessed_rate or 25)
        first: float | None = None
        reformatter = VideoReformatter()
        for index, frame in enumerate(decode_tolerant(container, stream)):
            raw = frame.time if frame.time is not None else index / fps  # pts * time_base
            if first is None:
                first = raw
            rotation = int(getattr(frame, "rotation", 0) or 0)
            yield DecodedFrame(index, max(0.0, raw - first), frame, rotation, reformatter)


def iter_frame_ranges(
    path: Path, ranges: Sequence[FrameRange], start: float
) -> Iterator[DecodedFrame]:
    """Yield the frames of ``ranges`` only, each numbered and timed as a whole decode would.

    Each range is sought to (the keyframe before it) and decoded up to its end: the frames
    between that keyframe and the range are decoded but not yielded, the rest of the file is
    not read. A range starts at the frame that a whole decode found at its ``time``.

    Args:
        ranges: in time order, not overlapping.
        start: the presentation time of the video's first frame (the clock's zero).

    Raises:
        MediaError: the file cannot be opened or has no video stream.
    """
    from av.video.reformatter import VideoReformatter

    with _open_video(path) as container:
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        half = 0.5 / float(stream.average_rate or stream.guessed_rate or 25)
        reformatter = VideoReformatter()
        for part in ranges:
            container.seek(int((start + part.time - half) / stream.time_base), stream=stream)
            index = None
            for frame in decode_tolerant(container, stream):
                time = max(0.0, float(frame.time or 0.0) - start)
                if index is None and time < part.time - half:
                    continue  # between the keyframe sought and the range
                index = part.first if index is None else index + 1
                if index >= part.end:
                    break
                rotation = int(getattr(frame, "rotation", 0) or 0)
                yield DecodedFrame(index, time, frame, rotation, reformatter)


@dataclass(frozen=True)
class FrameRange:
    """Frames ``first`` to ``end`` (excluded) of a video; ``time`` is frame ``first``'s."""

    first: int
    time: float
    end: int


_END = object()


def iter_frames_ahead(path: Path, depth: int = 8) -> Iterator[DecodedFrame]:
    """:func:`iter_frames` decoded in a thread of its own, up to ``depth`` frames ahead.

    PyAV lets go of the GIL while FFmpeg demuxes and decodes, so the consumers' Python and
    OpenCV work on one frame overlaps the decoding of the next ones (bench/RESULTS.md, "design
    measurements"). Errors of the decoder (a file that cannot be
    read) are raised here, in the consumer's thread; leaving the loop early stops the decoder.

    Raises:
        MediaError: the file cannot be opened or has no video stream.
    """
    import queue
    import threading

    frames: queue.Queue[Any] = queue.Queue(maxsize=depth)
    stop = threading.Event()
    failure: list[BaseException] = []

    def offer(item: Any) -> bool:
        while not stop.is_set():
            try:
                frames.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def decode() -> None:
        try:
            for frame in iter_frames(path):
                if not offer(frame):
                    return
        except BaseException as exc:  # handed to the consumer's thread, raised there
            failure.append(exc)
        offer(_END)

    thread = threading.Thread(target=decode, name="frame-decoder", daemon=True)
    thread.start()
    try:
        while (item := frames.get()) is not _END:
            yield item
    finally:
        stop.set()
        thread.join()
    if failure:
        raise failure[0]


def frame_start_time(frame: DecodedFrame) -> float:
    """Presentation time of ``frame`` in the file, before the shift that starts the clock at 0."""
    raw = frame.av_frame.pts
    return float(raw * frame.av_frame.time_base) if raw is not None else 0.0


def video_start_time(path: Path) -> float:
    """Presentation time of the first video frame (the zero of every stage's clock).

    Decodes the first frame only, without frame threads (which would read ahead): within a
    run, read what the pass recorded instead (:func:`recorded_start_time`). 0.0 for a file
    without video (an audio file given to the transcript alone) or whose first packets fail.
    """
    import av

    try:
        container = _open_video(path)
    except MediaError:
        return 0.0
    with container:
        stream = container.streams.video[0]
        try:
            for frame in container.decode(stream):
                raw = frame.pts
                return float(raw * frame.time_base) if raw is not None else 0.0
        except av.FFmpegError:
            return 0.0
    return 0.0


class FrameConsumer(Protocol):
    """Something that looks at every frame of the one decode pass."""

    def consume(self, frame: DecodedFrame) -> None: ...

    def finish(self, frame_count: int) -> None: ...


def save_array(path: Path, array: np.ndarray) -> Path:
    """``np.save`` under a temporary name, then rename: never a truncated file."""
    import numpy as np

    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp.npy")
    np.save(tmp, array)
    tmp.replace(path)
    return path


def memmap_frames(path: Path, frame_shape: tuple[int, ...]) -> np.ndarray:
    """The uint8 pictures of ``frame_shape`` written one after another to ``path``,
    memory-mapped read-only as (frames, *frame_shape); empty when the file is."""
    import numpy as np

    count = path.stat().st_size // int(np.prod(frame_shape))
    if count == 0:
        return np.zeros((0, *frame_shape), dtype=np.uint8)
    return np.memmap(path, dtype=np.uint8, mode="r", shape=(count, *frame_shape))


def run_frame_pass(
    path: Path,
    consumers: Iterable[FrameConsumer],
    progress: Any = None,
    expected_frames: int = 0,
    label: str = "Finding cuts",
) -> list[float]:
    """Decode ``path`` once, giving every frame to every consumer; return the frame times.

    ``progress(fraction, message)`` is called for every frame (throttle it yourself); the
    message is ``label`` and the frame count.

    Raises:
        MediaError: no video stream, or not one frame could be decoded.
    """
    consumers = list(consumers)
    times: list[float] = []
    expected = max(expected_frames, 1)
    for frame in iter_frames_ahead(path):
        times.append(frame.time)
        for consumer in consumers:
            consumer.consume(frame)
        if progress is not None:
            progress(
                min(frame.index / expected, 1.0),
                f"{label}: frame {frame.index + 1} of ~{expected}",
            )
    if not times:
        raise MediaError("The video has no frames that can be decoded.")
    for consumer in consumers:
        consumer.finish(len(times))
    return times
