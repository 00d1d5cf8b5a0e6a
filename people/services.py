"""Writes of the people app: replacing a stage's characters or speakers, naming, merging.

Replacing keeps editors' work: every new cluster is compared with the named characters (or
speakers) of this analysis and of earlier analyses of the same video; a match takes the name,
and new clusters matching the same named person become one, as the editor had merged them.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.core.files.base import ContentFile
from django.db import transaction

from analysis.models import Analysis
from people.clustering import Known, centroid, confidence, group_by_known, match_known
from people.models import Character, FaceAppearance, Speaker, SpeakerTurn
from videoanalyzer.errors import Refused

if TYPE_CHECKING:
    import numpy as np

NAME_MAX = 200


class PeopleError(Refused):
    """An editor's request that cannot be done (shown as HTTP 400 with the message)."""


@dataclass(frozen=True)
class FaceHit:
    scene_id: int
    start_time: float
    end_time: float
    frame_time: float
    x: int
    y: int
    w: int
    h: int
    score: float
    embedding: list[float]
    turn: int = 0  # degrees clockwise the frames were turned to show the face upright


@dataclass
class FaceCluster:
    hits: list[FaceHit]
    thumbnail: bytes = b""  # JPEG of the best face
    thumbnail_quality: float = 0.0


@dataclass(frozen=True)
class VoiceHit:
    segment_id: int
    scene_id: int
    start_time: float
    end_time: float
    embedding: list[float]


@dataclass
class VoiceCluster:
    hits: list[VoiceHit]


def _vectors(hits: list[Any]) -> np.ndarray:
    import numpy as np

    return np.asarray([hit.embedding for hit in hits], dtype=np.float64)


def known_people(model: type[Character] | type[Speaker], analysis: Analysis) -> list[Known]:
    """Named people of this analysis first, then of the video's other analyses, newest first."""
    # Both models have the same fields; mypy sees the union's manager as a plain Model's.
    rows: list[Any] = list(
        model.objects.filter(analysis__video_id=analysis.video_id)
        .exclude(name="")
        .select_related("analysis")
    )
    rows.sort(key=lambda r: (r.analysis_id != analysis.pk, -r.analysis.created_at.timestamp()))
    return [as_known(r) for r in rows]


def as_known(row: Character | Speaker) -> Known:
    """A character or speaker as the centres it is recognised by."""
    return Known(row.name, row.prototypes or ([row.centroid] if row.centroid else []))


@dataclass
class Person:
    """A group of clusters about to become one Character or Speaker."""

    order: int
    name: str
    hits: list[Any]
    centre: list[float]
    prototypes: list[list[float]]
    confidence: float
    members: list[int]


def plan_people(
    analysis: Analysis,
    model: Any,
    clusters: list[Any],
    metric: str,
    thresholds: tuple[float, float],
) -> list[Person]:
    """Match clusters to named people, join those naming the same one, order by first sight."""
    cluster_threshold, carry_threshold = thresholds
    centres = [centroid(_vectors(c.hits), metric) for c in clusters]
    known = known_people(model, analysis)
    assigned = match_known(centres, known, carry_threshold, metric)
    groups = group_by_known(assigned)
    groups.sort(key=lambda g: min(hit.start_time for i in g for hit in clusters[i].hits))
    people = []
    for order, group in enumerate(groups):
        hits = [hit for i in group for hit in clusters[i].hits]
        vectors = _vectors(hits)
        match = assigned[group[0]]
        people.append(
            Person(
                order=order,
                name=known[match].name if match is not None else "",
                hits=sorted(hits, key=lambda h: h.start_time),
                centre=centroid(vectors, metric).tolist(),
                prototypes=[centres[i].tolist() for i in group],
                confidence=confidence(vectors, cluster_threshold, metric),
                members=group,
            )
        )
    return people


