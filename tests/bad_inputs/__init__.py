"""The bad-input corpus: every case is made at test time with ffmpeg or Python, never committed.

Each ``MediaCase`` names the file it makes, what the upload must answer (``status``, and a
fragment of ``detail`` for refusals) and, for accepted files, what the analysis must end as.
``make(case, folder)`` writes the file and returns its path.

The media are tiny (160x120, about two seconds) so the whole corpus is made in seconds.
"""

from __future__ import annotations

import struct
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

SMALL = "size=160x120:rate=25"


def ffmpeg(*args: str) -> None:
    subprocess.run(
        ["ffmpeg", "-y", "-hide_banner", "-loglevel", "error", *args], check=True, timeout=120
    )


def _h264(path: Path, *, seconds: float = 2.0, audio: bool = True, extra: tuple = ()) -> Path:
    """A small H.264 (+AAC) MP4 with its index (moov) at the end, as ffmpeg writes by default."""
    args = ["-f", "lavfi", "-i", f"testsrc2={SMALL}:duration={seconds}"]
    if audio:
        args += ["-f", "lavfi", "-i", f"sine=frequency=440:duration={seconds}", "-c:a", "aac"]
    ffmpeg(
        *args, "-c:v", "libx264", "-preset", "veryfast", "-pix_fmt", "yuv420p", *extra, str(path)
    )
    return path


def top_level_atoms(data: bytes) -> dict[str, tuple[int, int]]:
    """MP4 top-level boxes: name -> (offset, size)."""
    atoms: dict[str, tuple[int, int]] = {}
    offset = 0
    while offset + 8 <= len(data):
        size, kind = struct.unpack(">I4s", data[offset : offset + 8])
        if size < 8:
            break
        atoms[kind.decode("latin-1")] = (offset, size)
        offset += size
    return atoms


# --- Makers ------------------------------------------------------------------------------------


def make_zero_bytes(path: Path) -> Path:
    path.write_bytes(b"")
    return path


def make_text(path: Path) -> Path:
    path.write_text("This is a shopping list, not a film.\nMilk\nBread\n" * 40)
    return path


def make_truncated_moov(path: Path) -> Path:
    """An MP4 cut just before its moov atom: the frames are there, the index is not."""
    full = _h264(path.with_suffix(".full.mp4"))
    data = full.read_bytes()
    full.unlink()
    moov_offset, _ = top_level_atoms(data)["moov"]
    assert moov_offset > len(data) // 2, "ffmpeg wrote the index first; the cut would miss it"
    path.write_bytes(data[:moov_offset])
    return path


