"""The ``faces`` stage: faces followed through each scene's pictures, clustered into characters.

Per scene, the full-frame search runs on a few anchor frames and each face found is followed
over the scene's other pictures (``people.tracking``): one track is one appearance, embedded
once from its best face. The tracks' embeddings are clustered into the video's characters.

Optional (analysis parameter ``faces``, default on) and configurable (``people.conf``).
``compute`` finds and clusters the faces; ``persist`` hands the clusters to ``people.services``,
which matches them against editor-named characters of earlier runs so names survive a re-run.
"""

from __future__ import annotations

import bisect
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from analysis.models import Scene
from analysis.pipeline.base import Stage, StageContext, register
from analysis.pipeline.stages.common import (
    SceneSpan,
    in_scope,
    load_scenes,
    map_ordered,
    scene_scope,
    scene_stem,
)
from mediakit.framestore import AFTER_START_SECONDS, Candidate
from people import services
from people.conf import FaceConfig, PeopleParameterError, face_config
from people.stages.common import record
from people.tracking import Track, TrackingStats, track_scene
from videoanalyzer.progress import ProgressThrottle

if TYPE_CHECKING:
    import numpy as np

THUMB_QUALITY = 88
CANDIDATES_FOR_MORE_FRAMES = 0.5  # seconds between the pass's pictures for > 2 a scene
# Frames of a scene faces are followed over (the pass's pictures, about two a second): a
# longer scene's are spread over it, so the pictures of a scene held at once stay few.
TRACK_FRAMES = 12


@dataclass(frozen=True)
class FrameSample:
    """A frame to look for faces on, and the part of its scene it stands for."""

    scene_id: int
    frame: int
    time: float
    start: float
    end: float


def sample_frames(scene: SceneSpan, count: int) -> list[int]:
    """``count`` frame indices spread evenly over the scene (its middle when ``count`` is 1)."""
    length = scene.end_frame - scene.start_frame
    picked = {scene.start_frame + int(length * (k + 0.5) / count) for k in range(count)}
    return sorted(min(max(f, scene.start_frame), scene.end_frame - 1) for f in picked)


def cover(scene: SceneSpan, timed: list[tuple[int, float]]) -> list[FrameSample]:
    """Give each sampled (frame, time) the scene's range up to halfway to its neighbours."""
    timed = sorted(timed, key=lambda item: item[1])
    samples = []
    for i, (frame, at) in enumerate(timed):
        start = scene.start_time if i == 0 else (timed[i - 1][1] + at) / 2
        end = scene.end_time if i == len(timed) - 1 else (at + timed[i + 1][1]) / 2
        samples.append(FrameSample(scene.id, frame, round(at, 3), round(start, 3), round(end, 3)))
    return samples


def _stored_times(ctx: StageContext, scene: SceneSpan, row: Scene, count: int) -> list[Any]:
    """(frame, time, storage name) of the scene's keyframe and, if wanted, its 1-second frame."""
    fps = ctx.analysis.video.fps or 25.0
    key_time = row.keyframe_time if row.keyframe_time is not None else scene.start_time
    key_frame = scene.start_frame + round((key_time - scene.start_time) * fps)
    found = [(key_frame, key_time, str(row.keyframe.name))]
    after_time = min(scene.start_time + AFTER_START_SECONDS, scene.end_time - 1.0 / fps)
    name = f"analyses/{ctx.analysis.pk}/{scene_stem(scene.index)}_after1s.jpg"
    storage = Scene._meta.get_field("keyframe").storage
    if count > 1 and abs(after_time - key_time) * fps >= 1 and storage.exists(name):
        frame = scene.start_frame + round((after_time - scene.start_time) * fps)
        found.append((frame, after_time, name))
    return found


def read_stored(name: str) -> Any:
    """An RGB image from the keyframes stage's storage, None if unreadable."""
    import cv2
    import numpy as np

    with Scene._meta.get_field("keyframe").storage.open(name, "rb") as handle:
        data = np.frombuffer(handle.read(), dtype=np.uint8)
    image = cv2.imdecode(data, cv2.IMREAD_COLOR)
    return None if image is None else cv2.cvtColor(image, cv2.COLOR_BGR2RGB)


def read_file(path: str) -> Any:
    """An RGB image from a file, None if unreadable."""
    import cv2

    image = cv2.imread(path, cv2.IMREAD_COLOR)
    return None if image is None else cv2.cvtColor(image, cv2.COLOR_BGR2RGB)