@transaction.atomic
def characters_replace(
    *,
    analysis: Analysis,
    clusters: list[FaceCluster],
    cluster_threshold: float,
    carry_threshold: float,
) -> list[Character]:
    """Replace the analysis's characters with ``clusters``, keeping editors' names and merges."""
    people = plan_people(
        analysis, Character, clusters, "euclidean", (cluster_threshold, carry_threshold)
    )
    # Cascades to appearances; the thumbnails go after the commit (people.signals).
    Character.objects.filter(analysis=analysis).delete()
    created = []
    for person in people:
        character = Character.objects.create(
            analysis=analysis,
            order=person.order,
            label=f"Character {person.order + 1}",
            name=person.name,
            confidence=person.confidence,
            centroid=person.centre,
            prototypes=person.prototypes,
        )
        best = max((clusters[i] for i in person.members), key=lambda c: c.thumbnail_quality)
        if best.thumbnail:
            name = f"character_{person.order + 1}.jpg"
            character.thumbnail.save(name, ContentFile(best.thumbnail), save=True)
        _appearances_create(character, person.hits)
        created.append(character)
    return created


def _appearances_create(character: Character, hits: list[FaceHit]) -> None:
    FaceAppearance.objects.bulk_create(
        FaceAppearance(
            character=character,
            scene_id=h.scene_id,
            start_time=h.start_time,
            end_time=h.end_time,
            frame_time=h.frame_time,
            x=h.x,
            y=h.y,
            w=h.w,
            h=h.h,
            score=h.score,
            embedding=h.embedding,
            turn=h.turn,
        )
        for h in hits
    )


@transaction.atomic
def characters_update_scenes(
    *,
    analysis: Analysis,
    clusters: list[FaceCluster],
    scene_ids: Collection[int],
    cluster_threshold: float,
) -> list[Character]:
    """The faces found again in ``scene_ids`` (after a cut edit) replace the appearances there.

    Each cluster joins the character it looks like (within ``cluster_threshold`` of one of its
    prototypes), which keeps its id, name and appearances in the other scenes; a cluster like
    none becomes a new character. An unnamed character left without appearances goes.
    """
    FaceAppearance.objects.filter(character__analysis=analysis, scene_id__in=scene_ids).delete()
    characters = list(Character.objects.filter(analysis=analysis).order_by("order"))
    known = [as_known(c) for c in characters]
    centres = [centroid(_vectors(c.hits), "euclidean") for c in clusters]
    matches = match_known(centres, known, cluster_threshold, "euclidean")
    order = max((c.order for c in characters), default=-1) + 1
    for cluster, centre, match in zip(clusters, centres, matches, strict=True):
        if match is None:
            characters.append(_character_new(analysis, order, cluster, centre, cluster_threshold))
            order += 1
        _appearances_create(characters[-1] if match is None else characters[match], cluster.hits)
    Character.objects.filter(analysis=analysis, name="", appearances__isnull=True).delete()
    return list(Character.objects.filter(analysis=analysis).order_by("order"))


def _character_new(
    analysis: Analysis, order: int, cluster: FaceCluster, centre: np.ndarray, threshold: float
) -> Character:
    character = Character.objects.create(
        analysis=analysis,
        order=order,
        label=f"Character {order + 1}",
        confidence=confidence(_vectors(cluster.hits), threshold, "euclidean"),
        centroid=centre.tolist(),
        prototypes=[centre.tolist()],
    )
    if cluster.thumbnail:
        character.thumbnail.save(f"character_{order + 1}.jpg", ContentFile(cluster.thumbnail))
    return character


@transaction.atomic
def speakers_replace(
    *,
    analysis: Analysis,
    clusters: list[VoiceCluster],
    cluster_threshold: float,
    carry_threshold: float,
) -> list[Speaker]:
    """Replace the analysis's speakers with ``clusters``, keeping editors' names and merges."""
    people = plan_people(
        analysis, Speaker, clusters, "cosine", (cluster_threshold, carry_threshold)
    )
    Speaker.objects.filter(analysis=analysis).delete()  # cascades to turns
    created = []
    for person in people:
        speaker = Speaker.objects.create(
            analysis=analysis,
            order=person.order,
            label=f"Speaker {person.order + 1}",
            name=person.name,
            confidence=person.confidence,
            centroid=person.centre,
            prototypes=person.prototypes,
        )
        SpeakerTurn.objects.bulk_create(
            SpeakerTurn(
                speaker=speaker,
                segment_id=h.segment_id,
                scene_id=h.scene_id,
                start_time=h.start_time,
                end_time=h.end_time,
                embedding=h.embedding,
            )
            for h in person.hits
        )
        created.append(speaker)
    return created


