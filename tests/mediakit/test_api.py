"""The media kit's own API: shots on generated clips, the pass's files, and no Django."""

from __future__ import annotations

import itertools
import subprocess
import sys
from pathlib import Path

import pytest

from mediakit.errors import MediaError
from mediakit.framepass import PassRecorder, PicturePlan
from mediakit.passfiles import PassFiles, pass_recorded, recorded_start_time
from mediakit.shots import ShotsConfig, UnknownDetector, find_shots
from mediakit.transnet import TransNetConfig
from tests.fixtures_media import FPS, SIZE, Clip, ffmpeg, video_inputs

ROOT = Path(__file__).resolve().parents[2]

# Imports every module of the kit with Django made unimportable.
NO_DJANGO = """
import importlib, pkgutil, sys

class NoDjango:
    def find_spec(self, name, path=None, target=None):
        if name == "django" or name.startswith("django."):
            raise ImportError("Django is not allowed in mediakit")
        return None

sys.meta_path.insert(0, NoDjango())
import mediakit
names = [m.name for m in pkgutil.walk_packages(mediakit.__path__, "mediakit.")]
for name in names:
    importlib.import_module(name)
heavy = sorted({"django", "torch", "av", "cv2"} & set(sys.modules))
print(len(names), heavy)
"""