@dataclass(frozen=True)
class SceneFrames:
    """The frames of one scene faces are followed over; ``anchors`` are searched whole."""

    scene: SceneSpan
    samples: list[FrameSample]
    sources: list[str]  # what ``read`` opens, one per sample
    anchors: frozenset[int]
    read: Callable[[str], Any]


def _stored_frames(ctx: StageContext, scenes: list[SceneSpan], count: int) -> Iterator[Any]:
    """The keyframes stage's pictures of each scene: the keyframe and 1 s in, both searched."""
    rows = {s.pk: s for s in Scene.objects.filter(analysis=ctx.analysis)}
    for scene in scenes:
        stored = _stored_times(ctx, scene, rows[scene.id], count)
        names = {frame: name for frame, _at, name in stored}
        samples = cover(scene, [(frame, at) for frame, at, _name in stored])
        sources = [names[s.frame] for s in samples]
        yield SceneFrames(scene, samples, sources, frozenset(range(len(samples))), read_stored)


def nearest_candidates(scene: SceneSpan, count: int, inside: list[Candidate]) -> list[Candidate]:
    """For each of ``count`` frames spread over the scene, the nearest of the candidates
    ``inside`` it: fewer when the scene holds fewer (for this the pass keeps about two a
    second: :meth:`FacesStage.picture_interval`)."""
    if not inside:
        return []
    picked = {min(inside, key=lambda c: abs(c.index - f)) for f in sample_frames(scene, count)}
    return sorted(picked, key=lambda c: c.index)


def candidate_frames(
    candidates: list[Candidate], scenes: list[SceneSpan], count: int
) -> Iterator[SceneFrames]:
    """The pictures a decode pass kept (``candidates``, in frame order) in each scene, at most
    ``TRACK_FRAMES``, ``count`` of them spread over it as anchors."""
    indices = [c.index for c in candidates]  # in frame order
    for scene in scenes:
        lo, hi = (bisect.bisect_left(indices, f) for f in (scene.start_frame, scene.end_frame))
        inside = candidates[lo:hi]
        followed = nearest_candidates(scene, max(count, TRACK_FRAMES), inside)
        if not followed:
            continue
        anchors = {c.index for c in nearest_candidates(scene, count, followed)}
        samples = cover(scene, [(c.index, c.time) for c in followed])
        chosen = frozenset(i for i, c in enumerate(followed) if c.index in anchors)
        yield SceneFrames(scene, samples, [str(c.path) for c in followed], chosen, read_file)


def scene_frames(ctx: StageContext, scenes: list[SceneSpan], config: FaceConfig) -> Iterator[Any]:
    """Each scene's frames: the stored keyframes when two per scene suffice, else the pictures
    the decode pass kept."""
    keyframes_stored = not Scene.objects.filter(analysis=ctx.analysis, keyframe="").exists()
    if config.frames_per_scene <= 2 and keyframes_stored:
        return _stored_frames(ctx, scenes, config.frames_per_scene)
    candidates = ctx.frame_pass().candidates() or []
    return candidate_frames(candidates, scenes, config.frames_per_scene)


def to_video_pixels(face: Any, scale: float) -> Any:
    """The face with its box in the video's pixels (stored keyframes may be scaled down)."""
    if abs(scale - 1.0) > 1e-3:
        face.x, face.y = round(face.x * scale), round(face.y * scale)
        face.w, face.h = max(1, round(face.w * scale)), max(1, round(face.h * scale))
    return face


@dataclass
class SceneTracks:
    """What following faces through one scene gave: one (sample, face) per track."""

    appearances: list[tuple[FrameSample, Any]]
    frames: int
    stats: TrackingStats
    turned: bool = False  # the faces were found sideways


def appearance(samples: list[FrameSample], track: Track) -> tuple[FrameSample, Any]:
    """A track as one appearance: its span over the scene, its best face and that face's time."""
    best = track.best()
    at = samples[best.frame]
    start, end = samples[track.first.frame].start, samples[track.last.frame].end
    return FrameSample(at.scene_id, at.frame, at.time, start, end), best.face


