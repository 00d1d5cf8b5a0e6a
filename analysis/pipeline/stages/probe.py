"""Probe stage: re-read the container facts the other stages rely on."""

from __future__ import annotations

from analysis.models import Analysis
from analysis.pipeline.base import Stage, StageContext, StageError, register
from mediakit.probe import MediaError, MediaInfo, probe


@register
class ProbeStage(Stage[MediaInfo]):
    """Check the file is still a readable video and record fps, size, duration and audio."""

    name = "probe"
    label = "Reading the video"
    weight = 0.2

    def compute(self, ctx: StageContext) -> MediaInfo:
        ctx.report(0.0, "Reading the video file")
        try:
            info = probe(ctx.video_path)
        except MediaError as exc:
            raise StageError(str(exc)) from exc
        ctx.shared["media"] = info
        ctx.report(1.0, f"{info.width}x{info.height}, {info.fps:g} fps, {info.duration:.1f} s")
        return info

    def persist(self, ctx: StageContext, result: MediaInfo) -> None:
        # Re-read the row so keys other writers added since the context was built survive.
        analysis = Analysis.objects.select_for_update().get(pk=ctx.analysis.pk)
        metadata = dict(analysis.metadata or {})
        metadata.update(
            fps=result.fps,
            size=[result.width, result.height],
            duration=result.duration,
            has_audio=result.has_audio,
            rotation=result.rotation,  # degrees; keyframes and thumbnails are turned upright
        )
        analysis.metadata = metadata
        analysis.save(update_fields=["metadata"])
        ctx.analysis.metadata = metadata
