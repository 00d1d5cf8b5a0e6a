"""Shots: split a video at its cuts in one decode pass that other frame consumers share.

:func:`find_shots` decodes the video once, feeds every frame to the chosen cut detector
(:mod:`mediakit.shots.cuts`) and to the caller's ``consumers`` (e.g. a
:class:`mediakit.framepass.PassRecorder`), and turns the cuts into shots that cover the
whole video. Detectors: ``combined`` (cheap signals, TransNetV2 where unsure), ``transnetv2``
and PySceneDetect's ``content``, ``adaptive``, ``threshold``, ``histogram`` and ``hash``.
"""

from __future__ import annotations

import itertools
import shutil
import tempfile
import time
from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mediakit.decode import FrameConsumer, run_frame_pass
from mediakit.shots import cuts as cutdetect
from mediakit.shots.cuts import (
    DETECTORS,
    NETWORK_DETECTORS,
    Backlog,
    UnknownDetector,
    enforce_min_length,
)
from mediakit.transnet.weights import TransNetConfig

__all__ = [
    "DETECTORS",
    "NETWORK_DETECTORS",
    "Shot",
    "ShotsConfig",
    "ShotsResult",
    "UnknownDetector",
    "find_shots",
    "make_detector",
    "pass_share",
    "shots_from_cuts",
]

Progress = Callable[[float, str], None]
DEFAULT_MIN_SECONDS = 0.6


@dataclass(frozen=True)
class Shot:
    start_time: float
    end_time: float
    start_frame: int
    end_frame: int  # exclusive: the first frame of the next shot


@dataclass(frozen=True)
class ShotsConfig:
    """Which detector, at which threshold (its own scale; None: its default), the shortest
    shot kept, and how TransNetV2 runs for the detectors that use it. A shot between two of
    the combined detector's firm cuts (sure hard cuts) is kept however short, down to
    ``cuts.MIN_FIRM_FRAMES`` frames: the minimum is against the detector's doubts.

    Raises:
        UnknownDetector: ``detector`` is not one of ``DETECTORS``.
    """

    detector: str = "combined"
    threshold: float | None = None
    min_seconds: float = DEFAULT_MIN_SECONDS
    network: TransNetConfig = field(default_factory=TransNetConfig)

    def __post_init__(self) -> None:
        if self.detector not in DETECTORS:
            names = ", ".join(DETECTORS)
            raise UnknownDetector(f"Unknown scene detector '{self.detector}'; use one of {names}.")


@dataclass(frozen=True)
class ShotsResult:
    shots: list[Shot]
    frame_times: list[float]  # every decoded frame's time, seconds
    detector: str
    network_frames: int | None  # frames the network was given (None: the detector has none)


def make_detector(config: ShotsConfig, fps: float, workdir: Path | None = None) -> Any:
    """The cut detector of ``config`` (a frame consumer with ``cuts(times)``).

    Without ``workdir`` the detector's frame copies go to a temporary folder, removed once
    the cuts are decided.
    """
    temporary = workdir is None
    folder = Path(tempfile.mkdtemp(prefix="cuts-")) if workdir is None else workdir
    min_frames = round(config.min_seconds * fps)
    try:
        detector = cutdetect.make_detector(
            config.detector, config.threshold, min_frames, folder, fps, config.network
        )
    finally:
        if temporary and not any(folder.iterdir()):
            shutil.rmtree(folder, ignore_errors=True)  # PySceneDetect's keep nothing on disk
    if temporary and hasattr(detector, "signals"):
        detector.signals.temporary = True
    return detector


