"""The frame pass's helper threads: decoding ahead of the consumers, and saving pictures beside
them. Checked on clips the tests make: same frames as a plain decode, errors raised in the
caller's thread, no thread left behind."""

from __future__ import annotations

import threading
from pathlib import Path

import cv2
import pytest

from mediakit.decode import iter_frames, iter_frames_ahead
from mediakit.framestore import BackgroundWriter, KeyframeCandidates
from mediakit.probe import MediaError
from tests.fixtures_media import Clip, ffmpeg


def helper_threads(prefix: str) -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name.startswith(prefix) and t.is_alive()]


def test_decoding_ahead_gives_the_same_frames(shots_clip: Clip) -> None:
    plain = [(f.index, f.time, f.small(64).tobytes()) for f in iter_frames(shots_clip.path)]
    ahead = [
        (f.index, f.time, f.small(64).tobytes()) for f in iter_frames_ahead(shots_clip.path, 3)
    ]
    assert len(plain) == shots_clip.frames
    assert ahead == plain
    assert not helper_threads("frame-decoder")


def test_leaving_early_stops_the_decoder(shots_clip: Clip) -> None:
    frames = iter_frames_ahead(shots_clip.path, 2)
    first = [next(frames).index for _ in range(3)]
    frames.close()  # what a consumer's exception does to the generator
    assert first == [0, 1, 2]
    assert not helper_threads("frame-decoder")


def test_a_decoder_error_is_raised_in_the_callers_thread(tmp_path: Path) -> None:
    text = tmp_path / "notes.mp4"
    text.write_text("not a video\n" * 100)
    with pytest.raises(MediaError, match="not a video"):
        list(iter_frames_ahead(text))
    assert not helper_threads("frame-decoder")


def test_candidates_are_saved_beside_the_pass_and_complete_at_finish(
    shots_clip: Clip, tmp_path: Path
) -> None:
    candidates = KeyframeCandidates(tmp_path, interval=0.5)
    count = 0
    for frame in iter_frames_ahead(shots_clip.path):
        candidates.consume(frame)
        count += 1
    candidates.finish(count)
    assert len(candidates.saved) == pytest.approx(shots_clip.duration / 0.5, abs=1)
    for index, _time in candidates.saved:
        image = cv2.imread(str(tmp_path / "candidates" / f"f{index:07d}.jpg"))
        assert image is not None and image.shape == (240, 320, 3)
    assert not helper_threads("picture-writer")


def test_wide_frames_are_saved_at_the_width_limit(tmp_path: Path) -> None:
    wide = tmp_path / "wide.mp4"
    ffmpeg(
        "-f",
        "lavfi",
        "-i",
        "testsrc2=size=2400x300:rate=25:duration=0.2",
        "-pix_fmt",
        "yuv420p",
        str(wide),
    )
    candidates = KeyframeCandidates(tmp_path / "run", interval=10.0, max_width=1200)
    for frame in iter_frames_ahead(wide):
        candidates.consume(frame)
    candidates.finish(5)
    (index, _), *_ = candidates.saved
    image = cv2.imread(str(tmp_path / "run" / "candidates" / f"f{index:07d}.jpg"))
    assert image.shape == (150, 1200, 3)


def test_a_failed_save_is_raised_and_the_writer_stops() -> None:
    def fail() -> None:
        raise OSError("disk full")

    writer = BackgroundWriter(pending=2)
    writer.submit(fail)
    with pytest.raises(OSError, match="disk full"):
        writer.close()
    assert not helper_threads("picture-writer")


def test_map_ordered_keeps_the_order_and_reads_ahead_only_a_little() -> None:
    import time

    from analysis.pipeline.stages.common import map_ordered

    taken: list[int] = []

    def items():
        for i in range(20):
            taken.append(i)
            yield i

    def slow_square(i: int) -> int:
        time.sleep(0.002 * (i % 3))  # finish out of order
        return i * i

    results = map_ordered(slow_square, items(), workers=3)
    first = next(results)
    assert first == (0, 0) and len(taken) <= 6  # at most 2 * workers ahead
    assert [first, *results] == [(i, i * i) for i in range(20)]
    assert list(map_ordered(slow_square, range(4), workers=1)) == [(i, i * i) for i in range(4)]
    assert not helper_threads("stage-worker")


def test_map_ordered_raises_the_first_failure() -> None:
    from analysis.pipeline.stages.common import map_ordered

    def fail_on_three(i: int) -> int:
        if i == 3:
            raise ValueError("bad frame 3")
        return i

    seen = []
    with pytest.raises(ValueError, match="bad frame 3"):
        for item, _ in map_ordered(fail_on_three, range(10), workers=2):
            seen.append(item)
    assert seen == [0, 1, 2]
    assert not helper_threads("stage-worker")


def test_saving_beside_the_pass_does_not_deadlock_on_a_narrow_clip(tmp_path: Path) -> None:
    """PyAV keeps one converter per frame. On a clip narrower than the analysis width the
    thumbnail strip converts whole frames through it in the pass's thread; the writer thread
    must use its own (the same frame converted by both threads deadlocked in swscale)."""
    from mediakit.framestore import ThumbnailStrip

    narrow = tmp_path / "narrow.mp4"
    ffmpeg(
        "-f",
        "lavfi",
        "-i",
        "testsrc2=size=176x144:rate=25:duration=8",
        "-pix_fmt",
        "yuv420p",
        str(narrow),
    )
    done: list[int] = []

    def run() -> None:
        for attempt in range(3):
            folder = tmp_path / f"run{attempt}"
            candidates = KeyframeCandidates(folder, interval=0.04)  # every frame, as the strip
            strip = ThumbnailStrip(folder, 0.04)
            count = 0
            for frame in iter_frames_ahead(narrow):
                candidates.consume(frame)
                strip.consume(frame)
                count += 1
            candidates.finish(count)
            strip.finish(count)
            done.append(len(candidates.saved))

    worker = threading.Thread(target=run, daemon=True)
    worker.start()
    worker.join(120)
    assert not worker.is_alive(), "the frame pass hung"
    assert done == [200, 200, 200]
