"""What each stage costs on this installation, learnt from finished analyses, and the time left
of a running analysis worked out from it.

A stage's wall seconds are taken to be ``fixed + per_unit * size``, the size being the video's
length or, for a stage whose cost follows the scenes more closely (pictures, faces, text), its
number of scenes; plus ``load`` on its first run in a process (models read from disk, kernels
compiled, caches filled): the first analysis a worker or ``manage.py analyze`` runs pays it, the
next ones do not, and it can cost more than the work itself. They are fitted per stage on the
latest finished analyses, warm runs and cold runs apart; the stages that listen to the sound
on videos with sound or without it, like the one to come. Until the shots stage has counted
the scenes, their number is guessed from the video's length.

While an analysis runs, the stages still to come are expected to take their cost times the
pace this run has shown on its finished stages (a machine busier than when the costs were
learnt is slower in every stage); the stage in progress blends that with its own pace as its
fraction grows. The lanes run side by side, so the time left is the latest end of the stages
laid out on their lanes, a stage starting once its lane is free and the stages it needs are
done. A stage this installation never timed (or never timed cold, when it will run cold) makes
the time left unknown: no estimate rather than a wrong one.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Callable, Collection, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from django.db.models import Count

from analysis.models import Analysis, AnalysisStatus

HISTORY = 30  # finished analyses the costs are learnt from
# Seconds of this run's finished stages before their pace counts as much as the history.
PRIOR_SECONDS = 20.0
PACE_LIMITS = (0.25, 4.0)  # this run's pace against the history, as far as it is believed
SPREAD = 1.5  # longest / shortest video timed before a fixed cost per run is told apart

Sample = tuple[float, float]  # (size: seconds of video or scenes, wall seconds of the stage)


@dataclass(frozen=True)
class Timed:
    """One stage's run in a finished analysis."""

    duration: float  # seconds of video
    scenes: int
    seconds: float  # wall seconds of the stage
    cold: bool  # the stage's first run in its process
    has_audio: bool


@dataclass(frozen=True)
class StageCost:
    """A stage's expected wall seconds: ``fixed + per_unit * size``, the size being the
    video's seconds or (``per_scene``) its scenes, plus ``load`` on its first run in a process
    (None: never timed cold here)."""

    fixed: float
    per_unit: float
    load: float | None
    per_scene: bool = False

    def seconds(self, duration: float, cold: bool, scenes: float = 0.0) -> float | None:
        """Expected seconds on a video of ``duration`` seconds and ``scenes`` scenes; None
        when not known."""
        if cold and self.load is None:
            return None
        size = scenes if self.per_scene else duration
        return self.fixed + self.per_unit * size + ((self.load or 0.0) if cold else 0.0)


def _timings(history: int, before: datetime | None = None) -> tuple[dict[str, list[Timed]], float]:
    """Per stage, its runs in the latest full analyses (finished ``before``, when given); and
    their scenes per second of video (median; 0.0 without history)."""
    finished = Analysis.objects.filter(status=AnalysisStatus.COMPLETED, video__duration__gt=0)
    if before is not None:
        finished = finished.filter(finished_at__lt=before)
    rows = (
        finished.filter(metadata__has_key="stage_seconds")
        .annotate(scene_count=Count("scenes"))
        .order_by("-finished_at")
        .values_list("metadata", "video__duration", "video__has_audio", "scene_count")[:history]
    )
    out: dict[str, list[Timed]] = {}
    rates = []
    for metadata, duration, has_audio, scenes in rows:
        if metadata.get("seeded"):  # made up for demos: no stage ran
            continue
        rates.append(scenes / duration)
        cold = set(metadata.get("cold_stages") or ())
        for name, seconds in (metadata.get("stage_seconds") or {}).items():
            if isinstance(seconds, int | float) and seconds >= 0:
                timed = Timed(float(duration), scenes, float(seconds), name in cold, has_audio)
                out.setdefault(name, []).append(timed)
    return out, statistics.median(rates) if rates else 0.0


