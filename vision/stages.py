"""The vision stages: embeddings, objects (with motion), ocr, captions and scene_index.

Each stage is optional: the analysis parameter ``vision_stages`` (a list of names), else the
setting ``VISION_STAGES``, says which of embeddings/objects/ocr/captions do work; a stage that
is switched off stores nothing (and removes what an earlier run stored). ``scene_index`` always
runs: it indexes whatever the others (and transcript and people) left.
Heavy libraries are imported inside the functions they serve.
"""

from __future__ import annotations

import logging
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from analysis.models import Analysis, Scene
from analysis.pipeline.base import Stage, StageContext, StageError, register
from analysis.pipeline.stages.common import load_scenes
from videoanalyzer.progress import ProgressThrottle
from vision import captioning, describer, people_link
from vision.conf import as_list, setting
from vision.devices import stage_device
from vision.keyframes import batches, read_keyframe, read_rgb, scenes_with_keyframes
from vision.models import CaptionSource, SceneCaption, SceneEmbedding, SceneObjects, SceneText

logger = logging.getLogger(__name__)
MOBILENET = "mobilenet_v2"
TOP_LABELS = 5
PLACE_MIN_MASS = 0.15  # share of probability on place-revealing classes needed to say
PLACE_RATIO = 2.0  # and how much more likely one place must be than the other
CAPTION_LANGUAGES = ("en", "ru")


def stage_enabled(ctx: StageContext, name: str) -> bool:
    wanted = ctx.param("vision_stages")
    return name in as_list(wanted if wanted is not None else setting("VISION_STAGES"))


def set_metadata(ctx: StageContext, **values: Any) -> None:
    """Facts about the run; the runner merges ``ctx.analysis.metadata`` when it persists."""
    ctx.analysis.metadata = {**(ctx.analysis.metadata or {}), **values}


def clip_model_name() -> str | None:
    """The CLIP model configured for tags: ``CLIP_MODEL``, else a CLIP embedding model."""
    from vision.clip import is_clip

    name = str(setting("CLIP_MODEL") or "")
    embedding = str(setting("IMAGE_EMBEDDING_MODEL") or MOBILENET)
    if not name and embedding != MOBILENET and is_clip(embedding):
        name = embedding
    return name or None


# --- embeddings ------------------------------------------------------------------------------


@dataclass
class Embeddings:
    model: str = ""
    vectors: dict[int, Any] = field(default_factory=dict)  # scene pk -> float32 array


def image_outputs(ctx: StageContext, scenes: list[Scene], device: str) -> dict[str, Any]:
    """MobileNetV2 embeddings and class probabilities per scene pk, computed once per run."""
    from vision.mobilenet import run_mobilenet

    cached = ctx.shared.get("mobilenet")
    if cached is not None and set(cached["probabilities"]) >= {s.pk for s in scenes}:
        return dict(cached)
    size = int(setting("VISION_BATCH_SIZE"))
    width = ctx.analysis.video.width
    result: dict[str, dict[int, Any]] = {"embeddings": {}, "probabilities": {}}
    progress = ProgressThrottle(ctx.report)
    for done, batch in enumerate(batches(scenes, size)):
        out = run_mobilenet([read_rgb(s, width) for s in batch], device, size)
        for scene, vector, probs in zip(batch, out.embeddings, out.probabilities, strict=True):
            result["embeddings"][scene.pk] = vector
            result["probabilities"][scene.pk] = probs
        progress(min(1.0, (done + 1) * size / len(scenes)), "Looking at the keyframes")
    ctx.shared["mobilenet"] = result
    return result


def clip_embeddings(ctx: StageContext, scenes: list[Scene], name: str, device: str) -> Any:
    from vision.clip import embed_images

    key = f"clip:{name}"
    if key not in ctx.shared:
        width = ctx.analysis.video.width
        vectors = embed_images([read_rgb(s, width) for s in scenes], name, device)
        ctx.shared[key] = dict(zip([s.pk for s in scenes], vectors, strict=True))
    return ctx.shared[key]


