"""Which encoder makes a smart cut's pieces (issue 16): NVENC where it is preferred (ffmpeg has it
and a GPU is visible, the exports' choice) and can match the copied stream, else libx264.

There is no GPU here. The streams are real (clips made by libx264, probed by ffprobe) and the
matching rules are the code under test; what is assumed is only the preferred encoder, the
edge of the world the exports read from ffmpeg and nvidia-smi.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from mediakit.cutting import Span, available_encoders, cuda_device_present
from mediakit.smartcut import piece_encoder, smart_cut, video_packets, video_stream
from mediakit.smartcut.encoders import LIBX264, NVENC
from mediakit.smartcut.plan import reorder_delay
from mediakit.smartcut.source import VideoStream
from tests.fixtures_exports import FPS, frame_numbers, make_long_gop_clip

LAVFI = ["ffmpeg", "-v", "error", "-f", "lavfi", "-i", "testsrc=s=320x240:r=25:d=2"]
X264 = ["-c:v", "libx264", "-preset", "veryfast", "-level", "3.0"]
# (libx264 options of the source, the encoder of its pieces when NVENC is preferred, why not)
SOURCES = {
    "no B-frames": (["-bf", "0", "-pix_fmt", "yuv420p"], "h264_nvenc", ""),
    "B-frames, no pyramid": (
        ["-bf", "2", "-x264-params", "b-pyramid=none", "-pix_fmt", "yuv420p"],
        "h264_nvenc",
        "",
    ),
    "B-frame pyramid": (["-bf", "3", "-pix_fmt", "yuv420p"], "libx264", "delay (2 frames)"),
    "full range": (["-bf", "0", "-pix_fmt", "yuvj420p"], "libx264", "format (yuvj420p)"),
    "4:4:4": (["-bf", "0", "-pix_fmt", "yuv444p"], "libx264", "profile (High 4:4:4"),
}


def probed(tmp_path: Path, options: list[str]) -> tuple[VideoStream, int]:
    path = tmp_path / "source.mp4"
    subprocess.run([*LAVFI, *X264, *options, str(path)], check=True)
    stream = video_stream(path)
    return stream, reorder_delay(video_packets(path), stream.frame)


@pytest.mark.parametrize("name", SOURCES)
def test_nvenc_makes_the_pieces_only_where_it_matches_the_source(tmp_path: Path, name: str) -> None:
    options, expected, why = SOURCES[name]
    stream, delay = probed(tmp_path, options)
    choice = piece_encoder(stream, delay, "h264_nvenc")
    assert choice.encoder.name == expected
    assert why in choice.note and bool(choice.note) == bool(why)
    # libx264 preferred (no GPU, or EXPORT_DEVICE=cpu): libx264, nothing to explain.
    assert piece_encoder(stream, delay, "libx264").encoder is LIBX264


def nvenc_help() -> str:
    return subprocess.run(
        ["ffmpeg", "-hide_banner", "-h", "encoder=h264_nvenc"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout


@pytest.mark.skipif("h264_nvenc" not in available_encoders(), reason="ffmpeg without NVENC")
@pytest.mark.parametrize("delay", [0, 1])
def test_the_nvenc_options_are_ones_this_ffmpeg_lists(tmp_path: Path, delay: int) -> None:
    # ffmpeg only opens NVENC with a GPU, so the options are checked against its own help:
    # every private option named, and every named value one it lists for that option.
    options = [["-bf", "0"], ["-bf", "2", "-x264-params", "b-pyramid=none"]][delay]
    stream, probed_delay = probed(tmp_path, [*options, "-pix_fmt", "yuv420p"])
    assert probed_delay == delay
    text = nvenc_help()
    listed: dict[str, set[str]] = {}
    option = ""
    for line in text.splitlines():
        if match := re.match(r"\s{2}-(\S+)\s", line):
            option = match.group(1)
            listed[option] = set()
        elif match := re.match(r"\s{5}(\S+)\s", line):
            listed[option].add(match.group(1))
    args = NVENC.args(stream, delay)
    generic = {"c:v", "b:v", "pix_fmt", "bf", "color_range", "colorspace", "color_trc"}
    generic |= {"color_primaries"}
    for flag, value in zip(args[::2], args[1::2], strict=True):
        name = flag[1:].removesuffix(":v")
        if flag[1:] in generic:
            continue
        assert name in listed, name
        assert not listed[name] or value in listed[name] or re.fullmatch(r"[\d.]+", value)
    assert stream.pix_fmt in text.split("Supported pixel formats:")[1].split()
    assert args[args.index("-level") + 1] in listed["level"]


def test_a_smart_cut_with_nvenc_preferred_is_frame_exact_on_any_machine(tmp_path: Path) -> None:
    # A source NVENC can match (no B-frames). Without a GPU ffmpeg cannot open NVENC: the
    # pieces are made by libx264 and the plan says why; with one NVENC makes them.
    clip = make_long_gop_clip(tmp_path / "clip.mp4", [6.2, 13.4, 4.8], bframes=("-bf", "0"))
    spans = [Span(1.0, 5.0), Span(6.2, 21.0)]
    out = tmp_path / "cut.mp4"
    plan = smart_cut(
        clip.path, spans, out, tmp_path, lambda f, m: None, has_audio=True, encoder="h264_nvenc"
    )
    wanted = [f for s in spans for f in range(round(s.start * FPS), round(s.end * FPS))]
    assert frame_numbers(out) == wanted
    assert any(p.copy for p in plan.pieces) and any(not p.copy for p in plan.pieces)
    if cuda_device_present():
        assert plan.encoder == "h264_nvenc" and not plan.encoder_note
    else:
        assert plan.encoder == "libx264" and plan.encoder_note.startswith("h264_nvenc failed")


# A stand-in for ffmpeg on a machine with a GPU whose NVENC encodes the pieces but stamps them
# off the frame grid (twice the frame duration apart): libx264 makes the frames, the bitstream
# filter dates them wrong. Every other ffmpeg run goes to the real ffmpeg untouched.
OFF_GRID_NVENC = """#!{python}
import os, sys
args = sys.argv[1:]
if "h264_nvenc" in args:
    nvenc_only = {{"-preset", "-tune", "-rc", "-cq", "-b:v", "-b_ref_mode"}}
    kept, i = [], 0
    while i < len(args):
        if args[i] in nvenc_only:
            i += 2
            continue
        kept.append("libx264" if args[i] == "h264_nvenc" else args[i])
        i += 1
    at = kept.index("-c:v") + 2
    kept[at:at] = ["-preset", "superfast", "-bsf:v", "setts=pts=PTS*2:dts=DTS*2"]
    args = kept
