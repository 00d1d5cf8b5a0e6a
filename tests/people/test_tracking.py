"""Faces followed through a scene's frames (``people.tracking`` with the real dlib models).

The frames are real portraits (``tests/fixtures_people.py``) placed on plain frames: a face
that shrinks as the camera pulls back, two people of whom one leaves, a face that comes closer.
"""

from __future__ import annotations

from itertools import pairwise
from typing import Any

import numpy as np

from people.conf import face_config
from people.faces import detect_faces, follow_face
from people.tracking import Track, TrackingStats, same_face, track_scene
from tests.fixtures_people import HEIGHT, place

CONFIG = face_config({})
GREY = (90, 90, 90)


def follow(frames: list[np.ndarray], anchors: set[int]) -> tuple[list[Track], TrackingStats, int]:
    """Tracks over ``frames`` (half a second apart), and how often the full search ran."""
    searches = []

    def detect(image: np.ndarray) -> list[Any]:
        searches.append(image)
        return detect_faces(image, CONFIG, "hog")

    tracks, stats = track_scene(
        frames,
        anchors,
        detect,
        lambda image, last, _sure: follow_face(image, last, CONFIG, "hog"),
        [0.5 * i for i in range(len(frames))],
    )
    return tracks, stats, len(searches)


def spans(tracks: list[Track]) -> list[list[int]]:
    return sorted(sorted(s.frame for s in t.sightings) for t in tracks)


def pulled_back(photo: np.ndarray, heights: list[int]) -> list[np.ndarray]:
    """The photo smaller on each frame, drifting right: a camera pulling back and panning."""
    return [
        place(photo, height=h, x=40 + 30 * k, y=HEIGHT - h, background=GREY)
        for k, h in enumerate(heights)
    ]


def test_a_face_the_detector_loses_is_still_followed(face_photos: dict[str, Any]) -> None:
    frames = pulled_back(face_photos["astronaut"], [300, 250, 210, 180, 160, 145])
    # Far away, the face (about 30 px) is below what the full search finds on these frames...
    assert detect_faces(frames[4], CONFIG, "hog") == []
    assert detect_faces(frames[5], CONFIG, "hog") == []
    tracks, stats, searches = follow(frames, anchors={0, 2, 4})
    # ...but followed from where it was, it is one appearance over all six frames, found by
    # one full search: the anchors after the first were skipped while the track held.
    assert spans(tracks) == [[0, 1, 2, 3, 4, 5]]
    assert searches == 1 and stats.held == 2
    faces = sorted(tracks[0].sightings, key=lambda s: s.frame)
    assert all(b.face.x > a.face.x for a, b in pairwise(faces))
    assert tracks[0].best().frame == 0  # the largest face is the one kept


def test_two_people_one_leaves(face_photos: dict[str, Any]) -> None:
    astronaut, hopper = face_photos["astronaut"], face_photos["hopper"]
    frames = []
    for k in range(6):
        frame = place(astronaut, height=260, x=10 + 8 * k, y=50, background=GREY)
        if k < 3:  # Grace Hopper stands at the right for the first three frames
            right = place(hopper, height=260, x=400 - 6 * k, y=60, background=GREY)
            frame[:, 330:] = right[:, 330:]
        frames.append(frame)
    tracks, stats, searches = follow(frames, anchors={0, 3})
    assert spans(tracks) == [[0, 1, 2], [0, 1, 2, 3, 4, 5]]
    # A track was lost before the second anchor: that frame was searched whole again, and
    # the face still there was not taken for a new person.
    assert searches == 2 and stats.held == 0


def test_a_face_first_found_late_is_followed_back(face_photos: dict[str, Any]) -> None:
    # The camera comes closer: the face is too small for the full search on the first frames.
    frames = pulled_back(face_photos["astronaut"], [300, 250, 210, 180, 160])[::-1]
    assert detect_faces(frames[0], CONFIG, "hog") == []
    assert detect_faces(frames[-1], CONFIG, "hog")
    tracks, _stats, searches = follow(frames, anchors={len(frames) - 1})
    (track,) = tracks
    assert searches == 1 and sorted(s.frame for s in track.sightings) == [0, 1, 2, 3, 4]


def test_boxes_are_the_same_face_only_when_near_and_alike() -> None:
    from people.faces import Face

    a = Face(100, 100, 50, 50, 1.0, None)
    assert same_face(a, Face(130, 110, 55, 55, 1.0, None))
    assert not same_face(a, Face(300, 100, 50, 50, 1.0, None))  # far away
    assert not same_face(a, Face(100, 100, 120, 120, 1.0, None))  # much larger


