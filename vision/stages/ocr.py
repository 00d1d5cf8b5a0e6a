"""The ocr stage: on-screen text read with Tesseract; a text held across cuts is recorded once."""

from __future__ import annotations

import logging
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from analysis.models import Scene
from analysis.pipeline.base import Stage, StageContext, register
from videoanalyzer.progress import ProgressThrottle
from vision.conf import setting
from vision.keyframes import read_keyframe, scenes_with_keyframes
from vision.models import SceneText
from vision.stages.common import set_metadata, stage_enabled

logger = logging.getLogger(__name__)


def _read_scene_text(scene: Scene, languages: str, ctx: StageContext) -> Any:
    from vision.ocr import SceneText as Found
    from vision.ocr import read_text

    image = read_keyframe(scene)
    lines = [] if image is None else read_text(image, languages, ctx.workdir / "ocr")
    return Found(scene.index, lines)


@register
class OcrStage(Stage[list[Any]]):
    """Read on-screen text with Tesseract; a text held across cuts is recorded once."""

    name = "ocr"
    label = "Reading on-screen text"
    weight = 1.0

    def compute(self, ctx: StageContext) -> list[Any]:
        from vision.ocr import OcrUnavailable, check_tesseract, mark_repeats

        scenes = scenes_with_keyframes(ctx.analysis)
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
        with ThreadPoolExecutor(workers) as pool:
            jobs = [pool.submit(_read_scene_text, s, languages, ctx) for s in scenes]
            for done, job in enumerate(jobs):
                found.append(job.result())
                progress(done / len(jobs), f"Reading text: scene {done + 1} of {len(jobs)}")
        by_index = {s.index: s.pk for s in scenes}
        return [(by_index[item.scene_index], item) for item in mark_repeats(found)]

    def persist(self, ctx: StageContext, result: list[Any]) -> None:
        SceneText.objects.filter(analysis=ctx.analysis).delete()
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