def fit_line(samples: Sequence[Sample]) -> tuple[float, float]:
    """(fixed, per_unit) through ``samples`` of (size, seconds): a line when their sizes differ
    enough to tell the two apart, else in proportion to the size (the median rate)."""
    sizes = [d for d, _ in samples]
    seconds = [s for _, s in samples]
    if len(samples) >= 3 and max(sizes) >= SPREAD * min(sizes):
        slope, intercept = statistics.linear_regression(sizes, seconds)
        if slope < 0:  # the size does not matter (or the machine's load hid it)
            return statistics.median(seconds), 0.0
        if intercept >= 0:
            return intercept, slope
    return 0.0, statistics.median(s / d for d, s in samples)


def _spread(ratios: list[float]) -> float:
    mean = statistics.fmean(ratios)
    return statistics.pstdev(ratios) / mean if mean > 0 else math.inf


def per_scene(runs: Sequence[Timed]) -> bool:
    """Whether the stage's cost follows the number of scenes more closely than the length
    (per-scene work: pictures, faces, text), judged on its warm runs (else all)."""
    warm = [t for t in runs if not t.cold] or list(runs)
    if len(warm) < 2 or any(t.scenes <= 0 for t in warm):
        return False
    by_scene = _spread([t.seconds / t.scenes for t in warm])
    return by_scene < _spread([t.seconds / t.duration for t in warm])


def _cost(runs: Sequence[Timed]) -> StageCost:
    scenes = per_scene(runs)
    warm = [(t.scenes if scenes else t.duration, t.seconds) for t in runs if not t.cold]
    cold = [(t.scenes if scenes else t.duration, t.seconds) for t in runs if t.cold]
    if not warm:  # only first runs timed: their cost stands for the later ones too
        fixed, per_unit = fit_line(cold)
        return StageCost(fixed, per_unit, 0.0, scenes)
    fixed, per_unit = fit_line(warm)
    extra = [max(0.0, s - fixed - per_unit * size) for size, s in cold]
    return StageCost(fixed, per_unit, statistics.median(extra) if extra else None, scenes)


def stage_costs(
    names: Iterable[str],
    history: int = HISTORY,
    *,
    has_audio: bool = True,
    listening: Collection[str] = (),
    before: datetime | None = None,
) -> dict[str, StageCost]:
    """The cost of each of ``names`` this installation has timed (the others are left out).

    The stages ``listening`` to the sound are learnt from videos with sound or without it
    like this one (``has_audio``); without sound and never timed so, they cost nothing.
    """
    timings, _rate = _timings(history, before)
    costs = {}
    for name in names:
        runs = timings.get(name, [])
        if name in listening:
            runs = [t for t in runs if t.has_audio == has_audio]
        if runs:
            costs[name] = _cost(runs)
        elif name in listening and not has_audio:
            costs[name] = StageCost(0.0, 0.0, 0.0)
    return costs


def scenes_per_second(history: int = HISTORY, before: datetime | None = None) -> float:
    """How many scenes a second of video has had here (median; 0.0 without history)."""
    return _timings(history, before)[1]


# --- The time left of a run ------------------------------------------------------------------


class PlannedStage(Protocol):
    @property
    def name(self) -> str: ...

    @property
    def needs(self) -> tuple[str, ...]: ...


@dataclass
class Going:
    """A stage in progress: how far it says it is, and since when it runs."""

    name: str
    fraction: float
    elapsed: float


