"""The ocr stage: on-screen text read with Tesseract; a text held across cuts is recorded once."""

from __future__ import annotations

import logging
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from analysis.models import Scene
from analysis.pipeline.base import Stage, StageContext, register
from analysis.pipeline.stages.common import SceneSpan, load_scenes
from mediakit.framestore import Candidate
from videoanalyzer.progress import ProgressThrottle
from vision.conf import setting
from vision.keyframes import read_after_start, read_keyframe
from vision.models import SceneText
from vision.stages.common import rows_to_replace, run_scenes, set_metadata, stage_enabled

logger = logging.getLogger(__name__)
MAX_TEXT_FRAMES = 6  # pass candidates searched for text per scene, besides the two stored
TEXT_FRAME_INTERVAL = 0.5


def scene_frames(scene: Scene, span: SceneSpan | None, candidates: list[Candidate]) -> list[Any]:
    """BGR frames to look for text on: the keyframe, the frame 1 s in, and up to
    ``MAX_TEXT_FRAMES`` of the decode pass's candidates spread over the scene (a title or a
    sign is often on screen for only part of it)."""
    import cv2

    frames = [read_keyframe(scene), read_after_start(scene)]
    if span is not None:
        inside = [c for c in candidates if span.start_frame <= c.index < span.end_frame]
        step = max(1, -(-len(inside) // MAX_TEXT_FRAMES))
        frames += [cv2.imread(str(c.path), cv2.IMREAD_COLOR) for c in inside[::step]]
    return [f for f in frames if f is not None]


def _read_scene_text(
    scene: Scene,
    span: SceneSpan | None,
    candidates: list[Candidate],
    languages: str,
    ctx: StageContext,
) -> Any:
    from vision.ocr import SceneText as Found
    from vision.ocr import read_scene

    frames = scene_frames(scene, span, candidates)
    return Found(scene.index, read_scene(frames, languages, ctx.workdir / "ocr") if frames else [])


@register
class OcrStage(Stage[list[Any]]):
    """Read on-screen text with Tesseract; a text held across cuts is recorded once."""

    name = "ocr"
    imports = ("numpy", "cv2")
    label = "Reading on-screen text"
    weight = 1.0

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
        progress, found = ProgressThrottle(ctx.report), []
        workers = max(1, int(setting("OCR_WORKERS")))
        candidates = ctx.frame_pass().candidates() or []
        spans = {span.index: span for span in load_scenes(ctx.analysis)}
        with ThreadPoolExecutor(workers) as pool:
            jobs = [
                pool.submit(_read_scene_text, s, spans.get(s.index), candidates, languages, ctx)
                for s in scenes
            ]
            for done, job in enumerate(jobs):
                found.append(job.result())
                progress(done / len(jobs), f"Reading text: scene {done + 1} of {len(jobs)}")
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
