"""The ``faces`` stage: faces found in each scene's pictures, clustered into characters.

Optional (analysis parameter ``faces``, default on) and configurable (``people.conf``).
``compute`` finds and clusters the faces; ``persist`` hands the clusters to ``people.services``,
which matches them against editor-named characters of earlier runs so names survive a re-run.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterator
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
from videoanalyzer.progress import ProgressThrottle

if TYPE_CHECKING:
    import numpy as np

THUMB_QUALITY = 88
CANDIDATES_FOR_MORE_FRAMES = 0.5  # seconds between the pass's pictures for > 2 a scene


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


def _stored_images(ctx: StageContext, scenes: list[SceneSpan], count: int) -> Iterator[Any]:
    """(sample, RGB image) from the keyframes stage's pictures: the keyframe and 1 s in."""
    import cv2
    import numpy as np

    rows = {s.pk: s for s in Scene.objects.filter(analysis=ctx.analysis)}
    storage = Scene._meta.get_field("keyframe").storage
    for scene in scenes:
        stored = _stored_times(ctx, scene, rows[scene.id], count)
        names = {frame: name for frame, _at, name in stored}
        for sample in cover(scene, [(frame, at) for frame, at, _name in stored]):
            with storage.open(names[sample.frame], "rb") as handle:
                data = np.frombuffer(handle.read(), dtype=np.uint8)
            image = cv2.imdecode(data, cv2.IMREAD_COLOR)
            if image is not None:
                yield sample, cv2.cvtColor(image, cv2.COLOR_BGR2RGB)


def nearest_candidates(scene: SceneSpan, count: int, inside: list[Candidate]) -> list[Candidate]:
    """For each of ``count`` frames spread over the scene, the nearest of the candidates
    ``inside`` it: fewer when the scene holds fewer (for this the pass keeps about two a
    second: :meth:`FacesStage.picture_interval`)."""
    if not inside:
        return []
    picked = {min(inside, key=lambda c: abs(c.index - f)) for f in sample_frames(scene, count)}
    return sorted(picked, key=lambda c: c.index)


def _candidate_images(ctx: StageContext, scenes: list[SceneSpan], count: int) -> Iterator[Any]:
    """(sample, RGB image) from the pictures the run's decode pass kept, ``count`` per scene."""
    import cv2

    candidates = ctx.frame_pass().candidates() or []
    indices = [c.index for c in candidates]  # in frame order
    for scene in scenes:
        lo, hi = (bisect.bisect_left(indices, f) for f in (scene.start_frame, scene.end_frame))
        chosen = nearest_candidates(scene, count, candidates[lo:hi])
        paths = {c.index: c.path for c in chosen}
        for sample in cover(scene, [(c.index, c.time) for c in chosen]):
            image = cv2.imread(str(paths[sample.frame]), cv2.IMREAD_COLOR)
            if image is not None:
                yield sample, cv2.cvtColor(image, cv2.COLOR_BGR2RGB)


def frame_images(ctx: StageContext, scenes: list[SceneSpan], config: FaceConfig) -> Iterator[Any]:
    """The sampled frames: stored keyframes when two per scene suffice, else more of the
    pictures the decode pass kept."""
    keyframes_stored = not Scene.objects.filter(analysis=ctx.analysis, keyframe="").exists()
    if config.frames_per_scene <= 2 and keyframes_stored:
        return _stored_images(ctx, scenes, config.frames_per_scene)
    return _candidate_images(ctx, scenes, config.frames_per_scene)


def to_video_pixels(face: Any, scale: float) -> Any:
    """The face with its box in the video's pixels (stored keyframes may be scaled down)."""
    if abs(scale - 1.0) > 1e-3:
        face.x, face.y = round(face.x * scale), round(face.y * scale)
        face.w, face.h = max(1, round(face.w * scale)), max(1, round(face.h * scale))
    return face


@dataclass
class FacesResult:
    clusters: list[services.FaceCluster] = field(default_factory=list)
    frames: int = 0
    faces: int = 0
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
            )
            for sample, face in members
        ]
        quality = best[1].w * best[1].h * (1.0 + max(best[1].score, 0.0))
        clusters.append(services.FaceCluster(hits, _thumbnail(best[1].chip), quality))
    return clusters


@register
class FacesStage(Stage[FacesResult]):
    """Find faces on a few frames per scene and group them into the video's characters."""

    name = "faces"
    imports = ("numpy", "cv2", "dlib")
    label = "Finding characters"
    weight = 1.0

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
        from people.faces import (
            detect_faces,
            dlib_cuda_devices,
            embed_faces,
            select_detector,
            select_device,
        )

        config = face_config(ctx.parameters)
        scenes = in_scope(ctx.analysis, load_scenes(ctx.analysis))  # a re-run's, after a cut edit
        if not config.enabled or not scenes:
            ctx.report(1.0, "Faces are off for this analysis" if scenes else "No scenes")
            return FacesResult(skipped=not config.enabled, config=config)
        device = select_device(config.device, dlib_cuda_devices())
        detector = select_detector(config.detector, device)
        progress, frames = ProgressThrottle(ctx.report), 0
        found: list[tuple[FrameSample, Any]] = []
        expected = len(scenes) * config.frames_per_scene
        width = ctx.analysis.video.width
        threads = 1 if detector == "cnn" else config.threads  # the CNN has the GPU to itself

        def detect(item: tuple[FrameSample, Any]) -> list[Any]:
            return detect_faces(item[1], config, detector)

        images = frame_images(ctx, scenes, config)
        for (sample, image), faces in map_ordered(detect, images, threads):
            frames += 1
            found.extend((sample, to_video_pixels(f, width / image.shape[1])) for f in faces)
            progress(0.8 * frames / expected, f"Looking for faces: frame {frames} of ~{expected}")
        ctx.report(0.8, f"Comparing {len(found)} faces")
        embed_faces(
            [face for _sample, face in found],
            lambda f: progress(0.8 + 0.15 * f, f"Comparing {len(found)} faces"),
        )
        clusters = build_face_clusters(found, config)
        ctx.report(1.0, f"Found {len(found)} faces of {len(clusters)} people on {frames} frames")
        return FacesResult(clusters, frames, len(found), detector, device, config=config)

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
                "detector": result.detector,
                "device": result.device,
            },
        )