class TimeLeft:
    """The time left of one run, from the expected seconds of its stages still to do.

    Args:
        stages: the run's stages in pipeline order.
        lanes: each stage's lane (the one it runs on in this run).
        expected: expected seconds of each stage still to do; a stage missing makes the
            time left unknown.
        done: stages finished before this run started (a resumed run's).
        reprice: the expected seconds of every stage once the video's scenes are counted
            (``scenes_known``); until then they were guessed from its length.
    """

    def __init__(
        self,
        stages: Sequence[PlannedStage],
        lanes: dict[str, str],
        expected: dict[str, float],
        done: Iterable[str] = (),
        reprice: Callable[[int], dict[str, float]] | None = None,
    ) -> None:
        self.stages = list(stages)
        self.lanes = lanes
        self.expected = expected
        self.done = set(done)
        self.reprice = reprice
        self._spent = 0.0  # seconds of the stages this run finished
        self._foreseen = 0.0  # what those were expected to take

    @property
    def known(self) -> bool:
        return all(s.name in self.expected for s in self.stages if s.name not in self.done)

    def scenes_known(self, count: int) -> None:
        """The video has ``count`` scenes: the stages still to do are priced by them."""
        if self.reprice is None:
            return
        priced = self.reprice(count)
        for stage in self.stages:
            if stage.name not in self.done and stage.name in priced:
                self.expected[stage.name] = priced[stage.name]

    def finished(self, name: str, seconds: float) -> None:
        """``name`` took ``seconds``: it is done, and the run's pace counts it."""
        self.done.add(name)
        if name in self.expected:
            self._spent += seconds
            self._foreseen += self.expected[name]

    def pace(self) -> float:
        """Seconds this run takes for an expected second, pulled towards 1 until enough was
        seen."""
        low, high = PACE_LIMITS
        pace = (self._spent + PRIOR_SECONDS) / (self._foreseen + PRIOR_SECONDS)
        return min(high, max(low, pace))

    def seconds(self, going: Iterable[Going] = ()) -> float | None:
        """Seconds until the last stage ends; None when a stage's cost is not known."""
        if not self.known:
            return None
        pace = self.pace()
        left = {g.name: _left_of(self.expected[g.name] * pace, g) for g in going}
        ends: dict[str, float] = {}
        lane_free: dict[str, float] = {}
        for stage in self.stages:
            if stage.name in self.done:
                continue
            lane = self.lanes.get(stage.name, "main")
            start = max([lane_free.get(lane, 0.0), *(ends.get(n, 0.0) for n in stage.needs)])
            ends[stage.name] = start + left.get(stage.name, self.expected[stage.name] * pace)
            lane_free[lane] = ends[stage.name]
        return max(ends.values(), default=0.0)


def _left_of(expected: float, going: Going) -> float:
    """A stage in progress: what its cost leaves, blended with what its own pace leaves as its
    fraction grows (sooner once it has run past its cost)."""
    from_cost = max(0.0, expected - going.elapsed)
    if going.fraction <= 0.0:
        return from_cost
    from_pace = going.elapsed * (1.0 - going.fraction) / going.fraction
    trust = going.fraction if going.elapsed <= expected else max(going.fraction, 0.5)
    return trust * from_pace + (1.0 - trust) * from_cost


class RunStage(PlannedStage, Protocol):
    @property
    def lane(self) -> str: ...


def plan_run(
    stages: Sequence[RunStage],
    *,
    duration: float,
    has_audio: bool,
    cold: Iterable[str],
    done: Iterable[str],
    together: bool,
    scenes: int | None = None,
    history: int = HISTORY,
    before: datetime | None = None,
) -> TimeLeft:
    """The time left of a run of ``stages`` on a video of ``duration`` seconds, the stages
    named in ``cold`` running for the first time in this process; ``together``: the lanes run
    side by side (else every stage on the main lane). ``scenes``: the video's, once counted
    (else guessed from its length until ``TimeLeft.scenes_known``); ``before``: learn from the
    analyses finished before then only (a bench replaying a run)."""
    cold = set(cold)
    listening = {s.name for s in stages if s.lane == "sound"}
    names = [s.name for s in stages]
    costs = stage_costs(names, history, has_audio=has_audio, listening=listening, before=before)

    def price(count: float) -> dict[str, float]:
        expected = {}
        for stage in stages:
            cost = costs.get(stage.name)
            seconds = cost.seconds(duration, stage.name in cold, count) if cost else None
            if seconds is not None:
                expected[stage.name] = seconds
        return expected

    guess = scenes if scenes is not None else scenes_per_second(history, before) * duration
    lanes = {s.name: s.lane if together else "main" for s in stages}
    return TimeLeft(stages, lanes, price(guess), done, reprice=price)
