"""Progress flows one way: stage callback → saved on the Analysis → Channels group → browser."""

from __future__ import annotations

import logging
from typing import Any, TypedDict

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer

from analysis.models import Analysis

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
    )


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
