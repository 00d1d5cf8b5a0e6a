"""Probing media files: what a file is, and a clear error when it is not a usable video.

PyAV is used (it bundles FFmpeg's libraries); it is light enough for the web process.
"""

from __future__ import annotations

import contextlib
import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from mediakit.errors import MediaError

__all__ = [
    "ALLOWED_EXTENSIONS",
    "MediaError",
    "MediaInfo",
    "checked_extension",
    "probe",
    "safe_display_name",
    "sha256_of",
]

ALLOWED_EXTENSIONS = {
    ".mp4",
    ".mov",
    ".mkv",
    ".webm",
    ".avi",
    ".m4v",
    ".mpg",
    ".mpeg",
    ".ts",
    ".wmv",
    ".flv",
}
MAX_PIXELS = 8192 * 8192
# FFmpeg renders plain text as "video" through these demuxers: never a real upload.
TEXT_FORMATS = {"tty", "bin", "ansi", "txt", "idf", "adf", "xbin"}


@dataclass(frozen=True)
class MediaInfo:
    duration: float
    fps: float
    frame_count: int
    width: int
    height: int
    video_codec: str
    audio_codec: str
    has_audio: bool
    rotation: int
    start_time: float


def probe(path: Path) -> MediaInfo:
    """Read the container and stream facts of ``path``.

    Raises:
        MediaError: the file is empty, not a media file, has no video stream or no frames.
    """
    import av

    if not path.exists() or path.stat().st_size == 0:
        raise MediaError("The file is empty.")
    try:
        container = av.open(str(path), metadata_errors="ignore")
    except (av.FFmpegError, UnicodeDecodeError) as exc:
        raise MediaError(
            "This file is not a video that can be read (unknown or damaged container)."
        ) from exc
    with container:
        if container.format.name in TEXT_FORMATS or not container.streams.video:
            raise MediaError("The file has no video stream (is it an audio or text file?).")
        stream = container.streams.video[0]
        ctx = stream.codec_context
        if ctx is None:  # PyAV found no decoder for the stream's codec (or fourcc)
            raise MediaError(
                "The video codec of this file is not supported: its frames cannot be decoded."
            )
        if not ctx.width or not ctx.height:
            raise MediaError("The video stream has no picture size; the file is damaged.")
        if ctx.width * ctx.height > MAX_PIXELS:
            raise MediaError(
                f"The resolution {ctx.width}x{ctx.height} is larger than supported (8192x8192)."
            )
        frame_rotation = _first_frame_rotation(container, stream)
        fps = _fps(stream)
        duration = _duration(container, stream)
        if duration <= 0:
            duration = _decode_duration(container, stream, fps)
        if duration <= 0:
            raise MediaError("The video has no frames that can be decoded.")
        frames = stream.frames or round(duration * float(fps))
        audio = container.streams.audio[0] if container.streams.audio else None
        start = (
            float(stream.start_time * stream.time_base)
            if stream.start_time is not None and stream.time_base is not None
            else 0.0
        )
        return MediaInfo(
            duration=round(duration, 3),
            fps=round(fps, 3),
            frame_count=max(int(frames), 1),
            width=int(ctx.width),
            height=int(ctx.height),
            video_codec=ctx.name or "",
            audio_codec=(audio.codec_context.name or "") if audio else "",
            has_audio=audio is not None,
            rotation=_rotation(stream) or frame_rotation,
            start_time=start,
        )


def _first_frame_rotation(container: object, stream: object) -> int:
    """Decode the first picture and return its display rotation (degrees, 0 when upright).

    A file whose frames cannot be read is refused at upload this way; damage later in the file
    is the analysis's business (it uses the frames that decode).
    """
    import av

    try:
        frame = next(iter(container.decode(stream)), None)  # type: ignore[attr-defined]
    except av.FFmpegError as exc:
        raise MediaError(f"The video frames cannot be decoded ({exc.strerror}).") from exc
    if frame is None:
        raise MediaError("The video has no frames that can be decoded.")
    with contextlib.suppress(av.FFmpegError):  # rewind for the duration count below
        container.seek(0)  # type: ignore[attr-defined]
    return int(getattr(frame, "rotation", 0) or 0) % 360


def _fps(stream: object) -> float:
    rate = getattr(stream, "average_rate", None) or getattr(stream, "guessed_rate", None)
    value = float(rate) if rate else 0.0
    return value if 0 < value < 1000 else 25.0


def _duration(container: object, stream: object) -> float:
    if getattr(stream, "duration", None) and getattr(stream, "time_base", None):
        return float(stream.duration * stream.time_base)  # type: ignore[attr-defined]
    if getattr(container, "duration", None):
        return float(container.duration) / 1_000_000  # type: ignore[attr-defined]
    return 0.0


def _decode_duration(container: object, stream: object, fps: float) -> float:
    """Count frames when the container does not say how long it is (e.g. raw streams)."""
    import av

    count = 0
    try:
        for _ in container.decode(stream):  # type: ignore[attr-defined]
            count += 1
    except av.FFmpegError:
        pass
    return count / fps if fps else 0.0


def _rotation(stream: object) -> int:
    """Display rotation in degrees: from the rotate tag, else from the first frame's matrix."""
    metadata = getattr(stream, "metadata", {}) or {}
    if metadata.get("rotate"):
        try:
            return int(metadata["rotate"]) % 360
        except ValueError:
            return 0
    return 0


def sha256_of(fileobj: IO[bytes], chunk: int = 1 << 20) -> str:
    digest = hashlib.sha256()
    fileobj.seek(0)
    while block := fileobj.read(chunk):
        digest.update(block)
    fileobj.seek(0)
    return digest.hexdigest()


def checked_extension(filename: str) -> str:
    suffix = Path(filename).suffix.lower()
    if suffix not in ALLOWED_EXTENSIONS:
        allowed = ", ".join(sorted(ALLOWED_EXTENSIONS))
        raise MediaError(f"Unsupported file type '{suffix or 'none'}'. Upload a video ({allowed}).")
    return suffix


def safe_display_name(filename: str) -> str:
    """The name shown to users: no directories, no control characters, at most 255 chars."""
    name = filename.replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(ch for ch in name if ch.isprintable()).strip() or "video"
    if len(name) > 255:
        suffix = Path(name).suffix[:10]
        name = name[: 255 - len(suffix)] + suffix
    return name
