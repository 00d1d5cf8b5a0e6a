"""The combined detector decides while the video is read: the same cuts as deciding at the end.

The oracle below is the detector's rules applied once to the whole recorded signal (how the
detector worked before it streamed); the detector under test looks every ``STREAM_CHUNK``
frames and runs the network windows in its own thread as soon as they are complete.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from mediakit.decode import iter_frames, run_frame_pass
from mediakit.shots import cuts
from mediakit.transnet import TransNetConfig
from mediakit.transnet import infer as transnet
from tests.fixtures_media import Transitions


def decide_at_the_end(detector: cuts.CombinedDetector) -> tuple[list[int], int]:
    """(cuts, network frames) from the whole recorded signal at once."""
    config = detector.config
    content = np.asarray(detector.signals.content, dtype=np.float64)
    luma = np.asarray(detector.signals.luma, dtype=np.float64)
    tiny = detector.signals.tiny()
    sure, unsure, flashes = cuts.spike_candidates(content, luma, tiny, config)
    times = np.asarray(detector.signals.times, dtype=np.float64)
    sure = sorted(sure + cuts.jump_cuts(content, times, tiny, config))
    unsure |= cuts.drift_candidates(tiny, config, sure + sorted(unsure))
    found = list(sure) + cuts.fade_cuts(luma, config)
    spans = cuts.regions(sorted(unsure), len(content), config)
    seen = 0
    for window in transnet.plan_windows(spans, len(tiny), config.window_pad):
        seen += window.hi - window.lo
        for start, single, many in transnet.predict_window(
            window, tiny[window.lo : window.hi], TransNetConfig("cpu")
        ):
            found += transnet.transitions(single, many, start, config.threshold)
    return sorted({c for c in found if 0 < c < len(content) and c not in flashes}), seen


def stream(path: Path, workdir: Path) -> tuple[cuts.CombinedDetector, list[int], int]:
    """(detector, its cuts, network frames sent while the video was still being read)."""
    detector = cuts.CombinedDetector(workdir, network=TransNetConfig("cpu"))
    times = run_frame_pass(path, [detector])
    early = detector._network.frames
    return detector, detector.cuts(times), early


@pytest.mark.parametrize("chunk", [24, 61, 256])
def test_streaming_finds_the_cuts_of_deciding_at_the_end(
    transitions_clip: Transitions,
    bikes_clip: Path,
    pan_flash_clip: Path,
    tmp_path: Path,
    monkeypatch: Any,
    chunk: int,
) -> None:
    monkeypatch.setattr(cuts, "STREAM_CHUNK", chunk)
    sent_early = 0
    for number, path in enumerate([transitions_clip.path, bikes_clip, pan_flash_clip]):
        detector, found, early = stream(path, tmp_path / str(number))
        expected, seen = decide_at_the_end(detector)
        assert found == expected, path.name
        assert detector.network_frames == seen, path.name
        sent_early += early
    if chunk < 100:  # these clips are 100-250 frames long: short chunks close windows early
        assert sent_early > 0, "no network window ran while the video was being read"
    dissolve = transitions_clip.spans[1]
    assert any(
        dissolve[0] <= c <= dissolve[1]
        for c in stream(transitions_clip.path, tmp_path / "again")[1]
    )


def test_closing_stops_the_network_thread(
    bikes_clip: Path, tmp_path: Path, monkeypatch: Any
) -> None:
    """A pass that fails or is cancelled does not leave the network's thread behind."""
    monkeypatch.setattr(cuts, "STREAM_CHUNK", 16)
    detector = cuts.CombinedDetector(tmp_path, network=TransNetConfig("cpu"))
    for frame in iter_frames(bikes_clip):
        detector.consume(frame)
        if detector._network.frames:
            break
    assert detector._network.frames, "the change at 42-46 should reach the network mid-pass"
    assert any(t.name.startswith("transnet") for t in threading.enumerate())
    detector.close()
    assert not any(t.name.startswith("transnet") for t in threading.enumerate())


class Breaks:
    """A frame consumer that fails at ``frame``, as a damaged file or a full disk would."""

    def __init__(self, frame: int) -> None:
        self.frame = frame

    def consume(self, frame: Any) -> None:
        if frame.index == self.frame:
            raise OSError("No space left on device")

    def finish(self, frame_count: int) -> None:
        return None


def test_a_failing_pass_stops_the_network_thread(
    bikes_clip: Path, tmp_path: Path, monkeypatch: Any
) -> None:
    from mediakit.shots import detect_cuts

    monkeypatch.setattr(cuts, "STREAM_CHUNK", 16)
    detector = cuts.CombinedDetector(tmp_path, network=TransNetConfig("cpu"))
    with pytest.raises(OSError, match="No space"):
        detect_cuts(bikes_clip, detector, [Breaks(200)])
    assert detector._network.frames, "a window should have been sent before frame 200"
    assert not any(t.name.startswith("transnet") for t in threading.enumerate())


