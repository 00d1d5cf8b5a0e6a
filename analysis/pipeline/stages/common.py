"""Small helpers shared by the stage modules."""

from __future__ import annotations

import time
from dataclasses import dataclass

from analysis.models import Analysis
from analysis.pipeline.base import ProgressFn


class Throttled:
    """Forward progress at most every ``interval`` seconds: each report may hit the database."""

    def __init__(self, report: ProgressFn, interval: float = 0.5) -> None:
        self._report = report
        self._interval = interval
        self._last = 0.0

    def __call__(self, fraction: float, message: str, force: bool = False) -> None:
        now = time.monotonic()
        if force or now - self._last >= self._interval:
            self._last = now
            self._report(min(max(fraction, 0.0), 1.0), message)


@dataclass(frozen=True)
class SceneSpan:
    """The part of a persisted scene later stages need, detached from the ORM."""

    id: int
    index: int
    start_time: float
    end_time: float
    start_frame: int
    end_frame: int


def load_scenes(analysis: Analysis) -> list[SceneSpan]:
    """The scenes the shots stage persisted, in order."""
    rows = analysis.scenes.order_by("index").values_list(
        "id", "index", "start_time", "end_time", "start_frame", "end_frame"
    )
    return [SceneSpan(*row) for row in rows]


def scene_stem(index: int) -> str:
    """File name stem of a scene's images: ``scene_0001`` for index 0 (matches ``public_id``)."""
    return f"scene_{index + 1:04d}"


def format_clock(seconds: float) -> str:
    """``mm:ss`` (or ``h:mm:ss`` past an hour) for descriptions shown to editors."""
    total = round(seconds)
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes:02d}:{secs:02d}"
