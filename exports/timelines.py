"""Edit lists for editing software: CMX 3600 EDL, ``.otio`` (JSON) and FCP 7 XML (xmeml,
imported by Premiere Pro and DaVinci Resolve).

Every edit list carries the sound: OTIO and FCP XML get an audio track next to each video track
(built as OpenTimelineIO timelines and written by its adapters); the EDL gets ``AA/V`` events
(written here: OpenTimelineIO's CMX writer keeps one track and starts the record at zero). The
media is named by an absolute ``file://`` URL so the editing software finds it without asking,
and the record starts at the usual 01:00:00:00 (``EXPORT_RECORD_START``). Source in/out points
are the scenes' frames in the original video.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

ADAPTERS = {"otio": "otio_json", "fcpxml": "fcp_xml"}
REEL_LENGTH = 8  # CMX 3600 reel names are at most 8 characters


@dataclass(frozen=True)
class SourceVideo:
    """The film the edit list points at."""

    name: str  # the original file name
    fps: float
    duration: float
    has_audio: bool
    url: str = ""  # absolute file:// URL of the media as the editor sees it
    record_start: float = 3600.0  # seconds: where the edit list's record time starts


@dataclass(frozen=True)
class ClipSpec:
    name: str
    start: float  # seconds in the source
    end: float


def _otio() -> Any:
    import opentimelineio as otio  # a few MB of compiled code: load it only when exporting

    return otio


def _frames(seconds: float, fps: float) -> int:
    return round(seconds * fps)


def _reference(otio: Any, video: SourceVideo) -> Any:
    rate = video.fps
    available = otio.opentime.TimeRange(
        otio.opentime.RationalTime(0, rate),
        otio.opentime.RationalTime(_frames(video.duration, rate), rate),
    )
    return otio.schema.ExternalReference(
        target_url=video.url or video.name, available_range=available
    )


def _clip(otio: Any, video: SourceVideo, spec: ClipSpec) -> Any:
    rate = video.fps
    start, end = _frames(spec.start, rate), _frames(spec.end, rate)
    source = otio.opentime.TimeRange(
        otio.opentime.RationalTime(start, rate), otio.opentime.RationalTime(end - start, rate)
    )
    clip = otio.schema.Clip(
        name=spec.name, media_reference=_reference(otio, video), source_range=source
    )
    clip.metadata["cmx_3600"] = {"reel": reel_name(video.name), "source_file": video.name}
    return clip


def _gap(otio: Any, frames: int, rate: float) -> Any:
    duration = otio.opentime.RationalTime(frames, rate)
    return otio.schema.Gap(
        source_range=otio.opentime.TimeRange(otio.opentime.RationalTime(0, rate), duration)
    )


def _track(
    otio: Any,
    name: str,
    kind: str,
    video: SourceVideo,
    clips: Sequence[ClipSpec],
    keep_positions: bool,
) -> Any:
    """Clips one after the other, or at their places in the film (gaps between)."""
    track = otio.schema.Track(name=name, kind=kind)
    at = 0
    for spec in clips:
        start = _frames(spec.start, video.fps)
        if keep_positions and start > at:
            track.append(_gap(otio, start - at, video.fps))
        track.append(_clip(otio, video, spec))
        at = _frames(spec.end, video.fps) if keep_positions else at
    return track


def _timeline(otio: Any, title: str, video: SourceVideo) -> Any:
    timeline = otio.schema.Timeline(name=title)
    start = _frames(video.record_start, video.fps)
    timeline.global_start_time = otio.opentime.RationalTime(start, video.fps)
    return timeline


def cut_timeline(title: str, video: SourceVideo, clips: Sequence[ClipSpec]) -> Any:
    """One storyline: its scenes back to back on V1, and on A1 when the film has sound."""
    otio = _otio()
    timeline = _timeline(otio, title, video)
    kinds = otio.schema.TrackKind
    timeline.tracks.append(_track(otio, "V1", kinds.Video, video, clips, keep_positions=False))
    if video.has_audio:
        timeline.tracks.append(_track(otio, "A1", kinds.Audio, video, clips, False))
    return timeline


def storylines_timeline(
    title: str, video: SourceVideo, storylines: Sequence[tuple[str, Sequence[ClipSpec]]]
) -> Any:
    """The whole analysis: a video track per storyline (and an audio track with the same
    clips when the film has sound), each scene at its place in the film, and a marker per
    storyline at its first scene."""
    otio = _otio()
    timeline = _timeline(otio, title, video)
    kinds = otio.schema.TrackKind
    audio = []
    for name, clips in storylines:
        track = _track(otio, name, kinds.Video, video, clips, keep_positions=True)
        if clips:
            marker_at = otio.opentime.RationalTime(_frames(clips[0].start, video.fps), video.fps)
            track.markers.append(
                otio.schema.Marker(
                    name=name,
                    marked_range=otio.opentime.TimeRange(
                        marker_at, otio.opentime.RationalTime(0, video.fps)
                    ),
                )
            )
        timeline.tracks.append(track)
        if video.has_audio:
            audio.append(_track(otio, name, kinds.Audio, video, clips, keep_positions=True))
    for track in audio:  # after the video tracks, as editors lay them out
        timeline.tracks.append(track)
    return timeline


def write(timeline: Any, kind: str) -> str:
    """The timeline as ``edl``, ``otio`` or ``fcpxml`` text."""
    if kind == "edl":
        return write_edl(timeline)
    return str(_otio().adapters.write_to_string(timeline, ADAPTERS[kind]))


# --- CMX 3600 -----------------------------------------------------------------------------------


def reel_name(file_name: str) -> str:
    """The file's name cut to a CMX reel: letters and digits, at most 8, upper case."""
    stem = re.sub(r"\.[A-Za-z0-9]+$", "", file_name)
    reel = re.sub(r"[^A-Za-z0-9]+", "", stem).upper()[:REEL_LENGTH]
    return reel or "AX"


def write_edl(timeline: Any) -> str:
    """The first video track as CMX 3600 events; ``AA/V`` when the timeline has sound.

    Each event names its clip, its media (``FROM FILE``) and the source file's full name
    (``SOURCE FILE``), which the 8-character reel cuts.
    """
    otio = _otio()
    rate = timeline.global_start_time.rate
    video = timeline.video_tracks()[0]
    channels = "AA/V" if timeline.audio_tracks() else "V"
    lines = [f"TITLE: {timeline.name}", "FCM: NON-DROP FRAME", ""]
    record = timeline.global_start_time
    for number, clip in enumerate(video.find_clips(), start=1):
        source = clip.source_range
        at = record + clip.range_in_parent().start_time
        stamps = [
            source.start_time,
            source.end_time_exclusive(),
            at,
            at + source.duration,
        ]
        codes = " ".join(otio.opentime.to_timecode(t, rate, drop_frame=False) for t in stamps)
        cmx = clip.metadata.get("cmx_3600", {})
        lines += [
            f"{number:03d}  {cmx.get('reel', 'AX'):8} {channels:5} C        {codes}",
            f"* FROM CLIP NAME:  {clip.name}",
            f"* FROM FILE: {clip.media_reference.target_url}",
            f"* SOURCE FILE: {cmx.get('source_file', clip.name)}",
            "",
        ]
    return "\n".join(lines)
