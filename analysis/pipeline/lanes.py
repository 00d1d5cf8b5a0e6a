"""The run's lanes: groups of stages that run side by side, each on its own thread.

A lane runs its stages in pipeline order; a stage waits for the stages of other lanes it
``needs``. The picture stages (the decode pass, keyframes, faces, OCR...) make the "main" lane,
run on the runner's own thread; the audio-only stages (audio measures, transcript, speakers)
make the "sound" lane, which starts as soon as the scenes are known and is joined before the
stages that read its results (scene index, storylines).

The first failure in any lane stops the others at their next progress report or wait, and is
what the run raises. Every stage still persists and is marked done in its own transaction, so a
run killed with both lanes busy resumes each lane after its last finished stage.
"""

from __future__ import annotations

import importlib
import threading
from collections.abc import Callable, Iterable
from typing import Any

from analysis.pipeline.base import Cancelled, Stage

MAIN = "main"


class LaneStopped(Cancelled):
    """Raised in a lane when another lane failed: the run stops with that lane's failure."""


class Schedule:
    """Which stages are done, for lanes that wait on each other, and the run's first failure."""

    def __init__(self, stages: Iterable[Stage[Any]], done: Iterable[str]) -> None:
        self._names = {stage.name for stage in stages}
        self._done = set(done)
        self._changed = threading.Condition()
        self.failure: BaseException | None = None
        self.failed_stage = ""  # where the first failure happened

    def check(self) -> None:
        """Raises ``LaneStopped`` once any lane failed."""
        if self.failure is not None:
            raise LaneStopped()

    def wait_for(self, stage: Stage[Any]) -> None:
        """Block until every stage ``stage`` needs (of this run) is done.

        Raises:
            LaneStopped: a lane failed meanwhile.
        """
        wanted = {name for name in stage.needs if name in self._names}
        with self._changed:
            self._changed.wait_for(lambda: self.failure is not None or wanted <= self._done)
        self.check()

    def mark_done(self, name: str) -> None:
        with self._changed:
            self._done.add(name)
            self._changed.notify_all()

    def fail(self, exc: BaseException, stage: str) -> None:
        """Keep the first failure (later ones are mostly ``LaneStopped``) and wake every lane."""
        with self._changed:
            if self.failure is None:
                self.failure, self.failed_stage = exc, stage
            self._changed.notify_all()


def split_lanes(stages: list[Stage[Any]], together: bool) -> dict[str, list[Stage[Any]]]:
    """Stages per lane in pipeline order, the main lane first; all on the main lane unless
    ``together``."""
    lanes: dict[str, list[Stage[Any]]] = {MAIN: []}
    for stage in stages:
        lanes.setdefault(stage.lane if together else MAIN, []).append(stage)
    return lanes


def preload_imports(lanes: dict[str, list[Stage[Any]]]) -> list[str]:
    """Import, on this thread, the heavy packages of every lane's stages when more than one lane
    will run: package imports racing on two threads can leave one half made. A package that
    is missing is skipped; its stage says so when it runs. Returns the modules imported."""
    if sum(1 for stages in lanes.values() if stages) < 2:
        return []
    loaded = []
    wanted = dict.fromkeys(name for stages in lanes.values() for s in stages for name in s.imports)
    for name in wanted:
        try:
            importlib.import_module(name)
        except ImportError:
            continue
        loaded.append(name)
    return loaded


def run_lanes(lanes: dict[str, list[Stage[Any]]], run: Callable[[str], None]) -> None:
    """``run(lane)`` for every lane at once: the main lane on this thread, the others on
    threads of their own, all joined before this returns.

    ``run`` must report failures with ``Schedule.fail`` itself; the caller raises the first.
    """
    threads = [
        threading.Thread(target=run, args=(name,), name=f"lane-{name}", daemon=True)
        for name in lanes
        if name != MAIN
    ]
    for thread in threads:
        thread.start()
    try:
        run(MAIN)
    finally:
        for thread in threads:
            thread.join()
