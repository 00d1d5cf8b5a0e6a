"""Faces followed through a scene: one track is one appearance of one face, with its span.

The full-frame detector runs on a few *anchor* frames of the scene; every face it finds is then
followed onto the scene's other frames by a cheap search in a window around its last box
(``follow``), forwards and, for a face first seen late, backwards. A track therefore holds the
frames the detector missed (a turned head, motion blur) as long as the face stays findable near
where it was; an anchor is not searched again while every live track holds there and the last
full search is recent (``HOLD_SECONDS``); and each track is embedded once, from its best face.

A full search also gives *hints*: boxes scoring below the detector's threshold (a small face in
old film, a face half turned). A hint is followed like a face, at the hint's lower score, for
at most ``HINT_FRAMES`` frames each way; it becomes a track only if the face scores ``sure`` on
one of them, where a full search of that frame would have found it. So a face the full search
finds on some frames of a scene but on none of its anchors is not lost, while a texture that
looks a little like a face on one frame stays a hint.

Pure bookkeeping: the detector and the follower come in as functions (``people.faces``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

# A face moves at most this many of its widths between two followed frames (about 0.5 s).
MAX_SHIFT = 1.0
SIZE_RATIO = 1.6  # and its size changes at most by this factor
# An anchor is searched again after this long even while every track holds (new faces).
HOLD_SECONDS = 3.0
# A hint not yet sure is followed this many frames before and after its anchor (~1.5 s).
HINT_FRAMES = 3


class Boxed(Protocol):
    x: int
    y: int
    w: int
    h: int
    score: float


def same_face(a: Boxed, b: Boxed, max_shift: float = MAX_SHIFT) -> bool:
    """Whether box ``b`` can be face ``a`` a moment later: near it, and about its size."""
    ratio = max(a.w, b.w) / max(1, min(a.w, b.w))
    dx = (a.x + a.w / 2) - (b.x + b.w / 2)
    dy = (a.y + a.h / 2) - (b.y + b.h / 2)
    return ratio <= SIZE_RATIO and (dx * dx + dy * dy) ** 0.5 <= max_shift * max(a.w, b.w)


def distance(a: Boxed, b: Boxed) -> float:
    """Distance of the centres in face widths (for choosing among several candidates)."""
    dx = (a.x + a.w / 2) - (b.x + b.w / 2)
    dy = (a.y + a.h / 2) - (b.y + b.h / 2)
    return float((dx * dx + dy * dy) ** 0.5 / max(1, a.w, b.w))


@dataclass
class Sighting:
    """A face of a track on one of the scene's frames (``frame`` is its position there)."""

    frame: int
    face: Any  # people.faces.Face


@dataclass
class Track:
    """One face followed over consecutive frames of a scene."""

    sightings: list[Sighting] = field(default_factory=list)
    found: int = 0  # the frame of the full search that found it

    @property
    def first(self) -> Sighting:
        return min(self.sightings, key=lambda s: s.frame)

    @property
    def last(self) -> Sighting:
        return max(self.sightings, key=lambda s: s.frame)

    def best(self) -> Sighting:
        """The sighting to embed and show: the largest, most confident face; of a track begun
        as a hint, not one of its hint-level faces (below 0) while it has better ones."""
        pool = [s for s in self.sightings if s.face.score >= 0] or self.sightings
        return max(pool, key=lambda s: s.face.w * s.face.h * (1 + max(s.face.score, 0)))

    def add(self, frame: int, face: Any) -> None:
        self.sightings.append(Sighting(frame, face))

    def sure(self, score: float) -> bool:
        """Whether one of its faces scores ``score``: a face, not a hint."""
        return any(s.face.score >= score for s in self.sightings)


Detect = Callable[[Any], list[Any]]
# The face on an image near a face of the frame before, or None; the flag says whether the
# track is sure (a hint is followed at the hint's lower score).
Follow = Callable[[Any, Any, bool], Any]


@dataclass
class TrackingStats:
    """How much searching a scene took: full-frame searches, followed frames, skipped anchors."""

    detected: int = 0
    followed: int = 0
    held: int = 0
    reused: int = 0  # anchors not searched: the picture of the scene's last, empty search
    narrowed: int = 0  # anchors searched only where they differ from that picture