@register
class EmbeddingsStage(Stage[Embeddings]):
    """An image embedding per keyframe (CLIP when configured, else MobileNetV2)."""

    name = "embeddings"
    label = "Embedding keyframes"
    weight = 0.5

    def compute(self, ctx: StageContext) -> Embeddings:
        scenes = scenes_with_keyframes(ctx.analysis)
        if not stage_enabled(ctx, self.name) or not scenes:
            return Embeddings()
        device = stage_device(ctx.parameters)
        model = str(setting("IMAGE_EMBEDDING_MODEL") or MOBILENET)
        ctx.report(0.0, f"Embedding {len(scenes)} keyframes ({model})")
        if model == MOBILENET:
            vectors = image_outputs(ctx, scenes, device)["embeddings"]
        else:
            vectors = clip_embeddings(ctx, scenes, model, device)
        ctx.report(1.0, f"Embedded {len(scenes)} keyframes")
        return Embeddings(model, vectors)

    def persist(self, ctx: StageContext, result: Embeddings) -> None:
        import numpy as np

        SceneEmbedding.objects.filter(analysis=ctx.analysis).delete()
        SceneEmbedding.objects.bulk_create(
            SceneEmbedding(
                scene_id=pk,
                analysis=ctx.analysis,
                model=result.model,
                dim=int(np.asarray(vector).size),
                vector=np.asarray(vector, dtype="<f4").tobytes(),
            )
            for pk, vector in result.vectors.items()
        )
        set_metadata(ctx, image_embedding_model=result.model or None)


# --- objects and motion ------------------------------------------------------------------------


@dataclass
class ObjectsRow:
    scene_pk: int
    labels: list[dict[str, Any]]
    place: str = ""
    place_score: float = 0.0
    tags: list[dict[str, Any]] = field(default_factory=list)
    actions: list[dict[str, Any]] = field(default_factory=list)
    motion: float | None = None
    action: str = ""


def top_labels(probs: Any, count: int = TOP_LABELS) -> list[dict[str, Any]]:
    import numpy as np

    from vision.imagenet import class_names

    names = class_names()
    return [
        {"label": names[i], "score": round(float(probs[i]), 4), "class_id": int(i)}
        for i in np.argsort(-probs)[:count]
    ]


def place_of(probs: Any) -> tuple[str, float]:
    """("indoor" | "outdoor" | "", confidence) from the place-revealing ImageNet classes."""
    from vision.imagenet import INDOOR_CLASSES, OUTDOOR_CLASSES

    outdoor = float(sum(probs[i] for i in OUTDOOR_CLASSES))
    indoor = float(sum(probs[i] for i in INDOOR_CLASSES))
    best, other, label = max((outdoor, indoor, "outdoor"), (indoor, outdoor, "indoor"))
    if best < PLACE_MIN_MASS or best < PLACE_RATIO * other:
        return "", 0.0
    return label, round(best / (best + other), 3)


def clip_tags(ctx: StageContext, scenes: list[Scene], rows: dict[int, ObjectsRow]) -> None:
    """Zero-shot tags, actions and place from CLIP, when a CLIP model is configured."""
    from vision import clip

    name = clip_model_name()
    if name is None:
        return
    device = stage_device(ctx.parameters)
    vectors = clip_embeddings(ctx, scenes, name, device)
    matrix = __import__("numpy").stack([vectors[s.pk] for s in scenes])
    tags = clip.zero_shot(matrix, clip.TAG_VOCABULARY, name, device)
    actions = clip.zero_shot(matrix, clip.ACTION_VOCABULARY, name, device)
    places = clip.zero_shot(matrix, clip.PLACE_VOCABULARY, name, device)
    for scene, tag, action, place in zip(scenes, tags, actions, places, strict=True):
        row = rows[scene.pk]
        keep = [(label, p) for label, p in tag if p >= clip.TAG_MIN_PROBABILITY][:5]
        row.tags = [{"label": label, "score": p} for label, p in keep]
        row.actions = [{"label": label, "score": p} for label, p in action[:2]]
        row.place, row.place_score = (
            ("indoor" if place[0][0] == "indoors" else "outdoor"),
            place[0][1],
        )