def test_a_scene_filmed_sideways_is_searched_turned(face_photos: dict[str, Any]) -> None:
    """Phone footage stored a quarter turn off: no upright face, found once turned, and the
    box given back in the frame as stored."""
    import cv2

    from people.faces import sideways, turn, turn_back

    upright = place(face_photos["hopper"], height=HEIGHT, x=170, y=0, background=GREY)
    (face,) = detect_faces(upright, CONFIG, "hog")
    for stored, back in (
        (cv2.ROTATE_90_CLOCKWISE, cv2.ROTATE_90_COUNTERCLOCKWISE),
        (cv2.ROTATE_90_COUNTERCLOCKWISE, cv2.ROTATE_90_CLOCKWISE),
    ):
        frame = turn(upright, stored)  # what the video holds: the face lying on its side
        assert detect_faces(frame, CONFIG, "hog") == []
        assert sideways(frame, CONFIG, "hog") == back
        (found,) = detect_faces(turn(frame, back), CONFIG, "hog")
        mapped = turn_back(found, back, frame.shape)
        # Where the upright face's centre went when the picture was turned into the frame.
        cx, cy = face.x + face.w / 2, face.y + face.h / 2
        if stored == cv2.ROTATE_90_CLOCKWISE:  # (x, y) -> (H - y, x)
            expected = (HEIGHT - cy, cx)
        else:  # (x, y) -> (y, W - x)
            expected = (cy, upright.shape[1] - cx)
        centre = (mapped.x + mapped.w / 2, mapped.y + mapped.h / 2)
        assert abs(centre[0] - expected[0]) <= 4 and abs(centre[1] - expected[1]) <= 4
        assert mapped.x >= 0 and mapped.x + mapped.w <= frame.shape[1]
        assert mapped.y >= 0 and mapped.y + mapped.h <= frame.shape[0]
    assert (
        sideways(
            place(face_photos["coffee"], height=HEIGHT, x=0, y=0, background=GREY), CONFIG, "hog"
        )
        is None
    )


def coffee_with(face_photos: dict[str, Any], face: str | None, x: int = 420) -> np.ndarray:
    """The coffee photo (no face) as a still background, a portrait pasted at ``x`` if asked."""
    import cv2

    frame = cv2.resize(face_photos["coffee"], (640, HEIGHT), interpolation=cv2.INTER_AREA)
    if face is not None:
        photo = cv2.resize(face_photos[face], (150, 150), interpolation=cv2.INTER_AREA)
        frame[180:330, x : x + 150] = photo
    return np.ascontiguousarray(frame)


def test_a_still_scene_is_searched_again_only_where_it_changed(
    face_photos: dict[str, Any],
) -> None:
    from people.faces import SceneSearch

    still = coffee_with(face_photos, None)
    someone = coffee_with(face_photos, "hopper")
    search = SceneSearch(CONFIG, "hog")
    assert search(still) == []  # searched whole: no face
    assert search(still.copy()) == [] and search.reused == 1  # the same picture: not searched
    # Someone comes in: only the part that changed is searched, and the face is found there,
    # where the whole search finds it.
    (found,) = search(someone)
    (whole,) = detect_faces(someone, CONFIG, "hog")
    assert search.narrowed == 1
    assert abs(found.x - whole.x) <= 4 and abs(found.y - whole.y) <= 4
    assert abs(found.w - whole.w) <= 4


def test_a_changed_picture_is_searched_whole(face_photos: dict[str, Any]) -> None:
    from people.faces import SceneSearch

    search = SceneSearch(CONFIG, "hog")
    assert search(coffee_with(face_photos, None)) == []
    # Another shot altogether (a plain frame with a face): searched whole, the face found.
    other = place(face_photos["hopper"], height=HEIGHT, x=170, y=0, background=GREY)
    assert search(other) and search.narrowed == 0 and search.reused == 0


# --- hints: faces the full search scores below its threshold --------------------------------


