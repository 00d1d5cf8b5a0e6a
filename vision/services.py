"""Writes of the vision app: building and saving the scene index (with its search vectors)."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from django.contrib.postgres.search import SearchVector
from django.db import transaction
from django.db.models import Value

from analysis.models import Analysis, Scene, TranscriptSegment
from vision import people_link
from vision.models import (
    ChunkKind,
    SceneCaption,
    SceneChunk,
    SceneIndex,
    SceneObjects,
    SceneText,
)
from vision.vocabulary import sign_tags

if TYPE_CHECKING:
    import numpy as np

PHRASE_WORDS = 3
PHRASE_STRIDE = 2
SEARCH_CONFIGS = ("english", "russian")
# Whisper's language codes -> Postgres text search configurations (the built-in Snowball ones).
TEXT_SEARCH_CONFIGS = {
    "en": "english",
    "ru": "russian",
    "de": "german",
    "fr": "french",
    "es": "spanish",
    "it": "italian",
    "pt": "portuguese",
    "nl": "dutch",
    "sv": "swedish",
    "no": "norwegian",
    "da": "danish",
    "fi": "finnish",
    "hu": "hungarian",
    "ro": "romanian",
    "tr": "turkish",
}
# Column -> weight: what was said and who is there rank above what the picture suggests. The
# transcript (weight A) is indexed per language instead (see ``transcript_vector``).
TRANSCRIPT_WEIGHT = "A"
SEARCH_WEIGHTS = (
    ("names", "A"),
    ("text", "B"),
    ("caption", "C"),
    ("keywords", "C"),
)


@dataclass
class IndexRecord:
    scene_pk: int
    scene_index: int
    objects: list[str] = field(default_factory=list)
    people: list[str] = field(default_factory=list)
    speakers: list[str] = field(default_factory=list)
    actions: list[str] = field(default_factory=list)
    text: str = ""
    text_continues: bool = False
    transcript: str = ""
    caption: str = ""
    # The transcript's text per spoken language ("" : unknown, indexed in every configuration).
    spoken: dict[str, str] = field(default_factory=dict)

    @property
    def names(self) -> str:
        return ", ".join(dict.fromkeys([*self.people, *self.speakers]))

    @property
    def keywords(self) -> str:
        return ", ".join([*self.objects, *self.actions])

    @property
    def document(self) -> str:
        own_text = "" if self.text_continues else self.text
        parts = [self.transcript, self.caption, own_text, self.names, self.keywords]
        return "\n".join(p for p in parts if p)


@dataclass
class Chunk:
    scene_pk: int
    kind: str
    text: str
    time: float
    context: str = ""


def phrases(segment: TranscriptSegment) -> list[Chunk]:
    """Overlapping few-word windows of a segment with the time of their first word.

    A whole sentence's embedding blurs one object mentioned in it ("флешка" vs "The USB
    stick is on the table." is 0.28); the window "The USB stick" is 0.61.
    """
    words = [
        (w.get("word", "").strip(), float(w.get("start", segment.start_time)))
        for w in segment.words or []
    ]
    words = [w for w in words if w[0]] or [(w, segment.start_time) for w in segment.text.split()]
    if len(words) <= PHRASE_WORDS:
        return []
    starts = range(0, len(words) - PHRASE_WORDS + PHRASE_STRIDE, PHRASE_STRIDE)
    windows = [words[i : i + PHRASE_WORDS] for i in starts]
    context = segment.text.strip()
    return [
        Chunk(
            segment.scene_id,
            ChunkKind.PHRASE,
            " ".join(w for w, _t in window),
            window[0][1],
            context,
        )
        for window in windows
    ]


@dataclass
class BuiltIndex:
    records: list[IndexRecord]
    chunks: list[Chunk]
    vectors: Any  # np.ndarray (len(chunks), dim) or None
    model: str = ""


def _objects(row: SceneObjects | None, text: str = "") -> list[str]:
    """The scene's tags in English and Russian, and those of the sign words read on it (raw
    ImageNet classes are too often wrong to be searched for)."""
    tags = [*(row.tags if row is not None else []), *sign_tags(text)]
    words = [w for t in tags for w in (t["label"], t.get("label_ru", ""))]
    return list(dict.fromkeys(w for w in words if w))


def _actions(row: SceneObjects | None) -> list[str]:
    if row is None:
        return []
    return [a for a in [row.action, *(x["label"] for x in row.actions)] if a]


def _record(scene: Scene, found: dict[str, Any]) -> IndexRecord:
    objects, text = found["objects"].get(scene.pk), found["texts"].get(scene.pk)
    caption = found["captions"].get(scene.pk)
    caption_text = ""
    if caption is not None:
        extra = caption.text_en if caption.text_en and caption.text_en != caption.text else ""
        caption_text = "\n".join(t for t in (caption.text, extra) if t)
    return IndexRecord(
        scene_pk=scene.pk,
        scene_index=scene.index,
        objects=_objects(objects, text.text if text else ""),
        people=found["people"].get(scene.pk, []),
        speakers=found["speakers"].get(scene.pk, []),
        actions=_actions(objects),
        text=text.text if text else "",
        text_continues=bool(text and text.continues),
        transcript=" ".join(s.text.strip() for s in found["segments"].get(scene.pk, [])),
        caption=caption_text,
        spoken=spoken_texts(found["segments"].get(scene.pk, [])),
    )


def spoken_texts(segments: list[TranscriptSegment]) -> dict[str, str]:
    """A scene's transcript text per language of its segments (issue 17)."""
    texts: dict[str, list[str]] = {}
    for segment in segments:
        texts.setdefault(segment.language or "", []).append(segment.text.strip())
    return {language: " ".join(parts) for language, parts in texts.items()}


