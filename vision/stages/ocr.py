"""The ocr stage: on-screen text read with Tesseract; a text held across cuts is recorded once."""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor, wait
from pathlib import Path
from typing import Any

from analysis.models import Scene
from analysis.pipeline.base import Stage, StageContext, register
from analysis.pipeline.stages.common import SceneSpan, load_scenes
from mediakit.framestore import Candidate
from videoanalyzer.progress import ProgressThrottle
from vision.conf import setting
from vision.keyframes import after_start_bytes, keyframe_bytes
from vision.models import SceneText
from vision.stages.common import rows_to_replace, run_scenes, set_metadata, stage_enabled

logger = logging.getLogger(__name__)
MAX_TEXT_FRAMES = 6  # pass pictures searched for text per scene, besides the two stored
TEXT_FRAME_INTERVAL = 0.5
BATCH_SCENES = 32  # scenes whose sheets one Tesseract run reads
# Of a scene's work, the share done once its lines are found and cut out (the rest is reading
# them with Tesseract): about half of the stage's CPU goes to each.
SEARCH_SHARE = 0.5


def scene_frames(
    scene: Scene,
    span: SceneSpan | None,
    candidates: list[Candidate],
    ends: Sequence[Candidate] = (),
) -> list[Any]:
    """BGR frames to look for text on: the keyframe, the frame 1 s in, and up to
    ``MAX_TEXT_FRAMES`` pictures of the decode pass (a title or a sign is often on screen
    for only part of a scene; as many as every ``step``-th of its candidates): the scene's
    last frame when the pass kept it (a screen typing a line in shows it whole only at the
    end; the grid's last picture can come up to half a second before) and its candidates
    spread from its start to its end. Each distinct picture once: the keyframe and the frame
    1 s in are copies of candidates, often of those spread over the scene too, and the same
    picture searched twice finds the same lines."""
    pictures = [keyframe_bytes(scene), after_start_bytes(scene)]
    if span is not None:
        last = [c for c in ends if span.start_frame <= c.index < span.end_frame][-1:]
        inside = [c for c in candidates if span.start_frame <= c.index < span.end_frame]
        chosen = [inside[k] for k in grid_picks(len(inside), len(last))]
        pictures += [_file_bytes(c.path) for c in [*chosen, *last]]
    return distinct_frames(pictures)