def test_mediakit_imports_without_django_and_without_heavy_libraries() -> None:
    done = subprocess.run(
        [sys.executable, "-c", NO_DJANGO], cwd=ROOT, capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr
    count, heavy = done.stdout.split(" ", 1)
    assert int(count) >= 15  # every module was imported, not just the package
    assert heavy.strip() == "[]"  # the web process never loads them through the kit


def test_find_shots_cuts_a_generated_clip_where_its_shots_change(shots_clip: Clip) -> None:
    config = ShotsConfig(detector="content", min_seconds=0.6)
    found = find_shots(shots_clip.path, config)
    assert len(found.frame_times) == shots_clip.frames
    starts = [shot.start_frame for shot in found.shots]
    assert len(starts) == 3 and starts[0] == 0
    assert all(abs(a - b) <= 1 for a, b in zip(starts[1:], shots_clip.cuts, strict=True))
    # The shots cover the whole video, end to end.
    assert found.shots[0].start_time == 0.0
    assert found.shots[-1].end_time == pytest.approx(shots_clip.duration, abs=0.05)
    for before, after in zip(found.shots, found.shots[1:], strict=False):
        assert before.end_frame == after.start_frame and before.end_time == after.start_time
    assert found.detector == "content" and found.network_frames is None


def test_the_combined_detector_shares_its_pass_with_a_recorder(
    many_shots_clip: Clip, tmp_path: Path
) -> None:
    recorder = PassRecorder(tmp_path, PicturePlan.for_video(many_shots_clip.duration))
    config = ShotsConfig(detector="combined", network=TransNetConfig("cpu"))
    found = find_shots(many_shots_clip.path, config, recorder.consumers, workdir=tmp_path)
    recorder.save(found.frame_times)
    starts = [shot.start_frame for shot in found.shots][1:]
    assert len(starts) == len(many_shots_clip.cuts)
    assert all(abs(a - b) <= 1 for a, b in zip(starts, many_shots_clip.cuts, strict=True))
    assert pass_recorded(tmp_path) and recorded_start_time(tmp_path) == 0.0
    assert recorder.motion.values and len(recorder.motion.values) == many_shots_clip.frames
    assert recorder.candidates.saved, "the recorder kept keyframe candidates in the same pass"


def test_pass_files_describe_what_the_pass_left(many_shots_clip: Clip, tmp_path: Path) -> None:
    files = PassFiles(tmp_path)
    assert not files.complete and files.candidates() is None and files.layouts() is None
    assert files.start_time() is None and files.frame_times() is None and files.strip() is None
    recorder = PassRecorder(tmp_path, PicturePlan.for_video(many_shots_clip.duration))
    found = find_shots(many_shots_clip.path, ShotsConfig(detector="content"), recorder.consumers)
    recorder.save(found.frame_times)
    assert files.complete and files.start_time() == 0.0
    times = files.frame_times()
    assert times is not None and len(times) == many_shots_clip.frames
    layouts = files.layouts()
    assert layouts is not None and layouts.shape == (many_shots_clip.frames, 6, 8, 3)
    candidates = files.candidates()
    assert candidates and all(c.path.exists() for c in candidates)
    assert [c.index for c in candidates] == sorted(c.index for c in candidates)
    strip = files.strip()
    assert strip is not None and strip[1]["count"] == round(many_shots_clip.duration)
    # testsrc2 moves, smptebars stands still: the motion of their shots says so.
    moving, still = (found.shots[i] for i in (0, 1))
    assert files.motion(moving.start_frame, moving.end_frame) > 0.001
    assert files.motion(still.start_frame, still.end_frame) < 0.001
    samples = files.audio(many_shots_clip.path)
    assert samples is not None and abs(len(samples) / 16_000 - many_shots_clip.duration) < 0.1


def test_min_seconds_drops_a_cut_that_would_leave_a_shorter_shot(shots_clip: Clip) -> None:
    """Shots of 2 s each: with 2.5 s at least, the first cut goes and the second stays.

    (The network's detectors find every cut and leave the minimum to ``find_shots``;
    PySceneDetect's detectors apply their own ``min_scene_len`` as well.)"""
    config = ShotsConfig(detector="transnetv2", min_seconds=2.5, network=TransNetConfig("cpu"))
    found = find_shots(shots_clip.path, config)
    starts = [shot.start_frame for shot in found.shots]
    assert len(starts) == 2 and abs(starts[1] - shots_clip.cuts[1]) <= 1


def test_a_short_shot_between_two_sure_hard_cuts_stays(tmp_path: Path) -> None:
    """Six frames of bars between two other shots: both cuts are sure, so the 0.24 s shot
    stays although ``min_seconds`` is 0.6 (the minimum is for cuts the detector doubts)."""
    path = tmp_path / "short_shot.mp4"
    shots = [("testsrc2", 2.0), ("smptebars", 0.24), ("mandelbrot", 2.0)]
    inputs, graph = video_inputs(shots)
    ffmpeg(*inputs, "-filter_complex", graph, "-map", "[v]", "-c:v", "libx264", str(path))
    config = ShotsConfig(min_seconds=0.6, network=TransNetConfig("cpu"))
    starts = [shot.start_frame for shot in find_shots(path, config).shots]
    assert len(starts) == 3, starts
    assert abs(starts[1] - 50) <= 1 and abs(starts[2] - 56) <= 1, starts


def jumped(path: Path, source: str, pieces: list[tuple[int, int]]) -> Path:
    """One ``source`` shot played as the frame ranges ``pieces``, joined without a transition."""
    trims = "".join(
        f"[p{i}]trim=start_frame={a}:end_frame={b},setpts=PTS-STARTPTS[t{i}];"
        for i, (a, b) in enumerate(pieces)
    )
    joined = "".join(f"[t{i}]" for i in range(len(pieces)))
    split = f"[0:v]split={len(pieces)}" + "".join(f"[p{i}]" for i in range(len(pieces)))
    graph = f"{split};{trims}{joined}concat=n={len(pieces)}:v=1:a=0,format=yuv420p[v]"
    source_input = ["-t", "8", "-f", "lavfi", "-i", f"{source}=size={SIZE}:rate={FPS}"]
    ffmpeg(*source_input, "-filter_complex", graph, "-map", "[v]", "-c:v", "libx264", str(path))
    return path


@pytest.mark.parametrize("source", ["testsrc2", "testsrc"])
def test_a_jump_cut_inside_one_moving_shot_is_a_cut(tmp_path: Path, source: str) -> None:
    """The shot jumps back 45 frames at frame 75: only what moves changes (the ball, the
    clock), too little for the content spike and nothing TransNetV2 calls a cut. The same
    150 frames played through have no cut."""
    config = ShotsConfig(network=TransNetConfig("cpu"))
    jump = jumped(tmp_path / "jump.mp4", source, [(0, 75), (30, 105)])
    starts = [shot.start_frame for shot in find_shots(jump, config).shots]
    assert len(starts) == 2 and abs(starts[1] - 75) <= 1, starts
    through = jumped(tmp_path / "through.mp4", source, [(0, 75), (75, 150)])
    assert len(find_shots(through, config).shots) == 1


def test_an_unknown_detector_is_refused_by_its_config() -> None:
    with pytest.raises(UnknownDetector, match="Unknown scene detector 'magic'"):
        ShotsConfig(detector="magic")


def test_a_file_that_is_no_video_is_a_media_error(tmp_path: Path) -> None:
    text = tmp_path / "notes.mp4"
    text.write_text("not a video at all")
    with pytest.raises(MediaError):
        find_shots(text, ShotsConfig(detector="content"), fps=25.0)


def test_the_picture_plan_takes_the_closest_step_asked() -> None:
    assert PicturePlan.for_video(60.0).candidate_step == 1.0
    assert PicturePlan.for_video(60.0, [0.5, 0.8]).candidate_step == 0.5
    assert PicturePlan.for_video(60.0, [0.001]).candidate_step == 0.04  # never every frame
    long = PicturePlan.for_video(6 * 3600.0, [0.5])
    assert long.candidate_step == pytest.approx(6 * 3600.0 / 3000)  # at most 3000 pictures
    assert PicturePlan.for_video(60.0).tile_step == 1.0


def test_the_motion_meter_and_the_cut_signals_share_one_grey_copy(shots_clip: Clip) -> None:
    import cv2
    import numpy as np

    from mediakit.decode import MOTION_WIDTH, iter_frames
    from mediakit.meters import MotionMeter

    meter = MotionMeter()
    greys = []
    for frame in iter_frames(shots_clip.path):
        meter.consume(frame)
        grey = frame.grey(MOTION_WIDTH)
        assert frame.grey(MOTION_WIDTH) is grey  # converted once, whoever asks
        expected = cv2.cvtColor(frame.small(MOTION_WIDTH), cv2.COLOR_BGR2GRAY)
        assert np.array_equal(grey, expected)
        greys.append(grey.astype(np.int16))
    steps = [float(np.abs(b - a).mean()) / 255 for a, b in itertools.pairwise(greys)]
    assert meter.values[1:] == pytest.approx(steps, abs=1e-4)
    assert max(meter.values) > 0.05  # the clip's cuts move the grey levels