@register
class ObjectsStage(Stage[list[ObjectsRow]]):
    """ImageNet objects, the place, CLIP tags (when configured) and motion of each scene."""

    name = "objects"
    label = "Recognising objects and motion"
    weight = 1.0

    def compute(self, ctx: StageContext) -> list[ObjectsRow]:
        from vision.motion import action_label

        scenes = scenes_with_keyframes(ctx.analysis)
        if not stage_enabled(ctx, self.name) or not scenes:
            return []
        ctx.report(0.0, "Recognising objects")
        probs = image_outputs(ctx, scenes, stage_device(ctx.parameters))["probabilities"]
        rows = {
            s.pk: ObjectsRow(s.pk, top_labels(probs[s.pk]), *place_of(probs[s.pk])) for s in scenes
        }
        clip_tags(ctx, scenes, rows)
        motion = self._motion(ctx)
        for scene in scenes:
            if scene.index in motion:
                rows[scene.pk].motion = motion[scene.index]
                rows[scene.pk].action = action_label(motion[scene.index])
        ctx.report(1.0, f"Recognised objects in {len(scenes)} scenes")
        return list(rows.values())

    def _motion(self, ctx: StageContext) -> dict[int, float]:
        from analysis.pipeline.framepass import ensure_pass_files
        from vision.motion import shared_motion

        ensure_pass_files(ctx)  # the shots stage's pass left motion.npy (or a resume remakes it)
        spans = load_scenes(ctx.analysis)
        return shared_motion(ctx.workdir, spans, ctx.analysis.video.fps or 25.0) or {}

    def persist(self, ctx: StageContext, result: list[ObjectsRow]) -> None:
        SceneObjects.objects.filter(analysis=ctx.analysis).delete()
        SceneObjects.objects.bulk_create(
            SceneObjects(
                scene_id=row.scene_pk,
                analysis=ctx.analysis,
                labels=row.labels,
                tags=row.tags,
                actions=row.actions,
                place=row.place,
                place_score=row.place_score,
                motion=row.motion,
                action=row.action,
            )
            for row in result
        )


# --- on-screen text ---------------------------------------------------------------------------


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


# --- captions -------------------------------------------------------------------------------


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
        facts[scene.pk] = describer.SceneFacts(
            objects=[(o["label"], o["score"]) for o in (found.labels if found else [])],
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
    width = ctx.analysis.video.width
    for batch in batches(scenes, config.batch_size):
        texts.extend(captioning.generate_captions([read_rgb(s, width) for s in batch], config))
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
    label = "Describing scenes"
    weight = 1.0

    def compute(self, ctx: StageContext) -> list[Caption]:
        scenes = scenes_with_keyframes(ctx.analysis)
        language = caption_language(ctx)
        if not stage_enabled(ctx, self.name) or not scenes:
            return []
        facts = scene_facts(ctx.analysis, scenes)
        name = captioning.caption_model_name(ctx.param("caption_model"))
        english: list[str] | None = None
        if name is not None:
            try:
                english = model_captions(ctx, scenes, name)
            except captioning.ModelUnavailable as exc:
                logger.warning("captions from the offline describer: %s", exc)
                set_metadata(ctx, caption_model_error=str(exc)[:500])
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
        SceneCaption.objects.filter(analysis=ctx.analysis).delete()
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


# --- scene index -----------------------------------------------------------------------------


@register
class SceneIndexStage(Stage[Any]):
    """Gather what every stage found into one searchable record per scene."""

    name = "scene_index"
    label = "Indexing scenes for search"
    weight = 0.5

    def compute(self, ctx: StageContext) -> Any:
        from vision.services import scene_index_build

        ctx.report(0.0, "Indexing scenes")
        built = scene_index_build(ctx.analysis)
        ctx.report(1.0, f"Indexed {len(built.records)} scenes")
        return built

    def persist(self, ctx: StageContext, result: Any) -> None:
        from vision.services import scene_index_save

        scene_index_save(ctx.analysis, result)
