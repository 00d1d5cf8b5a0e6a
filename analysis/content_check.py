"""What an uploaded file really is, from its first bytes: a picture renamed ``.mp4`` is not a video.

FFmpeg opens a JPEG, PNG or GIF as a one-frame "video", so the probe alone accepted them. The
file's signature says what it is; a picture is refused with its name. When the probe refuses a
file whose signature is a video container's, the message says which container it is and that
the file is damaged or uses a codec that cannot be read (instead of only "codec not supported").
"""

from __future__ import annotations

from pathlib import Path

from mediakit import probe as media
from mediakit.probe import MediaError

PICTURES: tuple[tuple[int, bytes, str], ...] = (
    (0, b"\xff\xd8\xff", "a JPEG picture"),
    (0, b"\x89PNG\r\n\x1a\n", "a PNG picture"),
    (0, b"GIF87a", "a GIF picture"),
    (0, b"GIF89a", "a GIF picture"),
    (8, b"WEBP", "a WebP picture"),  # RIFF....WEBP
    (0, b"II*\x00", "a TIFF picture"),
    (0, b"MM\x00*", "a TIFF picture"),
    (4, b"ftypavif", "an AVIF picture"),
    (4, b"ftypheic", "a HEIC picture"),
    (4, b"ftypmif1", "a HEIF picture"),
)
CONTAINERS: tuple[tuple[int, bytes, str], ...] = (
    (4, b"ftyp", "MP4/QuickTime file"),
    (4, b"moov", "QuickTime file"),
    (4, b"mdat", "QuickTime file"),
    (0, b"\x1a\x45\xdf\xa3", "Matroska/WebM file"),
    (8, b"AVI ", "AVI file"),
    (0, b"FLV", "FLV file"),
    (0, b"OggS", "Ogg file"),
    (0, b"\x00\x00\x01\xba", "MPEG program stream"),
)
HEAD_BYTES = 16
# Probe refusals that mean "cannot be read" (not "no video stream", "too large"...).
DAMAGE_WORDS = ("codec", "decoded", "damaged", "cannot be read")


def _match(head: bytes, table: tuple[tuple[int, bytes, str], ...]) -> str | None:
    for offset, signature, label in table:
        if head[offset : offset + len(signature)] == signature:
            return label
    return None


def sniff(path: Path) -> tuple[str | None, str | None]:
    """(picture label, container label) from the file's first bytes; None where none fits."""
    with path.open("rb") as handle:
        head = handle.read(HEAD_BYTES)
    return _match(head, PICTURES), _match(head, CONTAINERS)


def probe_upload(path: Path) -> media.MediaInfo:
    """``media.probe`` after the signature check, with clearer messages for damaged files.

    Raises:
        MediaError: a picture, or a file the probe refuses (naming the container it claims).
    """
    picture, container = sniff(path)
    if picture is not None:
        raise MediaError(
            f"This file is {picture}, not a video (a still image renamed to a video name?). "
            "Upload a video file such as MP4, MOV, MKV or WebM."
        )
    try:
        return media.probe(path)
    except MediaError as exc:
        if container is None or not any(word in str(exc) for word in DAMAGE_WORDS):
            raise
        raise MediaError(f"This {container} is damaged or its video cannot be read: {exc}") from exc
