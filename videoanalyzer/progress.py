"""The one throttle for progress reports: each report may write a row and reach browsers."""

from __future__ import annotations

import time
from collections.abc import Callable

ReportFn = Callable[[float, str], None]


class ProgressThrottle:
    """Passes progress on at most every ``interval`` seconds; forced reports always pass.

    Use it as a wrapper (``ProgressThrottle(ctx.report)(fraction, message)``; the fraction is
    clamped to 0..1) or, where the report itself does the saving, ask :meth:`due` first.
    The first report always passes.
    """

    def __init__(self, report: ReportFn | None = None, interval: float = 0.5) -> None:
        self._report = report
        self.interval = interval
        self._last: float | None = None

    def due(self, force: bool = False) -> bool:
        """True (and the clock restarted) when a report may go out now."""
        now = time.monotonic()
        if not force and self._last is not None and now - self._last < self.interval:
            return False
        self._last = now
        return True

    def __call__(self, fraction: float, message: str, force: bool = False) -> None:
        if self._report is None:
            raise TypeError("this throttle wraps no report function; call due() instead")
        if self.due(force):
            self._report(min(max(fraction, 0.0), 1.0), message)
