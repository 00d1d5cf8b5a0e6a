"""Decoding shared by the stages: one pass over the video frames, and the audio track.

Frames are numbered 0, 1, 2… in the order they are presented, and their time is
``pts * time_base`` minus the first frame's, so a file whose streams start late still begins
at 0.0 s and a variable-frame-rate file keeps its true times. PyAV is imported inside the
functions (the web process never loads it through this module).

The shots stage makes the one decode pass of a run (``run_frame_pass``): every consumer of
frames (cut detectors, keyframe candidates, the thumbnail strip, the motion measure) gets each
frame there, and leaves what later stages need in the run's scratch directory:

``motion.npy``
    float32, one value per frame: the mean absolute difference of the luma (0..1) between the
    frame and the one before it, on a 64-pixel-wide copy (0.0 for frame 0). Read it with
    :func:`scene_motion`; the first frame of a scene is left out (its difference is the cut).
``frame_times.npy``
    float64, every frame's time in seconds.
``frame_pass.json``
    {"start_time": s, "frames": n}: the first frame's presentation time in the file (the zero
    of every stage's clock, which the audio decoder aligns to) and the number of frames.
    Written last, so its presence says the pass finished (see ``analysis.pipeline.framepass``).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from analysis.media import MediaError

logger = logging.getLogger(__name__)

if TYPE_CHECKING:
    import numpy as np

SAMPLE_RATE = 16_000
AUDIO_CACHE_NAME = "audio16k.npy"
MOTION_NAME = "motion.npy"
TIMES_NAME = "frame_times.npy"
PASS_NAME = "frame_pass.json"
# The cut signals compare colours, not detail: a 128-pixel copy finds the same cuts on the
# benchmark clips as a 256-pixel one, and swscale makes it for 30% less (bench/shots.py).
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
        return small.to_ndarray()


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


_END = object()


def iter_frames_ahead(path: Path, depth: int = 8) -> Iterator[DecodedFrame]:
    """:func:`iter_frames` decoded in a thread of its own, up to ``depth`` frames ahead.

    PyAV lets go of the GIL while FFmpeg demuxes and decodes, so the consumers' Python and
    OpenCV work on one frame overlaps the decoding of the next ones: the frame pass of the
    benchmark clip takes 5.8 s instead of 7.0 s. Errors of the decoder (a file that cannot be
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


def record_pass(workdir: Path, start_time: float, frames: int) -> Path:
    """Write ``frame_pass.json``, the mark that every file of the pass is complete."""
    path = workdir / PASS_NAME
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps({"start_time": start_time, "frames": frames}))
    tmp.replace(path)
    return path


def recorded_start_time(workdir: Path) -> float | None:
    """The first frame's time the pass recorded in ``workdir``; None when no pass finished."""
    path = workdir / PASS_NAME
    if not path.exists():
        return None
    return float(json.loads(path.read_text())["start_time"])


class FrameConsumer(Protocol):
    """Something that looks at every frame of the one decode pass."""

    def consume(self, frame: DecodedFrame) -> None: ...

    def finish(self, frame_count: int) -> None: ...


def mean_abs_difference(a: np.ndarray, b: np.ndarray) -> float:
    """Mean of ``|a - b|`` over every pixel and channel of two uint8 pictures of one shape.

    OpenCV's saturating ``absdiff`` on uint8 is exact here and, with ``mean``, several times
    cheaper than numpy's widening to int16 first (this runs for every frame of the pass).
    """
    import cv2

    channels = a.shape[2] if a.ndim == 3 else 1
    return float(sum(cv2.mean(cv2.absdiff(a, b))[:channels]) / channels)


class StartClock:
    """Keeps the first frame's presentation time (see :func:`frame_start_time`)."""

    def __init__(self) -> None:
        self.value: float | None = None

    def consume(self, frame: DecodedFrame) -> None:
        if self.value is None:
            self.value = frame_start_time(frame)

    def finish(self, frame_count: int) -> None:
        return None


class MotionMeter:
    """Per-frame motion: mean absolute luma difference to the previous frame, 0..1."""

    def __init__(self) -> None:
        self.values: list[float] = []
        self._previous: np.ndarray | None = None

    def consume(self, frame: DecodedFrame) -> None:
        import cv2

        grey = cv2.cvtColor(frame.small(MOTION_WIDTH), cv2.COLOR_BGR2GRAY)
        previous = self._previous
        if previous is not None and previous.shape == grey.shape:
            self.values.append(mean_abs_difference(grey, previous) / 255)
        else:
            self.values.append(0.0)
        self._previous = grey

    def finish(self, frame_count: int) -> None:
        return None

    def save(self, workdir: Path) -> Path:
        import numpy as np

        return save_array(workdir / MOTION_NAME, np.asarray(self.values, dtype=np.float32))


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


def scene_motion(workdir: Path, start_frame: int, end_frame: int) -> float:
    """Mean motion of frames ``(start_frame, end_frame)`` from ``motion.npy`` (0 = still).

    The scene's first frame is left out: its difference to the previous frame is the cut.
    Returns 0.0 when the file is missing or the range holds no frame.
    """
    import numpy as np

    path = workdir / MOTION_NAME
    if not path.exists():
        return 0.0
    motion = np.load(path, mmap_mode="r")
    values = motion[max(start_frame + 1, 0) : max(end_frame, 0)]
    return float(np.mean(values)) if values.size else 0.0


def load_audio(path: Path, workdir: Path) -> np.ndarray | None:
    """The audio track as mono float32 at 16 kHz, aligned to the first video frame.

    Decoded once per run and cached in ``workdir`` for the later stages; ``None`` when the file
    has no audio stream. The first frame's time comes from the frame pass when it ran already.
    """
    import numpy as np

    cache = workdir / AUDIO_CACHE_NAME
    if cache.exists():
        return np.load(cache)
    samples = decode_audio(path, recorded_start_time(workdir))
    if samples is None:
        return None
    save_array(cache, samples)  # a killed run never leaves a truncated cache behind
    return samples


def decode_audio(path: Path, video_start: float | None = None) -> np.ndarray | None:
    """Mono 16 kHz float32 samples, sample 0 at the first video frame; None without audio.

    ``video_start`` is the first frame's time when known (else one frame is decoded for it).
    """
    import av
    import numpy as np

    with av.open(str(path), metadata_errors="ignore") as container:
        if not container.streams.audio:
            return None
        stream = container.streams.audio[0]
        resampler = av.AudioResampler(format="flt", layout="mono", rate=SAMPLE_RATE)
        chunks: list[np.ndarray] = []
        audio_start: float | None = None
        for frame in decode_tolerant(container, stream):
            if audio_start is None:
                audio_start = frame.time
            chunks.extend(out.to_ndarray().reshape(-1) for out in resampler.resample(frame))
        chunks.extend(out.to_ndarray().reshape(-1) for out in resampler.resample(None))
    samples = np.concatenate(chunks) if chunks else np.zeros(0, dtype=np.float32)
    if video_start is None:
        video_start = video_start_time(path)
    offset = (audio_start or 0.0) - video_start
    return _align(samples.astype(np.float32, copy=False), offset)


def _align(samples: np.ndarray, offset: float) -> np.ndarray:
    """Shift audio so sample 0 is at the first video frame (pad with silence or trim)."""
    import numpy as np

    shift = round(offset * SAMPLE_RATE)
    if shift > 0:
        return np.concatenate([np.zeros(shift, dtype=np.float32), samples])
    return samples[-shift:] if shift < 0 else samples