def _clean_name(name: str) -> str:
    cleaned = " ".join((name or "").split())
    if len(cleaned) > NAME_MAX:
        raise PeopleError(f"A name can be at most {NAME_MAX} characters long.")
    return cleaned


def _reindex_after_commit(analysis_id: Any) -> None:
    """Names are searchable: rebuild the scene index once the change is committed."""
    from django.apps import apps

    if not apps.is_installed("vision"):
        return

    def rebuild() -> None:
        from vision.services import scene_index_rebuild

        analysis = Analysis.objects.filter(pk=analysis_id).first()
        if analysis is not None and analysis.status == "completed":
            scene_index_rebuild(analysis)

    transaction.on_commit(rebuild)


def character_rename(*, character: Character, name: str) -> Character:
    """Give a character a name (an empty name goes back to the label)."""
    character.name = _clean_name(name)
    character.save(update_fields=["name", "updated_at"])
    _reindex_after_commit(character.analysis_id)
    return character


def speaker_rename(*, speaker: Speaker, name: str) -> Speaker:
    """Give a speaker a name (an empty name goes back to the label)."""
    speaker.name = _clean_name(name)
    speaker.save(update_fields=["name", "updated_at"])
    return speaker


def _check_merge(source: Any, target: Any, noun: str) -> None:
    if source.pk == target.pk:
        raise PeopleError(f"A {noun} cannot be merged into itself.")
    if source.analysis_id != target.analysis_id:
        raise PeopleError(f"Both {noun}s must belong to the same analysis.")


def _absorb(source: Any, target: Any, vectors: np.ndarray, metric: str, threshold: float) -> None:
    """Target takes the source's prototypes and name (if it had none); stats are recomputed."""
    target.prototypes = [
        *(target.prototypes or [target.centroid]),
        *(source.prototypes or [source.centroid]),
    ]
    if len(vectors):
        target.centroid = centroid(vectors, metric).tolist()
        target.confidence = confidence(vectors, threshold, metric)
    target.name = target.name or source.name


@transaction.atomic
def character_merge(*, character: Character, into: Character) -> Character:
    """Move every appearance of ``character`` to ``into`` and delete ``character``."""
    from people.conf import face_config

    _check_merge(character, into, "character")
    FaceAppearance.objects.filter(character=character).update(character=into)
    hits = list(FaceAppearance.objects.filter(character=into).only("embedding"))
    threshold = face_config(into.analysis.parameters).cluster_threshold
    _absorb(character, into, _vectors(hits), "euclidean", threshold)
    into.save()
    if character.thumbnail and not into.thumbnail:  # keep a face to show
        with character.thumbnail.open("rb") as handle:
            image = ContentFile(handle.read())
        into.thumbnail.save(f"character_{into.order + 1}.jpg", image)
    character.delete()  # its thumbnail goes after the commit (people.signals)
    _reindex_after_commit(into.analysis_id)
    return into


@transaction.atomic
def speaker_merge(*, speaker: Speaker, into: Speaker) -> Speaker:
    """Move every turn of ``speaker`` to ``into`` and delete ``speaker``."""
    from people.conf import speaker_config

    _check_merge(speaker, into, "speaker")
    SpeakerTurn.objects.filter(speaker=speaker).update(speaker=into)
    hits = list(SpeakerTurn.objects.filter(speaker=into).only("embedding"))
    threshold = speaker_config(into.analysis.parameters).cluster_threshold
    _absorb(speaker, into, _vectors(hits), "cosine", threshold)
    into.save()
    speaker.delete()
    return into