def grid_picks(count: int, reserved: int) -> list[int]:
    """Which of a scene's ``count`` grid pictures to search: as many as every ``step``-th of
    them would give (the stage's cost per scene, at most ``MAX_TEXT_FRAMES``), less the
    ``reserved`` places of its last frame, spread from the first to the last."""
    step = max(1, -(-count // MAX_TEXT_FRAMES))
    return spread(count, max(1, -(-count // step) - reserved))


def spread(count: int, most: int) -> list[int]:
    """Up to ``most`` of ``count`` indices, evenly spread from the first to the last."""
    if count <= most:
        return list(range(count))
    if most <= 1:
        return [0][:most]
    return sorted({round(k * (count - 1) / (most - 1)) for k in range(most)})


def distinct_frames(pictures: list[bytes | None]) -> list[Any]:
    """Encoded pictures decoded as BGR, each distinct file once, in order; missing (None)
    and undecodable ones left out."""
    import cv2
    import numpy as np

    distinct = list(dict.fromkeys(p for p in pictures if p))
    frames = [cv2.imdecode(np.frombuffer(p, np.uint8), cv2.IMREAD_COLOR) for p in distinct]
    return [f for f in frames if f is not None]


def _file_bytes(path: Path) -> bytes | None:
    try:
        return path.read_bytes()
    except OSError:  # a candidate file that is gone is skipped, as before
        return None


class SceneCount:
    """Scenes' work done by the stage's threads: a scene counts ``SEARCH_SHARE`` once its
    lines are found, the rest once they are read (a batch's Tesseract run reads them all at
    its end, so counting batches alone left the bar still, then jumping). The threads only
    count; the stage's own thread reports (a report writes the analysis's row)."""

    def __init__(self, scenes: int) -> None:
        self.scenes = max(1, scenes)
        self._done = 0.0
        self.read_scenes = 0
        self._lock = threading.Lock()

    def searched(self) -> None:
        with self._lock:
            self._done += SEARCH_SHARE

    def read(self, scenes: int) -> None:
        with self._lock:
            self._done += (1.0 - SEARCH_SHARE) * scenes
            self.read_scenes += scenes

    def fraction(self) -> float:
        with self._lock:
            return self._done / self.scenes


def _read_texts(
    scenes: list[tuple[Scene, SceneSpan | None]],
    pictures: tuple[list[Candidate], list[Candidate]],
    languages: str,
    ctx: StageContext,
    count: SceneCount,
) -> list[Any]:
    """The on-screen text of a batch of scenes: each scene's lines found and cut out, then
    all their sheets read in one Tesseract run. ``pictures``: the pass's candidates and
    its shots' last frames."""
    from vision.ocr import SceneText as Found
    from vision.ocr import plan_scene, read_plans

    plans = {}
    for scene, span in scenes:
        frames = scene_frames(scene, span, *pictures)
        plan = plan_scene(frames) if frames else None
        if plan is not None:
            plans[scene.index] = plan
        count.searched()
    read = read_plans(list(plans.values()), languages, ctx.workdir / "ocr")
    count.read(len(scenes))
    lines = dict(zip(plans, read, strict=True))
    return [Found(scene.index, lines.get(scene.index, [])) for scene, _span in scenes]


@register
class OcrStage(Stage[list[Any]]):
    """Read on-screen text with Tesseract; a text held across cuts is recorded once."""

    name = "ocr"
    imports = ("numpy", "cv2")
    label = "Reading on-screen text"
    weight = 1.0
    cost_follows = "scenes"  # a few frames of each scene read

    def picture_interval(self, ctx: StageContext) -> float | None:
        """Text shows for a moment (a sign the camera pans past): ask the decode pass for a
        candidate picture every half second to look for it on."""
        return TEXT_FRAME_INTERVAL if stage_enabled(ctx, self.name) else None

    def compute(self, ctx: StageContext) -> list[Any]:
        from vision.ocr import OcrUnavailable, check_tesseract, mark_repeats

        scenes = run_scenes(ctx)
        if not stage_enabled(ctx, self.name) or not scenes:
            return []
        languages = str(ctx.param("ocr_languages") or setting("OCR_LANGUAGES"))
        try:
            check_tesseract(languages)
        except OcrUnavailable as exc:
            logger.warning("on-screen text skipped: %s", exc)
            set_metadata(ctx, ocr_skipped=str(exc))
            return []
        ctx.report(0.0, "Reading on-screen text")
        count, progress = SceneCount(len(scenes)), ProgressThrottle(ctx.report)
        workers = max(1, int(setting("OCR_WORKERS")))
        files = ctx.frame_pass()
        pictures = (files.candidates() or [], files.end_frames())
        spans = {span.index: span for span in load_scenes(ctx.analysis)}
        pairs = [(s, spans.get(s.index)) for s in scenes]
        size = max(1, min(BATCH_SCENES, -(-len(pairs) // workers)))  # every worker busy
        batches = [pairs[k : k + size] for k in range(0, len(pairs), size)]
        with ThreadPoolExecutor(workers) as pool:
            jobs = [pool.submit(_read_texts, b, pictures, languages, ctx, count) for b in batches]
            pending = set(jobs)
            while pending:
                _finished, pending = wait(pending, timeout=progress.interval)
                text = f"Reading text: scene {count.read_scenes} of {count.scenes}"
                progress(count.fraction(), text)
        found = [item for job in jobs for item in job.result()]
        by_index = {s.index: s.pk for s in scenes}
        return [(by_index[item.scene_index], item) for item in mark_repeats(found)]

    def persist(self, ctx: StageContext, result: list[Any]) -> None:
        rows_to_replace(ctx, SceneText).delete()
        SceneText.objects.bulk_create(
            SceneText(
                scene_id=pk,
                analysis=ctx.analysis,
                text=item.text,
                lines=[
                    {"text": ln.text, "confidence": ln.confidence, "box": list(ln.box)}
                    for ln in item.lines
                ],
                continues=item.continues,
                first_scene_index=item.first_scene_index,
            )
            for pk, item in result
            if item.lines
        )
