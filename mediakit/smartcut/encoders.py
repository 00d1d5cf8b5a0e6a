"""Which encoder makes a smart cut's pieces: NVENC where present and able to match, else libx264.

The pieces are joined to packets copied from the source, so their encoder must make what the
source's encoder made: the same codec, profile, level, pixel format and B-frame reorder delay
(time base, SAR and colour tags are set the same way for every encoder). Each encoder states here
what it can make; :func:`piece_encoder` takes the preferred one (``h264_nvenc`` when ffmpeg has
it and a GPU is visible, as ``cutting.select_video_encoder`` chooses for a full re-encode) when
it can match the source, else libx264, the floor every smart cut is planned against.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from mediakit.smartcut.source import VideoStream

# ffprobe's profile names -> the profile option both encoders take (each writes Constrained
# Baseline for "baseline", which a Baseline decoder plays).
H264_PROFILES = {
    "Constrained Baseline": "baseline",
    "Baseline": "baseline",
    "Main": "main",
    "High": "high",
}
# Levels NVENC's ``-level`` names (level_idc); libx264 takes any.
NVENC_LEVELS = frozenset({10, 11, 12, 13, 20, 21, 22, 30, 31, 32, 40, 41, 42, 50, 51, 52, 60})


@dataclass(frozen=True)
class PieceEncoder:
    """An H.264 encoder as the smart cut uses it: what it can match and the options for it.

    ``delays`` maps each B-frame reorder delay (frames between a packet's decode and
    presentation time) the encoder can make to the options that make it.
    """

    name: str
    pix_fmts: tuple[str, ...]
    delays: Mapping[int, tuple[str, ...]]
    quality: tuple[str, ...]
    levels: frozenset[int] | None = None  # None: any level

    def problem(self, stream: VideoStream, delay: int) -> str:
        """Why this encoder cannot make pieces that join the stream; empty when it can."""
        if stream.codec != "h264":
            return (
                f"the source is {stream.codec or 'an unknown codec'}, smart cut matches only H.264"
            )
        if stream.profile not in H264_PROFILES:
            return f"{self.name} here cannot make the source's H.264 profile ({stream.profile})"
        if stream.pix_fmt not in self.pix_fmts:
            return f"{self.name} here cannot make the source's pixel format ({stream.pix_fmt})"
        if self.levels is not None and stream.level and stream.level not in self.levels:
            return f"{self.name} cannot be set to the source's level ({stream.level / 10:.1f})"
        baseline = H264_PROFILES[stream.profile] == "baseline"
        if delay not in self.delays or (baseline and delay):
            return f"{self.name} cannot match the source's B-frame delay ({delay} frames)"
        return ""

    def args(self, stream: VideoStream, delay: int) -> list[str]:
        """ffmpeg output options that encode pieces matching ``stream`` (``problem`` empty)."""
        args = ["-c:v", self.name, *self.quality, "-profile:v", H264_PROFILES[stream.profile]]
        if stream.level:
            args += ["-level", f"{stream.level / 10:.1f}"]
        args += ["-pix_fmt", stream.pix_fmt, *self.delays[delay]]
        for option, value in (
            ("-color_range", stream.color_range),
            ("-colorspace", stream.color_space),
            ("-color_trc", stream.color_transfer),
            ("-color_primaries", stream.color_primaries),
        ):
            if value:
                args += [option, value]
        return args


# The heads and tails are short and each is one frame-exact join: spend bits, not time.
LIBX264 = PieceEncoder(
    "libx264",
    pix_fmts=("yuv420p", "yuvj420p"),
    delays={
        0: ("-bf", "0"),
        1: ("-bf", "2", "-x264-params", "b-pyramid=none"),
        2: ("-bf", "3", "-x264-params", "b-pyramid=normal"),
    },
    quality=("-preset", "superfast", "-crf", "16"),
)
# NVENC takes no full-range yuvj420p. Its packets' decode times are set by ffmpeg, not by the
# encoder: before ffmpeg 6.1 one frame back whatever the number of B-frames, since then as many
# frames back as there are B-frames. Only delays 0 (no B-frames) and 1 (one B-frame, none used
# as a reference) come out the same under both, so those are the ones it is trusted with.
NVENC = PieceEncoder(
    "h264_nvenc",
    pix_fmts=("yuv420p",),
    delays={0: ("-bf", "0"), 1: ("-bf", "1", "-b_ref_mode", "disabled")},
    quality=("-preset", "p4", "-tune", "hq", "-rc", "vbr", "-cq", "16", "-b:v", "0"),
    levels=NVENC_LEVELS,
)
ENCODERS = {e.name: e for e in (LIBX264, NVENC)}


@dataclass(frozen=True)
class EncoderChoice:
    """The encoder of the pieces, and why the preferred one is not it (empty when it is)."""

    encoder: PieceEncoder
    note: str = ""


def piece_encoder(stream: VideoStream, delay: int, preferred: str) -> EncoderChoice:
    """The preferred encoder (an ffmpeg encoder name) when it can match the stream, else
    libx264 with the reason."""
    wanted = ENCODERS.get(preferred)
    if wanted is None or wanted is LIBX264:
        return EncoderChoice(LIBX264)
    problem = wanted.problem(stream, delay)
    return EncoderChoice(LIBX264, problem) if problem else EncoderChoice(wanted)
