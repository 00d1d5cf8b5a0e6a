"""Which frames the decode pass keeps as keyframe candidates, on a clip the test makes: one
at least every interval, the frame 1 s into every shot, and a frame early in a shot too short
for those (the short shot's is the only early frame kept)."""

from __future__ import annotations

import itertools
import math
from pathlib import Path

import cv2
import pytest

from analysis.models import Analysis, Video
from analysis.pipeline import build_pipeline
from analysis.pipeline.base import StageContext
from analysis.pipeline.framepass import plan_pictures, run_recorder
from mediakit.decode import iter_frames_ahead
from mediakit.framestore import (
    END_MIN_SHOT_SECONDS,
    SETTLE_SECONDS,
    KeyframeCandidates,
    load_candidates,
    load_end_frames,
)
from mediakit.meters import MotionMeter
from tests.fixtures_media import FPS, Clip, make_clip

# A 0.72 s shot between longer ones: shorter than the 1 s grid step and than ``after``.
SHOTS = [("testsrc2", 3.0), ("smptebars", 0.72), ("mandelbrot", 2.6), ("rgbtestsrc", 2.2)]


@pytest.fixture(scope="module")
def short_shot_clip(tmp_path_factory: pytest.TempPathFactory) -> Clip:
    return make_clip(tmp_path_factory.mktemp("cand") / "short_shot.mp4", SHOTS, None)


def keep(
    clip: Clip, workdir: Path, interval: float = 1.0, *, ends: bool = False
) -> list[tuple[int, float]]:
    motion = MotionMeter()
    candidates = KeyframeCandidates(workdir, interval, motion, ends=ends)
    count = 0
    for frame in iter_frames_ahead(clip.path):
        motion.consume(frame)
        candidates.consume(frame)
        count += 1
    candidates.finish(count)
    return [(c.index, c.time) for c in load_candidates(workdir) or []]


def test_every_shot_gets_a_candidate_and_long_ones_their_frame_one_second_in(
    short_shot_clip: Clip, tmp_path: Path
) -> None:
    kept = keep(short_shot_clip, tmp_path)
    indices = [index for index, _time in kept]
    assert indices == sorted(indices) and len(set(indices)) == len(indices)
    starts = [0, *short_shot_clip.cuts]
    ends = [*short_shot_clip.cuts, short_shot_clip.frames]
    for number, (start, end) in enumerate(zip(starts, ends, strict=True)):
        inside = [i for i in indices if start <= i < end]
        if end - start < FPS:  # the short shot: its frame SETTLE_SECONDS in
            assert start + math.ceil(SETTLE_SECONDS * FPS) in inside
            continue
        assert start + FPS in inside  # the "second frame" of the audio description
        early = [i for i in inside if i < start + FPS]
        # Before 1 s in: only frame 0 of the video (the grid starts there); the frame held
        # SETTLE_SECONDS into a shot that lasted is dropped.
        assert early == ([0] if number == 0 else [])
        later = [i for i in inside if i >= start + FPS]
        assert all(b - a <= FPS for a, b in itertools.pairwise(later))  # the 1 s grid


def test_candidates_are_full_pictures_written_when_the_pass_finishes(
    short_shot_clip: Clip, tmp_path: Path
) -> None:
    kept = keep(short_shot_clip, tmp_path)
    for index, _time in kept:
        image = cv2.imread(str(tmp_path / "candidates" / f"f{index:07d}.jpg"))
        assert image is not None and image.shape == (240, 320, 3)


def test_a_short_last_shot_keeps_its_held_frame(tmp_path: Path) -> None:
    """The video ends 0.6 s into its last shot: the frame held for it is kept at the end."""
    clip = make_clip(tmp_path / "short_end.mp4", [("testsrc2", 2.0), ("smptebars", 0.6)], None)
    indices = [index for index, _time in keep(clip, tmp_path / "run")]
    assert indices[-1] == clip.cuts[0] + math.ceil(SETTLE_SECONDS * FPS)


def test_with_ends_the_last_frame_of_every_shot_is_kept_apart(
    short_shot_clip: Clip, tmp_path: Path
) -> None:
    """Each shot's last frame (the 0.72 s shot's too: it lasts END_MIN_SHOT_SECONDS) and the
    video's, as full pictures beside the candidates, which stay as they are without ends."""
    kept = keep(short_shot_clip, tmp_path / "ends", ends=True)
    assert kept == keep(short_shot_clip, tmp_path / "plain")
    assert END_MIN_SHOT_SECONDS <= 0.72
    ends = load_end_frames(tmp_path / "ends")
    assert [c.index for c in ends] == [cut - 1 for cut in short_shot_clip.cuts] + [
        short_shot_clip.frames - 1
    ]
    for end in ends:
        image = cv2.imread(str(end.path))
        assert image is not None and image.shape == (240, 320, 3)
    assert load_end_frames(tmp_path / "plain") == []


def test_a_shot_too_short_keeps_no_end(tmp_path: Path) -> None:
    clip = make_clip(tmp_path / "flash.mp4", [("testsrc2", 2.0), ("smptebars", 0.4)], None)
    keep(clip, tmp_path / "run", ends=True)
    assert [c.index for c in load_end_frames(tmp_path / "run")] == [clip.cuts[0] - 1]


@pytest.mark.parametrize(
    ("parameters", "step"),
    [
        ({}, 0.5),  # on-screen text is looked for on a picture every half second
        ({"vision_stages": ["objects"]}, 0.5),  # faces on 4 frames a scene: two a second
        # without OCR and with two face frames (the stored keyframes): the pass's 1 s grid
        ({"vision_stages": ["objects"], "face_frames_per_scene": 2}, 1.0),
        ({"vision_stages": [], "face_frames_per_scene": 3}, 0.5),  # faces: two a second
        ({"vision_stages": [], "face_frames_per_scene": 3, "faces": False}, 1.0),
        ({"face_frames_per_scene": 3, "stages": ["probe", "shots", "keyframes"]}, 1.0),
        ({"vision_stages": [], "face_frames_per_scene": 99}, 1.0),  # refused by faces itself
    ],
)
def test_the_run_s_stages_set_how_often_the_pass_keeps_a_picture(
    parameters: dict[str, object], step: float, tmp_path: Path
) -> None:
    analysis = Analysis(video=Video(duration=60.0, fps=25.0, frame_count=1500))
    ctx = StageContext(analysis, tmp_path / "v.mp4", tmp_path, lambda f, m: None, parameters)
    ctx.pictures = plan_pictures(build_pipeline(ctx.param("stages")), ctx)
    assert run_recorder(ctx).candidates.interval == step