def moving(frame: np.ndarray, pixels: int) -> np.ndarray:
    """``frame`` smeared sideways over ``pixels``: a head moving while the shutter is open."""
    import cv2

    kernel = np.zeros((pixels, pixels), dtype=np.float32)
    kernel[pixels // 2, :] = 1.0 / pixels
    return np.ascontiguousarray(cv2.filter2D(frame, -1, kernel))


def hopper_walk(face_photos: dict[str, Any], smeared: list[bool], left: Any = None) -> list[Any]:
    """Grace Hopper (a ~60 px face) drifting right, smeared on the frames marked; with
    ``left``, a frame whose left part is pasted on each (someone else standing there)."""
    frames = []
    for k, smear in enumerate(smeared):
        frame = place(face_photos["hopper"], height=200, x=300 + 6 * k, y=60, background=GREY)
        frame = moving(frame, 7) if smear else frame
        if left is not None:
            frame[:, :280] = left[:, :280]
        frames.append(frame)
    return frames


def hinted(frames: list[np.ndarray], anchors: set[int]) -> tuple[list[Track], TrackingStats]:
    """The stage's own tracking of a scene (hints included), frames half a second apart."""
    from people.stages.faces import scene_tracks

    return scene_tracks(frames, anchors, [0.5 * i for i in range(len(frames))], CONFIG, "hog")


def test_a_face_missed_on_every_anchor_is_found_from_its_hint(
    face_photos: dict[str, Any],
) -> None:
    """Chaplin in story_dev_01's last scene: found by the full search on some frames, none of
    them anchors. The anchors' weak box (a hint) is followed onto the next frame, where the
    face scores as a full search of that frame would score it, and becomes an appearance."""
    frames = hopper_walk(face_photos, [True, False, True, True])
    for anchor in (0, 2):
        assert detect_faces(frames[anchor], CONFIG, "hog") == []  # the anchors miss her
    assert detect_faces(frames[1], CONFIG, "hog")  # the frame between would not
    tracks, _stats = hinted(frames, anchors={0, 2})
    (track,) = tracks
    frames_seen = sorted(s.frame for s in track.sightings)
    assert frames_seen[:2] == [0, 1]
    assert track.best().frame == 1 and track.best().face.score >= CONFIG.min_score


def test_a_second_face_weak_on_the_anchor_is_not_lost_to_a_held_anchor(
    face_photos: dict[str, Any],
) -> None:
    """The goldeneye office shot: one face sure, the other just under the threshold on the
    first anchor; the next anchor is held (the sure face is followed there), so only the
    hint, followed, finds the second person."""
    someone = place(face_photos["astronaut"], height=280, x=0, y=40, background=GREY)
    frames = hopper_walk(face_photos, [True, False, False], left=someone)
    tracks, stats = hinted(frames, anchors={0, 2})
    assert stats.held == 1 and stats.detected == 1  # the second anchor was not searched
    assert len(tracks) == 2
    hopper = max(tracks, key=lambda t: t.first.face.x)
    assert hopper.first.frame == 0 and hopper.first.face.x >= 300


def test_a_hint_that_never_scores_is_no_face_and_is_let_go(face_photos: dict[str, Any]) -> None:
    """Smeared on every frame, the face never scores the threshold: no appearance (a weak
    box stays a hint), and it is followed only ``HINT_FRAMES`` frames past its anchor."""
    from people.tracking import HINT_FRAMES

    frames = hopper_walk(face_photos, [True] * 8)
    assert detect_faces(frames[0], CONFIG, "hog", floor=-0.5)  # a hint is there
    tracks, stats = hinted(frames, anchors={0})
    assert tracks == [] and stats.followed == HINT_FRAMES
    # A real photo without a face gives no appearance either, hints or not.
    coffee = [coffee_with(face_photos, None)] * 4
    assert hinted(coffee, anchors={0, 2})[0] == []


def framed_astronaut(face_photos: dict[str, Any]) -> np.ndarray:
    """The astronaut as one shot of ``bench.people_eval`` (seed 7) frames her: mirrored,
    darker, turned 6.8 degrees, 574 px high at (59, 129) of a blue 1280x720 frame. Its
    numbers are that shot's, to the last digit: the box below is that close to the line."""
    import cv2

    photo = np.ascontiguousarray(face_photos["astronaut"][:, ::-1])
    photo = np.clip(photo.astype(np.float32) * 0.6555944217471514, 0, 255).astype(np.uint8)
    h, w = photo.shape[:2]
    tilt = cv2.getRotationMatrix2D((w / 2, h / 2), -6.841019413319316, 1.0)
    photo = cv2.warpAffine(photo, tilt, (w, h), borderMode=cv2.BORDER_REPLICATE)
    photo = cv2.resize(photo, (574, 574), interpolation=cv2.INTER_AREA)
    frame = np.zeros((720, 1280, 3), dtype=np.uint8)
    frame[:] = (24, 93, 149)
    frame[129:703, 59:633] = photo
    return frame


def test_a_hint_the_window_scan_lifts_over_the_threshold_stays_a_hint(
    face_photos: dict[str, Any],
) -> None:
    """A box on her suit scores just under the threshold on the full search and just over it
    on a scan of the window around it (other sampling offsets): only the full search of a
    frame makes a hint a face, so a still shot of her shows one face, not two."""
    from people.faces import hint_score

    frame = framed_astronaut(face_photos)
    (face,) = detect_faces(frame, CONFIG, "hog")
    hints = [h for h in detect_faces(frame, CONFIG, "hog", floor=hint_score(CONFIG, "hog"))]
    suit = [h for h in hints if h.score < CONFIG.min_score and h.y > face.y + face.h]
    assert suit  # the box below her face, a hint
    tracks, _stats = hinted([frame] * 5, anchors={0, 2, 4})
    (track,) = tracks
    assert abs(track.best().face.x - face.x) <= 8 and abs(track.best().face.y - face.y) <= 8
