"""Small helpers shared by the stage modules."""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Protocol, TypeVar

from analysis.models import Analysis

T = TypeVar("T")
R = TypeVar("R")
# ``Analysis.metadata[RESCENE_KEY]`` = {"scene_ids": [...], "edit_id": n} while a partial
# re-run after a cut edit (``cuts.rescene``) redoes only those scenes; the runner drops it
# when the run completes.
RESCENE_KEY = "rescene"
# ``Analysis.metadata[RESCENE_FAILED_KEY]`` = the re-run's scope and its ``error``, when it
# failed: the analysis stays completed with what it had, and the scenes can be re-run again.
RESCENE_FAILED_KEY = "rescene_failed"


def map_ordered(fn: Callable[[T], R], items: Iterable[T], workers: int) -> Iterator[tuple[T, R]]:
    """``(item, fn(item))`` in the order of ``items``, computed on ``workers`` threads.

    For work that lets go of the GIL (dlib, OpenCV, ONNX...). At most ``2 * workers`` items
    are taken from ``items`` ahead of the caller, so a generator of pictures is never read
    into memory whole. With one worker everything runs in the caller's thread.
    """
    if workers <= 1:
        for item in items:
            yield item, fn(item)
        return
    from concurrent.futures import Future, ThreadPoolExecutor

    pending: deque[tuple[T, Future[R]]] = deque()
    with ThreadPoolExecutor(workers, thread_name_prefix="stage-worker") as pool:
        for item in items:
            pending.append((item, pool.submit(fn, item)))
            if len(pending) >= 2 * workers:
                first, future = pending.popleft()
                yield first, future.result()
        while pending:
            first, future = pending.popleft()
            yield first, future.result()


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


class HasId(Protocol):
    @property
    def id(self) -> int: ...


H = TypeVar("H", bound=HasId)


def scene_scope(analysis: Analysis) -> frozenset[int] | None:
    """The scene ids a partial re-run redoes (after a cut edit); None: every scene."""
    scope = (analysis.metadata or {}).get(RESCENE_KEY)
    return frozenset(int(pk) for pk in scope["scene_ids"]) if scope else None


def in_scope(analysis: Analysis, scenes: list[H]) -> list[H]:
    """``scenes`` that the current run redoes: all of them, or the partial re-run's."""
    scope = scene_scope(analysis)
    return scenes if scope is None else [s for s in scenes if s.id in scope]


def scene_stem(index: int) -> str:
    """File name stem of a scene's images: ``scene_0001`` for index 0 (matches ``public_id``)."""
    return f"scene_{index + 1:04d}"


def format_clock(seconds: float) -> str:
    """``mm:ss`` (or ``h:mm:ss`` past an hour) for descriptions shown to editors."""
    total = round(seconds)
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes:02d}:{secs:02d}"
