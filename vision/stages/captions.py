"""The captions stage: a caption per scene from a captioning model, else the offline describer."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from analysis.models import Analysis, Scene
from analysis.pipeline.base import Stage, StageContext, StageError, register
from videoanalyzer.progress import ProgressThrottle
from vision import captioning, describer, people_link
from vision.choice import caption_choice
from vision.conf import setting
from vision.devices import stage_device
from vision.keyframes import batches
from vision.models import CaptionSource, SceneCaption, SceneObjects, SceneText
from vision.stages.common import (
    record_model,
    rows_to_replace,
    run_scenes,
    set_metadata,
    stage_enabled,
    upright_rgb,
)

logger = logging.getLogger(__name__)
CAPTION_LANGUAGES = ("en", "ru")


@dataclass
class Caption:
    scene_pk: int
    text: str
    language: str
    text_en: str
    source: str
    model: str = ""


def caption_language(ctx: StageContext) -> str:
    language = str(ctx.param("caption_language") or setting("CAPTION_LANGUAGE") or "en").lower()
    if language not in CAPTION_LANGUAGES:
        raise StageError(f"caption_language must be one of {', '.join(CAPTION_LANGUAGES)}.")
    return language


def scene_facts(analysis: Analysis, scenes: list[Scene]) -> dict[int, describer.SceneFacts]:
    """What the earlier stages persisted, per scene pk, for the describer."""
    objects = {o.scene_id: o for o in SceneObjects.objects.filter(analysis=analysis)}
    texts = {t.scene_id: t for t in SceneText.objects.filter(analysis=analysis)}
    names, faces = people_link.character_names(analysis), people_link.face_counts(analysis)
    facts = {}
    for scene in scenes:
        found, text = objects.get(scene.pk), texts.get(scene.pk)
        # What the picture shows, in editor words (people are counted by the faces stage).
        things = [t for t in (found.tags if found else []) if t.get("source") != "faces"]
        facts[scene.pk] = describer.SceneFacts(
            objects=[(t["label"], t["score"]) for t in things],
            objects_ru=[t.get("label_ru", t["label"]) for t in things],
            faces=faces.get(scene.pk),
            people=names.get(scene.pk, []),
            text=text.text if text else "",
            place=found.place if found else "",
            action=found.action if found else "",
        )
    return facts


def model_captions(ctx: StageContext, scenes: list[Scene], name: str) -> list[str]:
    device = stage_device(ctx.parameters)
    config = captioning.CaptionerConfig(
        name=name,
        device=device,
        precision=str(setting("CAPTION_PRECISION")),
        cpu_offload=bool(setting("CAPTION_CPU_OFFLOAD")),
        beams=int(setting("CAPTION_BEAMS")),
        max_tokens=int(setting("CAPTION_MAX_TOKENS")),
        batch_size=int(setting("CAPTION_BATCH_SIZE")),
    )
    ctx.report(0.05, f"Loading the captioning model ({name})")
    captioning.load_captioner(config)
    texts, progress = [], ProgressThrottle(ctx.report)
    for batch in batches(scenes, config.batch_size):
        images = [upright_rgb(ctx, s) for s in batch]
        texts.extend(captioning.generate_captions(images, config))
        progress(0.1 + 0.8 * len(texts) / len(scenes), f"Captioned {len(texts)} keyframes")
    return texts


def russian(ctx: StageContext, english: list[str]) -> list[str] | None:
    """The captions translated to Russian, or None when no translator can be loaded."""
    name = captioning.translator_name(ctx.param("translation_model"))
    if name is None:
        return None
    try:
        return captioning.translate(english, name, stage_device(ctx.parameters))
    except captioning.ModelUnavailable as exc:
        logger.warning("Russian captions from the describer: %s", exc)
        return None


@register
class CaptionsStage(Stage[list[Caption]]):
    """A caption per scene: BLIP when configured and loadable, else the offline describer."""

    name = "captions"
    imports = ("numpy", "torch")
    label = "Describing scenes"
    weight = 1.0
    cost_follows = "scenes"  # one keyframe per scene

    def compute(self, ctx: StageContext) -> list[Caption]:
        scenes = run_scenes(ctx)
        language = caption_language(ctx)
        if not stage_enabled(ctx, self.name) or not scenes:
            return []
        facts = scene_facts(ctx.analysis, scenes)
        chosen = caption_choice(ctx.param("caption_model"), stage_device(ctx.parameters))
        name, reason = chosen.name, chosen.reason
        english: list[str] | None = None
        if name is not None:
            try:
                english = model_captions(ctx, scenes, name)
            except captioning.ModelUnavailable as exc:
                logger.warning("captions from the offline describer: %s", exc)
                set_metadata(ctx, caption_model_error=str(exc)[:500])
                reason = f"offline describer — {name} could not be loaded"
        record_model(ctx, "captions", name if english is not None else None, reason)
        result = self._assemble(ctx, scenes, facts, english, name, language)
        ctx.report(1.0, f"Described {len(result)} scenes")
        return result

    def _assemble(
        self,
        ctx: StageContext,
        scenes: list[Scene],
        facts: dict[int, describer.SceneFacts],
        english: list[str] | None,
        name: str | None,
        language: str,
    ) -> list[Caption]:
        source = CaptionSource.MODEL if english is not None else CaptionSource.DESCRIBER
        if english is None:
            english = [describer.describe_en(facts[s.pk]) for s in scenes]
        local = list(english)
        if language == "ru":
            translated = russian(ctx, english) if source == CaptionSource.MODEL else None
            local = translated or [describer.describe_ru(facts[s.pk]) for s in scenes]
        model = (name or "") if source == CaptionSource.MODEL else ""
        return [
            Caption(s.pk, text, language, en, source, model)
            for s, text, en in zip(scenes, local, english, strict=True)
        ]

    def persist(self, ctx: StageContext, result: list[Caption]) -> None:
        rows_to_replace(ctx, SceneCaption).delete()
        SceneCaption.objects.bulk_create(
            SceneCaption(
                scene_id=c.scene_pk,
                analysis=ctx.analysis,
                text=c.text,
                language=c.language,
                text_en=c.text_en,
                source=c.source,
                model=c.model,
            )
            for c in result
        )
        if result:
            set_metadata(ctx, caption_source=result[0].source, caption_model=result[0].model)