os.execv({ffmpeg!r}, ["ffmpeg", *args])
"""


def test_nvenc_pieces_that_do_not_join_are_made_again_by_libx264(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    clip = make_long_gop_clip(tmp_path / "clip.mp4", [6.2, 13.4, 4.8], bframes=("-bf", "0"))
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    fake = bin_dir / "ffmpeg"
    fake.write_text(OFF_GRID_NVENC.format(python=sys.executable, ffmpeg=shutil.which("ffmpeg")))
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    spans = [Span(1.0, 5.0), Span(6.2, 21.0)]
    out = tmp_path / "cut.mp4"
    plan = smart_cut(
        clip.path, spans, out, tmp_path, lambda f, m: None, has_audio=True, encoder="h264_nvenc"
    )
    assert plan.encoder == "libx264"
    assert plan.encoder_note.startswith("h264_nvenc did not join: ")
    assert "even rate" in plan.encoder_note
    wanted = [f for s in spans for f in range(round(s.start * FPS), round(s.end * FPS))]
    assert frame_numbers(out) == wanted


def test_libx264_pieces_say_so(tmp_path: Path) -> None:
    clip = make_long_gop_clip(tmp_path / "clip.mp4", [6.2, 13.4, 4.8])
    out = tmp_path / "cut.mp4"
    spans = [Span(2.0, 12.0)]
    plan = smart_cut(clip.path, spans, out, tmp_path, lambda f, m: None, has_audio=False)
    assert plan.encoder == "libx264" and not plan.encoder_note
    assert frame_numbers(out) == list(range(50, 300))
