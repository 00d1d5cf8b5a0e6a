"""The ``speakers`` stage: voices of the transcript's segments, clustered into speakers.

Optional (analysis parameter ``speakers``, default on) and configurable (``people.conf``).
``compute`` embeds and clusters the voices; ``persist`` hands the clusters to
``people.services``, which keeps editor-given names and merges across re-runs.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from analysis.models import TranscriptSegment
from analysis.pipeline.base import Stage, StageContext, register
from mediakit.audio import SAMPLE_RATE, load_audio
from people import services
from people.conf import speaker_config
from people.stages.common import record
from videoanalyzer.progress import ProgressThrottle

if TYPE_CHECKING:
    import numpy as np


@dataclass
class SpeakersResult:
    clusters: list[services.VoiceCluster] = field(default_factory=list)
    segments: int = 0
    embedded: int = 0
    device: str = ""
    seconds: float = 0.0
    skipped: bool = False


def _excerpts(samples: np.ndarray, rows: list[Any], min_seconds: float) -> list[Any]:
    """(segment row, audio excerpt) of every segment long enough to carry a voice."""
    kept = []
    for row in rows:
        start = voice_start(row)
        if row.end_time - start < min_seconds:
            continue
        excerpt = samples[int(start * SAMPLE_RATE) : int(row.end_time * SAMPLE_RATE)]
        if excerpt.size >= min_seconds * SAMPLE_RATE:
            kept.append((row, excerpt))
    return kept


def voice_start(row: Any) -> float:
    """Where the segment's voice begins: its first word, not the subtitle lead-in before it
    (up to 0.45 s of silence that would count toward ``min_seconds``)."""
    words = row.words or []
    if words and words[0].get("start") is not None:
        return max(float(row.start_time), float(words[0]["start"]))
    return float(row.start_time)


def build_voice_clusters(
    embedded: list[tuple[Any, np.ndarray]], threshold: float, num_speakers: int | None
) -> list[Any]:
    """Cluster segment embeddings into speakers, in order of first speech."""
    import numpy as np

    from people.clustering import cluster

    if not embedded:
        return []
    vectors = np.stack([vector for _row, vector in embedded])
    labels = cluster(vectors, threshold, "cosine", num_speakers)
    clusters = []
    for label in range(max(labels) + 1):
        hits = [
            services.VoiceHit(row.pk, row.scene_id, row.start_time, row.end_time, vector.tolist())
            for (row, vector), lab in zip(embedded, labels, strict=True)
            if lab == label
        ]
        clusters.append(services.VoiceCluster(hits))
    return clusters


@register
class SpeakersStage(Stage[SpeakersResult]):
    """Tell the voices of the transcript segments apart and group them into speakers."""

    name = "speakers"
    label = "Telling speakers apart"
    weight = 0.5
    lane = "sound"
    needs = ("transcript",)
    cost_follows = "speech"  # a voice print per stretch of speech
    imports = ("torch", "resemblyzer")

    def compute(self, ctx: StageContext) -> SpeakersResult:
        from people.voices import embed_segments, select_device, torch_cuda_available

        config = speaker_config(ctx.parameters)
        rows = list(TranscriptSegment.objects.filter(analysis=ctx.analysis).order_by("start_time"))
        if not config.enabled or not rows:
            ctx.report(1.0, "Speakers are off for this analysis" if rows else "No speech")
            return SpeakersResult(skipped=not config.enabled)
        samples = load_audio(ctx.video_path, ctx.workdir)
        if samples is None or samples.size == 0:
            return SpeakersResult(segments=len(rows))
        device = select_device(config.device, torch_cuda_available())
        kept = _excerpts(samples, rows, config.min_seconds)
        progress = ProgressThrottle(ctx.report)
        ctx.report(0.1, f"Listening to {len(kept)} speech segments")
        started = time.perf_counter()
        vectors = embed_segments(
            [excerpt for _row, excerpt in kept],
            device,
            lambda f: progress(0.1 + 0.8 * f, f"Listening to {len(kept)} speech segments"),
        )
        seconds = time.perf_counter() - started
        embedded = [(row, v) for (row, _e), v in zip(kept, vectors, strict=True) if v is not None]
        ctx.report(0.9, "Grouping voices")
        clusters = build_voice_clusters(embedded, config.cluster_threshold, config.num_speakers)
        ctx.report(1.0, f"{len(clusters)} speakers in {len(embedded)} segments")
        return SpeakersResult(clusters, len(rows), len(embedded), device, round(seconds, 3))

    def persist(self, ctx: StageContext, result: SpeakersResult) -> None:
        config = speaker_config(ctx.parameters)
        services.speakers_replace(
            analysis=ctx.analysis,
            clusters=result.clusters,
            cluster_threshold=config.cluster_threshold,
            carry_threshold=config.carry_threshold,
        )
        record(
            ctx.analysis,
            "speakers",
            {
                "skipped": result.skipped,
                "segments": result.segments,
                "embedded": result.embedded,
                "device": result.device,
            },
        )
