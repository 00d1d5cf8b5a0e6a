"""Storylines stage: group scenes that look, sound and sit in time alike.

Plain clustering for now. Each scene is described by three groups of features: where it is
in the video, the colours of its keyframe and its audio. Groups are standardised and weighted
equally so that 10 colour numbers do not outvote one time number. Ward clustering always
yields exactly the requested number of groups, and every scene lands in exactly one.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from analysis.models import MembershipSource, Scene, Storyline, StorylineScene
from analysis.pipeline.base import Stage, StageContext, register
from analysis.pipeline.stages.common import format_clock

if TYPE_CHECKING:
    import numpy as np

PALETTE = ["#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f", "#edc948", "#b07aa1",
           "#ff9da7", "#9c755f", "#bab0ac"]  # fmt: skip
MAX_AUTO_STORYLINES = 6
# Short function words that say nothing about a storyline (English and Russian).
STOPWORDS = frozenset({
    "this", "that", "with", "have", "from", "they", "them", "there", "their", "what", "when",
    "where", "which", "would", "could", "should", "about", "your", "just", "like", "will",
    "been", "were", "into", "than", "then", "also", "very",
    "это", "как", "что", "так", "все", "они", "когда", "если",
})  # fmt: skip


@dataclass(frozen=True)
class StorylinePlan:
    order: int
    name: str
    description: str
    color: str
    scene_indexes: list[int]


def colour_features(scene: Scene) -> list[float]:
    """8 hue bins (weighted by saturation) + mean saturation and value, all in 0..1."""
    import cv2
    import numpy as np

    image_field = scene.thumbnail or scene.keyframe
    if not image_field:
        return [0.0] * 10
    with image_field.open("rb") as handle:
        image = cv2.imdecode(np.frombuffer(handle.read(), np.uint8), cv2.IMREAD_COLOR)
    if image is None:
        return [0.0] * 10
    hsv = cv2.cvtColor(image, cv2.COLOR_BGR2HSV).reshape(-1, 3).astype(np.float32)
    hist, _ = np.histogram(hsv[:, 0], bins=8, range=(0, 180), weights=hsv[:, 1] / 255)
    hist = hist / max(hist.sum(), 1e-6)
    return [*hist.tolist(), float(hsv[:, 1].mean() / 255), float(hsv[:, 2].mean() / 255)]


def audio_features(scene: Scene) -> list[float]:
    audio = getattr(scene, "audio", None)
    if audio is None:
        return [0.0] * 5
    loudness = audio.loudness_db if audio.loudness_db is not None else -100.0
    return [audio.rms_energy, (loudness + 100) / 100, audio.spectral_centroid_mean / 8000,
            audio.zero_crossing_rate, audio.speech_ratio or 0.0]  # fmt: skip


def feature_matrix(scenes: list[Scene], duration: float) -> np.ndarray:
    """Rows of standardised, group-weighted features, one row per scene."""
    import numpy as np
    from sklearn.preprocessing import StandardScaler

    groups = [
        np.array([[(s.start_time + s.end_time) / 2 / duration] for s in scenes]),
        np.array([colour_features(s) for s in scenes]),
        np.array([audio_features(s) for s in scenes]),
    ]
    # Divide by sqrt(width): each group then weighs the same in the Euclidean distance.
    scaled = [StandardScaler().fit_transform(g) / np.sqrt(g.shape[1]) for g in groups]
    return np.hstack(scaled)


def cluster(features: np.ndarray, wanted: int | None) -> np.ndarray:
    """Labels for each row: ``wanted`` clusters, or the silhouette-best count of 2..6."""
    import numpy as np
    from sklearn.cluster import AgglomerativeClustering
    from sklearn.metrics import silhouette_score

    n = len(features)
    if wanted is not None:
        k = min(max(1, wanted), n)
        if k == 1:
            return np.zeros(n, dtype=int)
        return AgglomerativeClustering(n_clusters=k, linkage="ward").fit_predict(features)
    best, best_score = np.zeros(n, dtype=int), -1.0  # fewer than 3 scenes: one storyline
    for k in range(2, min(MAX_AUTO_STORYLINES, n - 1) + 1):
        labels = AgglomerativeClustering(n_clusters=k, linkage="ward").fit_predict(features)
        score = silhouette_score(features, labels) if features.any() else -1.0
        if score > best_score:
            best, best_score = labels, score
    return best


def top_words(texts: list[str], count: int = 3) -> list[str]:
    words = Counter(
        w for text in texts for w in re.findall(r"\w+", text.lower())
        if len(w) >= 4 and w not in STOPWORDS and not w.isdigit()
    )  # fmt: skip
    return [word for word, _ in words.most_common(count)]


def describe(scenes: list[Scene], texts: list[str]) -> str:
    """E.g. "3 scenes, 45.5 s, 00:12\u201302:40; words: river, boat, night"."""
    total = sum(s.end_time - s.start_time for s in scenes)
    noun = "scene" if len(scenes) == 1 else "scenes"
    span = f"{format_clock(scenes[0].start_time)}\u2013{format_clock(scenes[-1].end_time)}"
    text = f"{len(scenes)} {noun}, {total:.1f} s, {span}"
    keywords = top_words(texts)
    return f"{text}; words: {', '.join(keywords)}" if keywords else text


def plan(scenes: list[Scene], labels: Any) -> list[StorylinePlan]:
    """Storylines ordered by their first scene, named, described and coloured."""
    members: dict[int, list[Scene]] = {}
    for scene, label in zip(scenes, labels, strict=True):
        members.setdefault(int(label), []).append(scene)
    ordered = sorted(members.values(), key=lambda group: group[0].index)
    return [
        StorylinePlan(
            order=order,
            name=f"Storyline {order + 1}",
            description=describe(group, [seg.text for s in group for seg in s.segments.all()]),
            color=PALETTE[order % len(PALETTE)],
            scene_indexes=[s.index for s in group],
        )
        for order, group in enumerate(ordered)
    ]


@register
class StorylinesStage(Stage[list[StorylinePlan]]):
    """Cluster the scenes into storylines; every scene belongs to exactly one."""

    name = "storylines"
    label = "Finding storylines"
    weight = 0.5

    def compute(self, ctx: StageContext) -> list[StorylinePlan]:
        scenes = list(
            ctx.analysis.scenes.select_related("audio")
            .prefetch_related("segments")
            .order_by("index")
        )
        if not scenes:
            return []
        ctx.report(0.0, "Comparing scenes")
        duration = max(scenes[-1].end_time, 1e-6)
        features = feature_matrix(scenes, duration)
        ctx.report(0.6, "Grouping scenes into storylines")
        wanted = ctx.param("num_storylines")
        labels = cluster(features, int(wanted) if wanted is not None else None)
        result = plan(scenes, labels)
        ctx.report(1.0, f"Found {len(result)} storylines")
        return result

    def persist(self, ctx: StageContext, result: list[StorylinePlan]) -> None:
        Storyline.objects.filter(analysis=ctx.analysis).delete()  # cascades to memberships
        scene_ids = dict(ctx.analysis.scenes.values_list("index", "id"))
        for item in result:
            storyline = Storyline.objects.create(
                analysis=ctx.analysis,
                name=item.name,
                description=item.description,
                color=item.color,
                order=item.order,
            )
            StorylineScene.objects.bulk_create(
                StorylineScene(
                    storyline=storyline,
                    scene_id=scene_ids[index],
                    relevance=1.0,  # plain clustering: full members; soft scores come later
                    source=MembershipSource.AUTO,
                )
                for index in item.scene_indexes
            )