def detect_cuts(
    path: Path,
    detector: Any,
    consumers: Iterable[FrameConsumer] = (),
    progress: Progress | None = None,
    expected_frames: int = 0,
) -> tuple[list[int], list[float]]:
    """Run the decode pass with ``detector`` and ``consumers``: (cut frames, frame times).

    ``progress(fraction, message)`` is called for every frame (throttle it yourself): the
    pass fills nine tenths, deciding the cuts the last. The pass's share counts the time the
    network's queued windows still need (``pass_share``), and the wait for them after the last
    frame reports too.

    Raises:
        MediaError: no video stream, or not one frame could be decoded.
    """
    started = time.perf_counter()

    def report(fraction: float, message: str) -> None:
        if progress is not None:
            share = pass_share(fraction, time.perf_counter() - started, detector, expected_frames)
            progress(0.9 * share, message)

    def waiting(backlog: Backlog) -> None:
        left = backlog.given - backlog.done
        report(1.0, f"Checking unsure cuts: {left} frames left")

    try:
        times = run_frame_pass(path, [detector, *consumers], report, expected_frames)
        if hasattr(detector, "drain"):
            detector.drain(waiting)
    except BaseException:
        if hasattr(detector, "close"):
            detector.close()  # its own threads (the network's) stop with the pass
        raise
    if progress is not None:
        progress(0.9, "Deciding the cuts")
    return detector.cuts(times), times


def pass_share(decoded: float, elapsed: float, detector: Any, frames: int = 1) -> float:
    """The pass's share done, ``decoded`` of its ``frames`` read in ``elapsed`` seconds: in
    time, not frames. The network works beside the decoder on the windows it is handed, one
    after another; where it falls behind, the pass ends when its queue does (the frames it
    will be handed projected from those handed so far), and the share is the time spent over
    the time spent and left. Until the network finished a window, its frames are taken to
    cost what the decoder's do."""
    backlog: Backlog | None = detector.backlog() if hasattr(detector, "backlog") else None
    if backlog is None or backlog.given == 0 or decoded <= 0 or elapsed <= 0:
        return decoded
    given = backlog.given / decoded
    network_left = backlog.seconds_left(given)
    if network_left is None:
        network_left = (given - backlog.done) * elapsed / max(1.0, decoded * frames)
    decode_left = elapsed * (1.0 - decoded) / decoded
    return min(decoded, elapsed / (elapsed + max(decode_left, network_left)))


def shots_from_cuts(
    cuts: list[int],
    times: list[float],
    fps: float,
    min_seconds: float = 0.0,
    firm: Collection[int] = (),
) -> list[Shot]:
    """Turn cut frames into contiguous shots covering the whole video (no cut: one shot).

    ``min_seconds`` is applied between cuts (``cuts.enforce_min_length``), except between two
    ``firm`` cuts (the detector's sure ones); a real cut close to the end of the file stays,
    since the end is not a detection.
    """
    end_of_video = times[-1] + 1.0 / fps
    cuts = enforce_min_length(cuts, times, min_seconds, firm)
    bounds = [0, *cuts, len(times)]
    shots = []
    for start, end in itertools.pairwise(bounds):
        end_time = times[end] if end < len(times) else end_of_video
        shots.append(Shot(round(times[start], 3), round(end_time, 3), start, end))
    return shots


def find_shots(
    path: Path,
    config: ShotsConfig,
    consumers: Iterable[FrameConsumer] = (),
    *,
    fps: float | None = None,
    expected_frames: int = 0,
    workdir: Path | None = None,
    progress: Progress | None = None,
) -> ShotsResult:
    """Decode ``path`` once: its shots, with every frame also given to ``consumers``.

    Args:
        path: the video.
        config: the detector and its settings.
        consumers: more frame consumers for the same pass.
        fps: the video's frame rate as probed (probed here when None).
        expected_frames: the frame count for progress (probed with ``fps``).
        workdir: where the detector keeps its frame copies (a temporary folder when None).
        progress: ``(fraction, message)`` for every frame; throttle it yourself.

    Raises:
        MediaError: the file cannot be decoded.
    """
    if fps is None:
        from mediakit.probe import probe

        info = probe(path)
        fps, expected_frames = info.fps, expected_frames or info.frame_count
    fps = fps or 25.0
    detector = make_detector(config, fps, workdir)
    cuts, times = detect_cuts(path, detector, consumers, progress, max(expected_frames, 1))
    firm = getattr(detector, "firm", ())  # sure cuts: a short shot between two of them stays
    shots = shots_from_cuts(cuts, times, fps, config.min_seconds, firm)
    network = getattr(detector, "network_frames", None)
    return ShotsResult(shots, times, config.detector, network)
