"""What each stage costs on this installation, learnt from finished analyses, and the time left
of a running analysis worked out from it.

A stage's wall seconds on a video of ``d`` seconds are taken to be ``fixed + per_second * d``,
plus ``load`` on its first run in a process (models read from disk, kernels compiled, caches
filled): the first analysis a worker or ``manage.py analyze`` runs pays it, the next ones do
not, and it can cost more than the work itself. The three are fitted per stage on the latest
finished analyses, warm runs and cold runs apart.

While an analysis runs, the stages still to come are expected to take their cost times the
pace this run has shown on its finished stages (a machine busier than when the costs were
learnt is slower in every stage); the stage in progress blends that with its own pace as its
fraction grows. The lanes run side by side, so the time left is the latest end of the stages
laid out on their lanes, a stage starting once its lane is free and the stages it needs are
done. A stage this installation never timed (or never timed cold, when it will run cold) makes
the time left unknown: no estimate rather than a wrong one.
"""

from __future__ import annotations

import statistics
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Protocol

from analysis.models import Analysis, AnalysisStatus

HISTORY = 30  # finished analyses the costs are learnt from
# Seconds of this run's finished stages before their pace counts as much as the history.
PRIOR_SECONDS = 20.0
PACE_LIMITS = (0.25, 4.0)  # this run's pace against the history, as far as it is believed
SPREAD = 1.5  # longest / shortest video timed before a fixed cost per run is told apart

Sample = tuple[float, float]  # (seconds of video, wall seconds of the stage)


@dataclass(frozen=True)
class StageCost:
    """A stage's expected wall seconds: ``fixed + per_second * duration``, plus ``load`` on
    its first run in a process (None: never timed cold here)."""

    fixed: float
    per_second: float
    load: float | None

    def seconds(self, duration: float, cold: bool) -> float | None:
        """Expected seconds on a video of ``duration`` seconds; None when not known."""
        if cold and self.load is None:
            return None
        return self.fixed + self.per_second * duration + ((self.load or 0.0) if cold else 0.0)


def _samples(history: int) -> dict[str, dict[bool, list[Sample]]]:
    """Per stage, (video seconds, stage seconds) of the latest full runs, cold and warm apart."""
    rows = (
        Analysis.objects.filter(status=AnalysisStatus.COMPLETED, video__duration__gt=0)
        .filter(metadata__has_key="stage_seconds")
        .order_by("-finished_at")
        .values_list("metadata", "video__duration")[:history]
    )
    out: dict[str, dict[bool, list[Sample]]] = {}
    for metadata, duration in rows:
        if metadata.get("seeded"):  # made up for demos: no stage ran
            continue
        cold = set(metadata.get("cold_stages") or ())
        for name, seconds in (metadata.get("stage_seconds") or {}).items():
            if isinstance(seconds, int | float) and seconds >= 0:
                out.setdefault(name, {True: [], False: []})[name in cold].append(
                    (float(duration), float(seconds))
                )
    return out


def fit_line(samples: Sequence[Sample]) -> tuple[float, float]:
    """(fixed, per_second) through ``samples``: a line when their videos' lengths differ enough
    to tell the two apart, else in proportion to the length (the median rate)."""
    durations = [d for d, _ in samples]
    seconds = [s for _, s in samples]
    if len(samples) >= 3 and max(durations) >= SPREAD * min(durations):
        slope, intercept = statistics.linear_regression(durations, seconds)
        if slope < 0:  # the length does not matter (or the machine's load hid it)
            return statistics.median(seconds), 0.0
        if intercept >= 0:
            return intercept, slope
    return 0.0, statistics.median(s / d for d, s in samples)


def _cost(warm: list[Sample], cold: list[Sample]) -> StageCost:
    if not warm:  # only first runs timed: their cost stands for the later ones too
        fixed, per_second = fit_line(cold)
        return StageCost(fixed, per_second, 0.0)
    fixed, per_second = fit_line(warm)
    extra = [max(0.0, s - fixed - per_second * d) for d, s in cold]
    return StageCost(fixed, per_second, statistics.median(extra) if extra else None)


def stage_costs(names: Iterable[str], history: int = HISTORY) -> dict[str, StageCost]:
    """The cost of each of ``names`` this installation has timed (the others are left out)."""
    samples = _samples(history)
    return {
        name: _cost(samples[name][False], samples[name][True]) for name in names if name in samples
    }


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
    """

    def __init__(
        self,
        stages: Sequence[PlannedStage],
        lanes: dict[str, str],
        expected: dict[str, float],
        done: Iterable[str] = (),
    ) -> None:
        self.stages = list(stages)
        self.lanes = lanes
        self.expected = expected
        self.done = set(done)
        self.known = all(s.name in expected for s in self.stages if s.name not in self.done)
        self._spent = 0.0  # seconds of the stages this run finished
        self._foreseen = 0.0  # what those were expected to take

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
    cold: Iterable[str],
    done: Iterable[str],
    together: bool,
    history: int = HISTORY,
) -> TimeLeft:
    """The time left of a run of ``stages`` on a video of ``duration`` seconds, the stages
    named in ``cold`` running for the first time in this process; ``together``: the lanes run
    side by side (else every stage on the main lane)."""
    cold = set(cold)
    costs = stage_costs([s.name for s in stages], history)
    expected = {}
    for stage in stages:
        cost = costs.get(stage.name)
        seconds = cost.seconds(duration, stage.name in cold) if cost else None
        if seconds is not None:
            expected[stage.name] = seconds
    lanes = {s.name: s.lane if together else "main" for s in stages}
    return TimeLeft(stages, lanes, expected, done)