def _chunks(scene: Scene, record: IndexRecord, segments: list[TranscriptSegment]) -> list[Chunk]:
    moment = scene.start_time
    chunks = [Chunk(scene.pk, ChunkKind.SPEECH, s.text.strip(), s.start_time) for s in segments]
    chunks += [phrase for s in segments for phrase in phrases(s)]
    if record.caption:
        chunks.append(Chunk(scene.pk, ChunkKind.CAPTION, record.caption, moment))
    if record.text and not record.text_continues:
        chunks.append(Chunk(scene.pk, ChunkKind.TEXT, record.text, moment))
    if record.names:
        chunks.append(Chunk(scene.pk, ChunkKind.PEOPLE, record.names, moment))
    if record.keywords:
        chunks.append(Chunk(scene.pk, ChunkKind.OBJECTS, record.keywords, moment))
    return [c for c in chunks if c.text]


def _gather(analysis: Analysis) -> dict[str, Any]:
    segments: dict[int, list[TranscriptSegment]] = {}
    for segment in analysis.segments.order_by("start_time"):
        segments.setdefault(segment.scene_id, []).append(segment)
    return {
        "segments": segments,
        "objects": {o.scene_id: o for o in SceneObjects.objects.filter(analysis=analysis)},
        "texts": {t.scene_id: t for t in SceneText.objects.filter(analysis=analysis)},
        "captions": {c.scene_id: c for c in SceneCaption.objects.filter(analysis=analysis)},
        "people": people_link.character_names(analysis),
        "speakers": people_link.speakers(analysis),
    }


def scene_index_build(analysis: Analysis, scope: Collection[int] | None = None) -> BuiltIndex:
    """The index records, their searchable chunks and the chunks' sentence embeddings (of the
    scenes with a pk in ``scope`` only, when given: a partial re-run after a cut edit)."""
    from vision import sentences

    found = _gather(analysis)
    records, chunks = [], []
    scenes = analysis.scenes.order_by("index")
    for scene in scenes if scope is None else scenes.filter(pk__in=scope):
        record = _record(scene, found)
        records.append(record)
        chunks.extend(_chunks(scene, record, found["segments"].get(scene.pk, [])))
    vectors = sentences.encode([c.text for c in chunks]) if chunks else None
    return BuiltIndex(records, chunks, vectors, sentences.model_name())


def search_vector_expression() -> Any:
    """The weighted tsvector of a scene's columns but the transcript, in both configurations."""
    expression: Any = None
    for column, weight in SEARCH_WEIGHTS:
        for config in SEARCH_CONFIGS:
            part = SearchVector(column, config=config, weight=weight)
            expression = part if expression is None else expression + part
    return expression


def transcript_vector(spoken: dict[str, str]) -> Any:
    """The transcript's tsvector: each language's text with its own stemming (Russian words
    stemmed as Russian, English as English; a language Postgres has no configuration for is
    indexed word for word), text of unknown language in both configurations."""
    expression: Any = None
    for language, text in spoken.items():
        configs = [TEXT_SEARCH_CONFIGS.get(language, "simple")] if language else SEARCH_CONFIGS
        for config in configs:
            part = SearchVector(Value(text), config=config, weight=TRANSCRIPT_WEIGHT)
            expression = part if expression is None else expression + part
    return expression


def _vector_bytes(vectors: np.ndarray | None, row: int) -> bytes:
    if vectors is None:
        return b""
    return vectors[row].astype("<f2").tobytes()


@transaction.atomic
def scene_index_save(
    analysis: Analysis, built: BuiltIndex, scope: Collection[int] | None = None
) -> None:
    """Replace the analysis's index rows (those of the scenes in ``scope``, when given) with
    ``built`` and fill their search vectors."""
    old = SceneIndex.objects.filter(analysis=analysis)
    (old if scope is None else old.filter(scene_id__in=scope)).delete()
    rows = SceneIndex.objects.bulk_create(
        SceneIndex(
            scene_id=r.scene_pk,
            analysis=analysis,
            object_names=r.objects,
            people=r.people,
            speakers=r.speakers,
            actions=r.actions,
            text=r.text,
            transcript=r.transcript,
            caption=r.caption,
            names=r.names,
            keywords=r.keywords,
            document=r.document,
        )
        for r in built.records
    )
    by_scene = {row.scene_id: row.pk for row in rows}
    SceneChunk.objects.bulk_create(
        SceneChunk(
            index_id=by_scene[c.scene_pk],
            analysis=analysis,
            kind=c.kind,
            text=c.text,
            context=c.context,
            time=round(c.time, 3),
            model=built.model if built.vectors is not None else "",
            vector=_vector_bytes(built.vectors, i),
        )
        for i, c in enumerate(built.chunks)
    )
    spoken = {by_scene[r.scene_pk]: r.spoken for r in built.records if any(r.spoken.values())}
    silent = SceneIndex.objects.filter(pk__in=by_scene.values()).exclude(pk__in=spoken)
    silent.update(search_vector=search_vector_expression())
    for pk, texts in spoken.items():  # one UPDATE per scene with speech: its own languages
        vector = search_vector_expression() + transcript_vector(texts)
        SceneIndex.objects.filter(pk=pk).update(search_vector=vector)


def scene_index_rebuild(analysis: Analysis) -> int:
    """Rebuild an analysis's index (e.g. after editors renamed characters); returns scenes."""
    built = scene_index_build(analysis)
    scene_index_save(analysis, built)
    return len(built.records)
