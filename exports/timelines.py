"""Edit lists for editing software, built as OpenTimelineIO timelines and written by its
adapters: CMX 3600 EDL, ``.otio`` (JSON) and FCP 7 XML (xmeml, imported by Premiere Pro and
DaVinci Resolve). Source in/out points are the scenes' frames in the original video."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

ADAPTERS = {"edl": "cmx_3600", "otio": "otio_json", "fcpxml": "fcp_xml"}


@dataclass(frozen=True)
class SourceVideo:
    """The film the edit list points at (the editor relinks it to their copy)."""

    name: str
    fps: float
    duration: float
    has_audio: bool


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
    return otio.schema.ExternalReference(target_url=video.name, available_range=available)


def _clip(otio: Any, video: SourceVideo, spec: ClipSpec) -> Any:
    rate = video.fps
    start, end = _frames(spec.start, rate), _frames(spec.end, rate)
    source = otio.opentime.TimeRange(
        otio.opentime.RationalTime(start, rate), otio.opentime.RationalTime(end - start, rate)
    )
    return otio.schema.Clip(
        name=spec.name, media_reference=_reference(otio, video), source_range=source
    )


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


def cut_timeline(
    title: str, video: SourceVideo, clips: Sequence[ClipSpec], with_audio: bool = True
) -> Any:
    """One storyline: its scenes back to back on V1 (and A1 when the film has sound)."""
    otio = _otio()
    timeline = otio.schema.Timeline(name=title)
    timeline.global_start_time = otio.opentime.RationalTime(0, video.fps)
    kinds = otio.schema.TrackKind
    timeline.tracks.append(_track(otio, "V1", kinds.Video, video, clips, keep_positions=False))
    if with_audio and video.has_audio:
        timeline.tracks.append(_track(otio, "A1", kinds.Audio, video, clips, False))
    return timeline


def storylines_timeline(
    title: str, video: SourceVideo, storylines: Sequence[tuple[str, Sequence[ClipSpec]]]
) -> Any:
    """The whole analysis: one video track per storyline, each scene at its place in the film,
    and a marker per storyline at its first scene."""
    otio = _otio()
    timeline = otio.schema.Timeline(name=title)
    timeline.global_start_time = otio.opentime.RationalTime(0, video.fps)
    for name, clips in storylines:
        track = _track(otio, name, otio.schema.TrackKind.Video, video, clips, keep_positions=True)
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
    return timeline


def write(timeline: Any, kind: str) -> str:
    """The timeline as ``edl``, ``otio`` or ``fcpxml`` text."""
    return str(_otio().adapters.write_to_string(timeline, ADAPTERS[kind]))


def single_track(timeline: Any) -> Any:
    """An EDL holds one track: the first video track's clips only."""
    otio = _otio()
    flat = otio.schema.Timeline(name=timeline.name)
    flat.global_start_time = timeline.global_start_time
    first = timeline.video_tracks()[0]
    flat.tracks.append(first.clone())
    return flat
