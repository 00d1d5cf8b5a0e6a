"""Progress flows one way: stage callback → saved on the Analysis → Channels group → browser.

The bar is only worth watching if it moves with the clock: each stage's share of it is its
expected seconds in this run (``analysis.stagecosts``), else its measured cost per second of
video (``stage_weights``). The time left is the runner's estimate from the stages' learnt
costs and this run's pace, saved with every report (``eta_seconds`` reads it).
"""

from __future__ import annotations

import logging
import statistics
from collections.abc import Collection, Sequence
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


def _seconds_per_video_second(history: int) -> dict[str, dict[bool, list[float]]]:
    """Per stage, its measured seconds per second of video, apart by whether the stage ran cold
    (first in its process: models loaded, kernels compiled) or warm."""
    rows = (
        Analysis.objects.filter(status=AnalysisStatus.COMPLETED, video__duration__gt=0)
        .filter(metadata__has_key="stage_seconds")
        .order_by("-finished_at")
        .values_list("metadata", "video__duration")[:history]
    )
    rates: dict[str, dict[bool, list[float]]] = {}
    for metadata, duration in rows:
        if metadata.get("seeded"):  # made up for demos: no stage ran
            continue
        cold = set(metadata.get("cold_stages") or ())
        for name, seconds in (metadata.get("stage_seconds") or {}).items():
            if isinstance(seconds, int | float) and seconds >= 0:
                by_warmth = rates.setdefault(name, {True: [], False: []})
                by_warmth[name in cold].append(seconds / duration)
    return rates


def stage_weights(
    stages: Sequence[WeightedStage], history: int = HISTORY, cold: Collection[str] = ()
) -> dict[str, float]:
    """Each stage's share of the bar: its median measured cost on this installation.

    A stage named in ``cold`` will be the first of its kind in this process, so its cost is
    taken from earlier cold runs, and the others' from warm ones: a stage's first run in a
    process loads its models and compiles its kernels, which later runs skip and which can
    cost more than the work itself. Runs of the other kind stand in when a stage has none of
    its own. A stage never timed here keeps its declared ``weight``, scaled to the
    measured ones (by the stages both know), so a new stage neither vanishes from the bar nor
    swamps it.
    """
    rates = _seconds_per_video_second(history)
    measured: dict[str, float] = {}
    for s in stages:
        by_warmth = rates.get(s.name, {})
        samples = by_warmth.get(s.name in cold) or by_warmth.get(s.name not in cold)
        if samples:
            measured[s.name] = statistics.median(samples)
    declared = sum(s.weight for s in stages if s.name in measured)
    scale = sum(measured.values()) / declared if declared and sum(measured.values()) else 1.0
    return {s.name: measured.get(s.name, s.weight * scale) for s in stages}


def tenth_done(done: float, worked: float, left: float | None) -> bool:
    """Whether a tenth of the work is done: by the bar (``done``), or by the clock, the
    seconds ``worked`` against them and the seconds ``left`` estimated. The bar lags the clock
    while nothing it counts runs (a fresh process importing its libraries before the first
    stage) or a stage outruns its share; the estimate is as good then as a moment later."""
    if done >= ETA_FROM:
        return True
    return left is not None and worked > 0 and worked >= ETA_FROM * (worked + left)


def eta_seconds(analysis: Analysis, now: datetime | None = None) -> float | None:
    """Seconds left, as the runner estimated them at its last report (``analysis.stagecosts``)
    less the time since; None until a tenth of the work is done (``tenth_done``), or when a
    stage of the run was never timed on this installation (no estimate rather than a wrong
    one)."""
    left = analysis.time_left_seconds
    if analysis.status != AnalysisStatus.RUNNING or left is None:
        return None
    if not tenth_done(analysis.work_done, analysis.work_seconds, left):
        return None
    since = 0.0
    if analysis.updated_at is not None:
        since = max(0.0, ((now or timezone.now()) - analysis.updated_at).total_seconds())
    return round(max(0.0, left - since), 1)


def time_left_text(seconds: float | None, done: float = 0.0) -> str:
    """The estimate as the command line shows it (the page words it the same way); nothing
    once a tenth of the work is ``done`` without one (a stage never timed here)."""
    if seconds is None:
        return "estimating the time left…" if done < ETA_FROM else ""
    if seconds < 45:
        return "less than a minute left"
    minutes = round(seconds / 60)
    return f"about {minutes} min left" if minutes < 90 else f"about {seconds / 3600:.1f} h left"


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
