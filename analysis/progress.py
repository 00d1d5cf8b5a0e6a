"""Progress flows one way: stage callback → saved on the Analysis → Channels group → browser.

The bar is only worth watching if it moves with the clock: each stage's share of it is its
measured cost (``stage_weights``: seconds per second of video in the latest finished analyses),
so the time left can be estimated from the time spent (``eta_seconds``).
"""

from __future__ import annotations

import logging
import statistics
from collections.abc import Sequence
from datetime import datetime
from typing import Any, Protocol, TypedDict

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.utils import timezone

from analysis.models import Analysis, AnalysisStatus

logger = logging.getLogger(__name__)


class ProgressEvent(TypedDict):
    type: str
    analysis_id: str
    status: str
    stage: str
    stage_label: str
    progress: float
    message: str
    error: str
    updated_at: str
    eta_seconds: float | None


def group_name(analysis_id: Any) -> str:
    return f"analysis_{analysis_id}"


def progress_event(analysis: Analysis) -> ProgressEvent:
    from analysis.pipeline.base import STAGES

    stage = STAGES.get(analysis.current_stage)
    return ProgressEvent(
        type="progress",
        analysis_id=str(analysis.id),
        status=analysis.status,
        stage=analysis.current_stage,
        stage_label=stage.label if stage else "",
        progress=round(analysis.progress, 4),
        message=analysis.message,
        error=analysis.error,
        updated_at=analysis.updated_at.isoformat() if analysis.updated_at else "",
        eta_seconds=eta_seconds(analysis),
    )


# --- Weights and the time left ------------------------------------------------------------------

HISTORY = 30  # finished analyses whose stage timings weigh the stages
ETA_FROM = 0.1  # before a tenth is done, an estimate would mostly be the models loading


class WeightedStage(Protocol):
    @property
    def name(self) -> str: ...

    @property
    def weight(self) -> float: ...


def _seconds_per_video_second(history: int) -> dict[str, list[float]]:
    rows = (
        Analysis.objects.filter(status=AnalysisStatus.COMPLETED, video__duration__gt=0)
        .filter(metadata__has_key="stage_seconds")
        .order_by("-finished_at")
        .values_list("metadata", "video__duration")[:history]
    )
    rates: dict[str, list[float]] = {}
    for metadata, duration in rows:
        if metadata.get("seeded"):  # made up for demos: no stage ran
            continue
        for name, seconds in (metadata.get("stage_seconds") or {}).items():
            if isinstance(seconds, int | float) and seconds >= 0:
                rates.setdefault(name, []).append(seconds / duration)
    return rates


def stage_weights(stages: Sequence[WeightedStage], history: int = HISTORY) -> dict[str, float]:
    """Each stage's share of the bar: its median measured cost on this installation.

    A stage never timed here keeps its declared ``weight``, scaled to the measured ones (by
    the stages both know), so a new stage neither vanishes from the bar nor swamps it.
    """
    rates = _seconds_per_video_second(history)
    measured = {s.name: statistics.median(rates[s.name]) for s in stages if rates.get(s.name)}
    declared = sum(s.weight for s in stages if s.name in measured)
    scale = sum(measured.values()) / declared if declared and sum(measured.values()) else 1.0
    return {s.name: measured.get(s.name, s.weight * scale) for s in stages}


def eta_seconds(analysis: Analysis, now: datetime | None = None) -> float | None:
    """Seconds left if the rest goes at the pace so far; None until a tenth is done."""
    progress = analysis.progress
    if analysis.status != AnalysisStatus.RUNNING or not analysis.started_at or progress < ETA_FROM:
        return None
    elapsed = ((now or timezone.now()) - analysis.started_at).total_seconds()
    return round(max(0.0, elapsed * (1 - progress) / progress), 1)


def analysis_publish(analysis: Analysis) -> None:
    """Send the analysis's current state to everyone watching it; never fails the caller."""
    layer = get_channel_layer()
    if layer is None:
        return
    event = dict(progress_event(analysis))
    event["type"] = "analysis.progress"  # the consumer method that forwards it
    try:
        async_to_sync(layer.group_send)(group_name(analysis.id), event)
    except Exception:  # a broken channel layer must not fail the analysis itself
        logger.warning("could not publish progress of %s", analysis.id, exc_info=True)