def unclaimed(found: list[Any], claimed: list[Any]) -> list[Any]:
    """Faces of a full search not already followed onto this frame by a live track."""
    return [f for f in found if not any(same_face(c, f, max_shift=0.5) for c in claimed)]


def _follow_back(track: Track, frames: Sequence[Any], follow: Follow, state: _State) -> None:
    """A face first found late: look for it on the frames before, until it is lost (a hint:
    until it is sure or ``HINT_FRAMES`` away)."""
    face = track.first.face
    for position in range(track.first.frame - 1, -1, -1):
        sure = track.sure(state.sure)
        if not sure and track.found - position > HINT_FRAMES:
            return
        state.stats.followed += 1
        face = follow(frames[position], face, sure)
        if face is None:
            return
        track.add(position, face)


def continued(track: Track, ended: list[Track]) -> Track | None:
    """The ended track ``track`` goes on from: lost at most two frames before ``track``
    begins (or on frames ``track`` was followed back over), near where it was."""
    for old in ended:
        last = old.last
        if last.frame < track.first.frame - 2:
            continue
        near = min(track.sightings, key=lambda s: abs(s.frame - last.frame))
        if same_face(last.face, near.face, 1.5):
            return old
    return None


def _begin(face: Any, position: int, frames: Sequence[Any], follow: Follow, state: _State) -> None:
    """A new face found by a full search: followed back, joined to the track it continues."""
    track = Track([Sighting(position, face)], position)
    _follow_back(track, frames, follow, state)
    ended = [t for t in state.tracks if t not in state.live]
    earlier = continued(track, ended)
    if earlier is None:
        state.tracks.append(track)
        state.live.append(track)
        return
    # Frames both hold (the new track followed back over them) keep the earlier sighting.
    seen = {s.frame for s in earlier.sightings}
    earlier.sightings.extend(s for s in track.sightings if s.frame not in seen)
    state.live.append(earlier)


@dataclass
class _State:
    tracks: list[Track] = field(default_factory=list)
    live: list[Track] = field(default_factory=list)
    stats: TrackingStats = field(default_factory=TrackingStats)
    sure: float = float("-inf")  # the score that makes a face of a hint


def _follow_on(image: Any, position: int, follow: Follow, state: _State) -> bool:
    """Follow the live tracks onto the next frame; whether every sure one held there (a hint
    past ``HINT_FRAMES`` is let go; hints do not count for holding)."""
    held, holding = [], True
    for track in state.live:
        sure = track.sure(state.sure)
        if not sure and position - track.found > HINT_FRAMES:
            continue
        state.stats.followed += 1
        face = follow(image, track.last.face, sure)
        if face is not None:
            track.add(position, face)
            held.append(track)
        holding = holding and (face is not None or not sure)
    holding = holding and any(t.sure(state.sure) for t in state.live)
    state.live = held
    return holding


def track_scene(
    frames: Sequence[Any],
    anchors: set[int],
    detect: Detect,
    follow: Follow,
    times: Sequence[float],
    sure: float = float("-inf"),
) -> tuple[list[Track], TrackingStats]:
    """Tracks of the faces on a scene's ``frames`` (images in time order, at ``times``).

    Args:
        frames: the scene's images, in time order.
        anchors: positions in ``frames`` to search whole (the rest are only followed onto).
        detect: the full-frame face search of one image, hints included.
        follow: the face on an image near a face of the previous frame, or None.
        times: the frames' times in seconds.
        sure: the score a track's face must reach on one frame for it to be kept; faces of
            the full search scoring less are hints.
    """
    state = _State(sure=sure)
    last_search = float("-inf")
    for position, image in enumerate(frames):
        holding = _follow_on(image, position, follow, state)
        if position not in anchors:
            continue
        if holding and times[position] - last_search < HOLD_SECONDS:
            state.stats.held += 1
            continue
        state.stats.detected += 1
        last_search = times[position]
        for face in unclaimed(detect(image), [t.last.face for t in state.live]):
            _begin(face, position, frames, follow, state)
    return [t for t in state.tracks if t.sure(sure)], state.stats
