"""An export job's state to the analysis's WebSocket group, as ``export.progress`` events."""

from __future__ import annotations

import logging
from collections.abc import Callable

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer

from analysis.progress import group_name
from exports.errors import CANCELLED, ExportCancelled
from exports.models import ExportJob, ExportStatus
from exports.selectors import analysis_fingerprint, job_json
from videoanalyzer.progress import ProgressThrottle

logger = logging.getLogger(__name__)


def publish(job: ExportJob) -> None:
    """Send the job's state to the analysis's WebSocket group; never fails the caller."""
    layer = get_channel_layer()
    if layer is None:
        return
    # A finished job says whether it is out of date already (the storylines may have changed
    # while it ran): the timeline shows the last word it gets, and this event may come last.
    done = job.status == ExportStatus.COMPLETED
    current = analysis_fingerprint(job.analysis) if done else None
    event = {**job_json(job, current), "type": "export.progress"}
    try:
        async_to_sync(layer.group_send)(group_name(job.analysis_id), event)
    except Exception:  # a broken channel layer must not fail the export
        logger.warning("could not publish export %s", job.pk, exc_info=True)


class Reporter:
    """Saves and announces a running job's progress at most twice a second (and tells the
    ``listener``, such as a terminal's progress bar, each time)."""

    def __init__(
        self,
        job: ExportJob,
        interval: float = 0.5,
        listener: Callable[[float, str], None] | None = None,
    ) -> None:
        self.job, self.throttle = job, ProgressThrottle(interval=interval)
        self.listener = listener

    def __call__(self, fraction: float, message: str) -> None:
        if not self.throttle.due():
            return
        if self.listener is not None:
            self.listener(fraction, message)
        self.job.progress = min(max(fraction, 0.0), 0.99)
        self.job.message = message[:300]
        # The conditional UPDATE doubles as the cancel check: a cancelled job is not running.
        running = ExportJob.objects.filter(pk=self.job.pk, status=ExportStatus.RUNNING)
        if not running.update(progress=self.job.progress, message=self.job.message):
            raise ExportCancelled(CANCELLED)
        publish(self.job)