def follow_scene(item: SceneFrames, config: FaceConfig, detector: str, width: int) -> SceneTracks:
    """Read a scene's frames, follow its faces through them, keep each track's best face.

    A scene where no upright face was found is searched sideways once, on its middle anchor
    (``people.faces.sideways``); if it shows faces turned, the scene is followed turned."""
    from people.faces import sideways, turn, turn_back

    loaded = [(s, item.read(src)) for s, src in zip(item.samples, item.sources, strict=True)]
    kept = [(i, s, image) for i, (s, image) in enumerate(loaded) if image is not None]
    if not kept:
        return SceneTracks([], 0, TrackingStats())
    anchors = {n for n, (i, _s, _image) in enumerate(kept) if i in item.anchors}
    images = [image for _i, _s, image in kept]
    times = [s.time for _i, s, _image in kept]
    shape = images[0].shape
    tracks, stats = scene_tracks(images, anchors, times, config, detector)
    rotation = None
    if not tracks and anchors and config.sideways:
        middle = sorted(anchors)[len(anchors) // 2]
        rotation = sideways(images[middle], config, detector)
        if rotation is not None:
            turned = [turn(image, rotation) for image in images]
            tracks, more = scene_tracks(turned, anchors, times, config, detector)
            stats.detected += more.detected
            stats.reused += more.reused
            stats.narrowed += more.narrowed
    samples = cover(item.scene, [(s.frame, s.time) for _i, s, _image in kept])
    found = []
    for track in tracks:
        sample, face = appearance(samples, track)
        face = to_video_pixels(turn_back(face, rotation, shape), width / shape[1])
        found.append((sample, face))
    return SceneTracks(found, len(images), stats, rotation is not None)


def scene_tracks(
    images: list[Any], anchors: set[int], times: list[float], config: FaceConfig, detector: str
) -> tuple[list[Track], TrackingStats]:
    """The faces on a scene's ``images`` (at ``times``) followed from full searches of its
    ``anchors``, hints included (``people.tracking``); the stats count the searches."""
    from people.faces import SceneSearch, follow_face, follow_hint, hint_score

    search = SceneSearch(config, detector, floor=hint_score(config, detector))

    def follow(image: Any, last: Any, sure: bool) -> Any:
        if sure:
            return follow_face(image, last, config, detector)
        return follow_hint(image, last, config, detector, search.whole)

    tracks, stats = track_scene(images, anchors, search, follow, times, sure=config.min_score)
    stats.detected -= search.reused
    stats.reused += search.reused
    stats.narrowed += search.narrowed
    return tracks, stats


@dataclass
class FacesResult:
    clusters: list[services.FaceCluster] = field(default_factory=list)
    frames: int = 0
    faces: int = 0  # tracks: one face followed through part of a scene
    searched: int = 0  # frames searched whole
    held: int = 0  # anchors not searched again: every face on them was followed there
    reused: int = 0  # anchors not searched: the same picture as the scene's last, empty search
    narrowed: int = 0  # anchors searched only where they differ from that picture
    turned_scenes: int = 0  # scenes whose faces were found sideways
    detector: str = ""
    device: str = ""
    skipped: bool = False
    config: FaceConfig | None = None


def _thumbnail(chip: np.ndarray) -> bytes:
    import cv2

    ok, buffer = cv2.imencode(
        ".jpg", cv2.cvtColor(chip, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, THUMB_QUALITY]
    )
    return buffer.tobytes() if ok else b""


def build_face_clusters(found: list[tuple[FrameSample, Any]], config: FaceConfig) -> list[Any]:
    """Cluster embedded faces; each cluster keeps its hits and its best face as thumbnail."""
    import numpy as np

    from people.clustering import cluster

    if not found:
        return []
    vectors = np.stack([face.embedding for _sample, face in found])
    labels = cluster(vectors, config.cluster_threshold, "euclidean")
    clusters: list[services.FaceCluster] = []
    for label in range(max(labels) + 1):
        members = [found[i] for i, lab in enumerate(labels) if lab == label]
        best = max(members, key=lambda m: m[1].w * m[1].h * (1.0 + max(m[1].score, 0.0)))
        hits = [
            services.FaceHit(
                sample.scene_id,
                sample.start,
                sample.end,
                sample.time,
                face.x,
                face.y,
                face.w,
                face.h,
                face.score,
                face.embedding.tolist(),
                face.turn,
            )
            for sample, face in members
        ]
        quality = best[1].w * best[1].h * (1.0 + max(best[1].score, 0.0))
        clusters.append(services.FaceCluster(hits, _thumbnail(best[1].chip), quality))
    return clusters


@dataclass(frozen=True)
class FaceSearch:
    """How a run looks for faces: its settings, the detector chosen and the video's width."""

    config: FaceConfig
    detector: str
    width: int  # the video's, for boxes found on scaled-down pictures


def find_faces(
    items: Iterator[SceneFrames],
    scenes: int,
    search: FaceSearch,
    report: Callable[[float, str], None],
) -> FacesResult:
    """Follow the faces through each scene's frames, embed each track once, cluster them."""
    from people.faces import embed_faces

    config, detector = search.config, search.detector
    progress, frames = ProgressThrottle(report), 0
    found: list[tuple[FrameSample, Any]] = []
    stats, turned = TrackingStats(), 0
    threads = 1 if detector == "cnn" else config.threads  # the CNN has the GPU to itself

    def follow(item: SceneFrames) -> SceneTracks:
        return follow_scene(item, config, detector, search.width)

    for done, (_item, result) in enumerate(map_ordered(follow, items, threads), 1):
        frames += result.frames
        found.extend(result.appearances)
        stats.detected += result.stats.detected
        stats.held += result.stats.held
        stats.reused += result.stats.reused
        stats.narrowed += result.stats.narrowed
        turned += result.turned
        progress(0.8 * done / scenes, f"Looking for faces: scene {done} of {scenes}")
    report(0.8, f"Comparing {len(found)} faces")
    embed_faces(
        [face for _sample, face in found],
        lambda f: progress(0.8 + 0.15 * f, f"Comparing {len(found)} faces"),
    )
    clusters = build_face_clusters(found, config)
    report(1.0, f"Found {len(found)} faces of {len(clusters)} people on {frames} frames")
    return FacesResult(
        clusters,
        frames,
        len(found),
        stats.detected,
        stats.held,
        stats.reused,
        stats.narrowed,
        turned,
        detector,
        config=config,
    )


@register
class FacesStage(Stage[FacesResult]):
    """Find faces on a few frames per scene and group them into the video's characters."""

    name = "faces"
    imports = ("numpy", "cv2", "dlib")
    label = "Finding characters"
    weight = 1.0
    cost_follows = "scenes"  # a few frames of each scene searched

    def picture_interval(self, ctx: StageContext) -> float | None:
        """More than two frames a scene come from the decode pass's pictures: ask it for
        about two a second (its own step, 1 s, would leave short scenes one or two)."""
        try:
            config = face_config(ctx.parameters)
        except PeopleParameterError:
            return None  # ``compute`` reports it
        return (
            CANDIDATES_FOR_MORE_FRAMES if config.enabled and config.frames_per_scene > 2 else None
        )

    def compute(self, ctx: StageContext) -> FacesResult:
        from people.faces import dlib_cuda_devices, select_detector, select_device

        config = face_config(ctx.parameters)
        scenes = in_scope(ctx.analysis, load_scenes(ctx.analysis))  # a re-run's, after a cut edit
        if not config.enabled or not scenes:
            ctx.report(1.0, "Faces are off for this analysis" if scenes else "No scenes")
            return FacesResult(skipped=not config.enabled, config=config)
        device = select_device(config.device, dlib_cuda_devices())
        detector = select_detector(config.detector, device)
        result = find_faces(
            scene_frames(ctx, scenes, config),
            len(scenes),
            FaceSearch(config, detector, ctx.analysis.video.width),
            ctx.report,
        )
        result.device = device
        return result

    def persist(self, ctx: StageContext, result: FacesResult) -> None:
        config = result.config or face_config(ctx.parameters)
        if (scope := scene_scope(ctx.analysis)) is not None:
            services.characters_update_scenes(
                analysis=ctx.analysis,
                clusters=result.clusters,
                scene_ids=scope,
                cluster_threshold=config.cluster_threshold,
            )
            return
        services.characters_replace(
            analysis=ctx.analysis,
            clusters=result.clusters,
            cluster_threshold=config.cluster_threshold,
            carry_threshold=config.carry_threshold,
        )
        record(
            ctx.analysis,
            "faces",
            {
                "skipped": result.skipped,
                "frames": result.frames,
                "faces": result.faces,
                "searched": result.searched,
                "held": result.held,
                "reused": result.reused,
                "narrowed": result.narrowed,
                "turned_scenes": result.turned_scenes,
                "detector": result.detector,
                "device": result.device,
            },
        )
