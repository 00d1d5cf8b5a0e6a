"""The one interface every pipeline stage implements.

A stage ``compute``s its result from the video and from what earlier stages persisted, then
``persist``s it. The runner calls ``persist`` inside one transaction together with marking the
stage done, so a worker killed at any moment resumes from the last finished stage, and a stage
that runs twice replaces its own rows instead of duplicating them.

Heavy libraries (torch, faster-whisper, librosa, OpenCV) are imported inside ``compute``: the
web process imports this package for the stage list but must never load them.
"""

from __future__ import annotations

import abc
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, Generic, TypeVar

from analysis.models import Analysis
from mediakit.framepass import PicturePlan
from mediakit.passfiles import PassFiles

ResultT = TypeVar("ResultT")


class Cancelled(Exception):
    """Raised from a progress report when the user cancelled the analysis."""


class StageError(Exception):
    """A stage cannot go on; the message is shown to the user as the reason."""


ProgressFn = Callable[[float, str], None]


@dataclass
class StageContext:
    """What a stage may use; ``report(fraction, message)`` raises ``Cancelled`` on a cancel."""

    analysis: Analysis
    video_path: Path
    workdir: Path
    report: ProgressFn
    parameters: dict[str, Any] = field(default_factory=dict)
    # Facts a stage leaves for later ones within one run (recomputed on resume if missing).
    shared: dict[str, Any] = field(default_factory=dict)
    # What the run's decode pass keeps, worked out once by the runner from every stage's
    # ``picture_interval``; None outside a run (the pass then keeps its default pictures).
    pictures: PicturePlan | None = None

    def param(self, name: str, default: Any = None) -> Any:
        return self.parameters.get(name, default)

    @property
    def pass_files(self) -> PassFiles:
        """The files of the run's decode pass, as they are now (see ``frame_pass``)."""
        return PassFiles(self.workdir)

    def frame_pass(self) -> PassFiles:
        """The files of the run's decode pass, decoding again once if a resumed run lost them.

        Raises:
            StageError: the video cannot be decoded.
        """
        from analysis.pipeline.framepass import ensure_pass_files  # it imports this module

        ensure_pass_files(self)
        return self.pass_files


class Stage(abc.ABC, Generic[ResultT]):
    """A step of the analysis. Subclasses set ``name``, ``label`` and ``weight``."""

    name: ClassVar[str]
    label: ClassVar[str]  # shown to users while the stage runs
    weight: ClassVar[float] = 1.0  # share of the progress bar, relative to other stages
    # The runner's lanes run side by side, each on its own thread, each its stages in pipeline
    # order: the picture stages on "main", the audio-only ones on "sound" (Whisper lets go of
    # the GIL, so the two share the cores).
    lane: ClassVar[str] = "main"
    # Stages of other lanes that must be done before this one starts (the runner ignores names
    # that are not in the run's pipeline).
    needs: ClassVar[tuple[str, ...]] = ()
    # Heavy packages the stage imports when it runs. Before lanes start side by side the runner
    # imports them on one thread: two threads importing torch at once can see it half made
    # ("partially initialized module 'torch'"), which failed resumed runs.
    imports: ClassVar[tuple[str, ...]] = ()
    # What the stage's cost grows with, when the stage knows better than its timings can tell
    # (``analysis.stagecosts``): "scenes" (their number: the stage works scene by scene),
    # "speech" (seconds of it); "" learns the length or the scenes from its timings.
    cost_follows: ClassVar[str] = ""

    @abc.abstractmethod
    def compute(self, ctx: StageContext) -> ResultT:
        """Do the work and return the result; write nothing to the database."""

    @abc.abstractmethod
    def persist(self, ctx: StageContext, result: ResultT) -> None:
        """Replace this stage's rows for ``ctx.analysis`` with ``result`` (in a transaction)."""

    def picture_interval(self, ctx: StageContext) -> float | None:
        """Seconds between the pictures this stage wants the run's decode pass to keep, when
        it reads more of them than the keyframe candidates' own step gives; None otherwise.

        The runner asks every stage of the pipeline once, before the first stage runs, and
        hands the result to all of them as ``ctx.pictures``."""
        return None


STAGES: dict[str, type[Stage[Any]]] = {}


def register(cls: type[Stage[Any]]) -> type[Stage[Any]]:
    """Class decorator: make a stage available by its ``name``."""
    STAGES[cls.name] = cls
    return cls