def test_the_pass_reports_the_network_s_backlog(
    transitions_clip: Transitions, tmp_path: Path, monkeypatch: Any
) -> None:
    """Every window is left for after the last frame (chunks longer than the clip): the wait
    for the network reports how many of its frames are left, until none."""
    monkeypatch.setattr(cuts, "STREAM_CHUNK", 10_000)
    detector = cuts.CombinedDetector(tmp_path, network=TransNetConfig("cpu"))
    times = run_frame_pass(transitions_clip.path, [detector])
    assert detector.backlog().given == 0  # nothing was sent while the video was read
    waits: list[cuts.Backlog] = []
    detector.drain(waits.append, every=0.0)
    assert waits and waits[0].done < waits[0].given
    backlog = detector.backlog()
    assert backlog.given == backlog.done == detector.network_frames > 0 and backlog.busy > 0
    assert detector.cuts(times) == decide_at_the_end(detector)[0]


def test_the_pass_s_progress_stays_below_the_decision(
    transitions_clip: Transitions, tmp_path: Path, monkeypatch: Any
) -> None:
    from mediakit.shots import detect_cuts

    monkeypatch.setattr(cuts, "STREAM_CHUNK", 10_000)
    detector = cuts.CombinedDetector(tmp_path, network=TransNetConfig("cpu"))
    reports: list[tuple[float, str]] = []
    detect_cuts(
        transitions_clip.path,
        detector,
        progress=lambda fraction, message: reports.append((fraction, message)),
        expected_frames=transitions_clip.frames,
    )
    # Nine tenths is the pass done (frames read and the network's windows too).
    assert all(f <= 0.9 for f, _m in reports)
    waiting = [
        f for f, m in reports if m.startswith("Checking") and not m.endswith(": 0 frames left")
    ]
    assert all(f < 0.9 for f in waiting)
    assert reports[-1] == (0.9, "Deciding the cuts")


def test_the_pass_share_counts_the_time_the_network_needs() -> None:
    class Behind:
        """Half the frames read in 10 s; the network did 20 of the 100 frames it was given,
        in 10 s: it will be given about 200, at 0.5 s each."""

        def backlog(self) -> cuts.Backlog:
            return cuts.Backlog(given=100, done=20, busy=10.0)

    from mediakit.shots import pass_share

    # 10 s spent, 90 s left for the network (the decoder's 10 s run beside it).
    assert pass_share(0.5, 10.0, Behind()) == pytest.approx(10.0 / 100.0)
    # No window done yet: the network's frames are taken to cost the decoder's (20 ms each):
    # about 800 frames, 16 s.
    pending = type("Pending", (), {"backlog": lambda self: cuts.Backlog(400, 0, 0.0)})()
    assert pass_share(0.5, 10.0, pending, frames=1000) == pytest.approx(10.0 / 26.0)
    # A detector without a network: the share of the frames read.
    assert pass_share(0.5, 10.0, object()) == 0.5
    # The network keeps up: the decoder's share.
    ahead = cuts.Backlog(given=100, done=100, busy=1.0)
    assert pass_share(0.5, 10.0, type("Ahead", (), {"backlog": lambda self: ahead})()) == 0.5


def test_the_network_over_every_frame_reports_its_progress(
    transitions_clip: Transitions, tmp_path: Path
) -> None:
    """SCENE_DETECTOR=transnetv2 runs the network after the last frame: that wait reports
    frames left and a rising share below the decision, and the cuts are the network's own."""
    from mediakit.shots import detect_cuts

    detector = cuts.TransNetDetector(tmp_path, network=TransNetConfig("cpu"))
    reports: list[tuple[float, str]] = []
    found, _times = detect_cuts(
        transitions_clip.path,
        detector,
        progress=lambda fraction, message: reports.append((fraction, message)),
        expected_frames=transitions_clip.frames,
    )
    waiting = [(f, m) for f, m in reports if m.startswith("Checking")]
    assert waiting, "no progress while the network ran"
    assert waiting[0][1] != "Checking unsure cuts: 0 frames left"  # reported after one window
    fractions = [f for f, _m in waiting]
    assert fractions == sorted(fractions) and fractions[0] < 0.9 and fractions[-1] <= 0.9
    read = [f for f, m in reports if not m.startswith(("Checking", "Deciding"))]
    assert max(read) < 0.9 * 0.75, "the decode alone should leave the network its share"
    single, many = transnet.predict_all(detector.signals.tiny(), TransNetConfig("cpu"))
    assert found == transnet.transitions(single, many, 0, 0.5)