def make_corrupt_middle(path: Path) -> Path:
    """A 3 s MP4 whose media data has its middle third overwritten with garbage."""
    _h264(path, seconds=3.0, audio=False, extra=("-g", "25"))
    data = bytearray(path.read_bytes())
    offset, size = top_level_atoms(bytes(data))["mdat"]
    start, end = offset + 8 + size // 3, offset + 8 + 2 * size // 3
    pattern = bytes(range(7, 256, 13))  # not zeros: decoders must meet real garbage
    data[start:end] = (pattern * (1 + (end - start) // len(pattern)))[: end - start]
    path.write_bytes(bytes(data))
    return path


def make_audio_only(path: Path) -> Path:
    ffmpeg("-f", "lavfi", "-i", "sine=frequency=440:duration=2", "-c:a", "aac", str(path))
    return path


def make_no_audio(path: Path) -> Path:
    return _h264(path, audio=False)


def make_huge_resolution(path: Path) -> Path:
    """One flat 9000x9000 H.264 frame (about 240 KB: flat colour compresses to nothing)."""
    ffmpeg(
        "-f",
        "lavfi",
        "-i",
        "color=c=0x3050a0:size=9000x9000:rate=1",
        "-frames:v",
        "1",
        "-c:v",
        "libx264",
        "-preset",
        "ultrafast",
        str(path),
    )
    return path


def make_one_frame(path: Path) -> Path:
    ffmpeg(
        "-f",
        "lavfi",
        "-i",
        f"testsrc2={SMALL}",
        "-frames:v",
        "1",
        "-c:v",
        "libx264",
        "-pix_fmt",
        "yuv420p",
        str(path),
    )
    return path


def make_variable_frame_rate(path: Path) -> Path:
    """Frames at uneven times: 25 fps stretches and 5 fps stretches in one stream."""
    ffmpeg(
        "-f",
        "lavfi",
        "-i",
        f"testsrc2={SMALL}:duration=3",
        # Drop most frames of the middle second: timestamps keep their gaps (VFR output).
        "-vf",
        "select='not(between(t,1,2))+not(mod(n,5))',setpts=PTS",
        "-fps_mode",
        "vfr",
        "-c:v",
        "libx264",
        "-preset",
        "veryfast",
        "-pix_fmt",
        "yuv420p",
        str(path),
    )
    return path


def make_rotated(path: Path) -> Path:
    """A 160x120 picture tagged to be shown turned by 90 degrees (as phones record)."""
    plain = _h264(path.with_suffix(".plain.mp4"))
    ffmpeg("-i", str(plain), "-c", "copy", "-metadata:s:v:0", "rotate=90", str(path))
    plain.unlink()
    return path


def make_unknown_codec(path: Path) -> Path:
    """An AVI whose video fourcc is made up: the container is fine, no decoder exists."""
    source = path.with_suffix(".mjpeg.avi")
    ffmpeg("-f", "lavfi", "-i", f"testsrc2={SMALL}:duration=1", "-c:v", "mjpeg", str(source))
    data = source.read_bytes()
    source.unlink()
    assert data.count(b"MJPG") >= 1
    path.write_bytes(data.replace(b"MJPG", b"QQZX").replace(b"mjpg", b"qqzx"))
    return path


def make_picture(codec: str) -> Callable[[Path], Path]:
    """A still picture (JPEG, PNG or GIF) written under a video's name."""

    def make(path: Path) -> Path:
        source = path.with_suffix(f".{codec}")
        ffmpeg("-f", "lavfi", "-i", f"testsrc2={SMALL}", "-frames:v", "1", str(source))
        source.replace(path)
        return path

    return make


def make_damaged_sample_table(path: Path) -> Path:
    """An MP4 whose sample description (the codec's fourcc in stsd) is overwritten."""
    _h264(path, audio=False)
    data = path.read_bytes()
    assert data.count(b"avc1") >= 1
    path.write_bytes(data.replace(b"avc1", b"\x00\x01\xfe\x7f"))
    return path


@dataclass(frozen=True)
class MediaCase:
    """One file of the corpus and what uploading it must give."""

    name: str
    filename: str
    maker: Callable[[Path], Path]
    status: int  # of POST /api/videos
    detail: str = ""  # a fragment of the refusal's message (lower case)
    analysis: str = ""  # for accepted files: "completed" (the analysis must finish)


MEDIA_CASES = [
    MediaCase("zero-byte file", "empty.mp4", make_zero_bytes, 400, "empty"),
    MediaCase("text renamed .mp4", "notes.mp4", make_text, 400, "not a video"),
    MediaCase("truncated mp4, moov missing", "cut.mp4", make_truncated_moov, 400, "damaged"),
    MediaCase("audio only", "tone.mp4", make_audio_only, 400, "no video stream"),
    MediaCase("huge resolution 9000x9000", "huge.mp4", make_huge_resolution, 400, "9000x9000"),
    MediaCase("unknown codec (fourcc)", "odd.avi", make_unknown_codec, 400, "cannot be decoded"),
    MediaCase("JPEG renamed .mp4", "photo.mp4", make_picture("jpg"), 400, "JPEG picture"),
    MediaCase("PNG renamed .mov", "shot.mov", make_picture("png"), 400, "PNG picture"),
    MediaCase("GIF renamed .mp4", "meme.mp4", make_picture("gif"), 400, "GIF picture"),
    MediaCase(
        "mp4 with a damaged sample table", "stsd.mp4", make_damaged_sample_table, 400, "damaged"
    ),
    MediaCase(
        "corrupt frames in the middle",
        "corrupt.mp4",
        make_corrupt_middle,
        201,
        analysis="completed",
    ),
    MediaCase("video without audio", "silent.mp4", make_no_audio, 201, analysis="completed"),
    MediaCase("one frame", "single.mp4", make_one_frame, 201, analysis="completed"),
    MediaCase(
        "variable frame rate", "vfr.mp4", make_variable_frame_rate, 201, analysis="completed"
    ),
    MediaCase("rotated 90 degrees", "phone.mp4", make_rotated, 201, analysis="completed"),
]


def make(case: MediaCase, folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    return case.maker(folder / case.filename)


# --- Subtitles with broken timings -------------------------------------------------------------

BROKEN_SRT = {
    # A cue that ends before it starts.
    "end before start": "1\n00:00:05,000 --> 00:00:02,000\nBackwards.\n",
    # Timings that are not timings at all.
    "no timings": "1\nsoon --> later\nWhen?\n\n2\n12 --> 13\nNever.\n",
    # Minutes and seconds out of range, and a missing arrow.
    "garbage clock": "1\n00:99:99,999 -> 00:00:01,000\nOdd.\n",
}
