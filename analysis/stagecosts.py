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

from django.db.models import Count, F, FloatField, Sum

from analysis.models import Analysis, AnalysisStatus

HISTORY = 30  # finished analyses the costs are learnt from
# Seconds of this run's finished stages before their pace counts as much as the history.
PRIOR_SECONDS = 20.0
PACE_LIMITS = (0.25, 4.0)  # this run's pace against the history, as far as it is believed
SPREAD = 1.5  # longest / shortest video timed before a fixed cost per run is told apart
OVERRUN = 0.25  # of its time so far, what a stage running past its cost is taken to need still

Sample = tuple[float, float]  # (size: seconds of video or scenes, wall seconds of the stage)


@dataclass(frozen=True)
class Timed:
    """One stage's run in a finished analysis."""

    duration: float  # seconds of video
    scenes: int
    seconds: float  # wall seconds of the stage
    cold: bool  # the stage's first run in its process
    has_audio: bool
    speech: float = 0.0  # seconds of speech the audio stage found


@dataclass(frozen=True)
class StageCost:
    """A stage's expected wall seconds: ``fixed + per_unit * size``, the size being the
    video's seconds or (``per_scene``) its scenes, plus ``load`` on its first run in a process
    (None: never timed cold here)."""

    fixed: float
    per_unit: float
    load: float | None
    per_scene: bool = False
    per_speech: bool = False  # per second of speech (recognising it: its cost is the words')

    def seconds(
        self, duration: float, cold: bool, scenes: float = 0.0, speech: float = 0.0
    ) -> float | None:
        """Expected seconds on a video of ``duration`` seconds, ``scenes`` scenes and
        ``speech`` seconds of speech; None when not known."""
        if cold and self.load is None:
            return None
        size = speech if self.per_speech else scenes if self.per_scene else duration
        return self.fixed + self.per_unit * size + ((self.load or 0.0) if cold else 0.0)


def _timings(history: int, before: datetime | None = None) -> tuple[dict[str, list[Timed]], Rates]:
    """Per stage, its runs in the latest full analyses (finished ``before``, when given); and
    their scenes and seconds of speech per second of video (medians; 0.0 without history)."""
    finished = Analysis.objects.filter(status=AnalysisStatus.COMPLETED, video__duration__gt=0)
    if before is not None:
        finished = finished.filter(finished_at__lt=before)
    rows = (
        finished.filter(metadata__has_key="stage_seconds")
        .annotate(scene_count=Count("scenes"), speech=_SPEECH)
        .order_by("-finished_at")
        .values_list("metadata", "video__duration", "video__has_audio", "scene_count", "speech")[
            :history
        ]
    )
    out: dict[str, list[Timed]] = {}
    rates, talk = [], []
    for metadata, duration, has_audio, scenes, speech in rows:
        if metadata.get("seeded"):  # made up for demos: no stage ran
            continue
        rates.append(scenes / duration)
        talk.append((speech or 0.0) / duration)
        cold = set(metadata.get("cold_stages") or ())
        for name, seconds in (metadata.get("stage_seconds") or {}).items():
            if isinstance(seconds, int | float) and seconds >= 0:
                timed = Timed(
                    float(duration), scenes, float(seconds), name in cold, has_audio, speech or 0.0
                )
                out.setdefault(name, []).append(timed)
    return out, Rates(_median(rates), _median(talk))


@dataclass(frozen=True)
class Rates:
    """What a second of video has held here (medians of the history)."""

    scenes: float
    speech: float


def _median(values: list[float]) -> float:
    return statistics.median(values) if values else 0.0


# Seconds of speech in an analysis: its scenes' speech share (the audio stage's) times length.
_SPEECH = Sum(
    F("scenes__audio__speech_ratio") * (F("scenes__end_time") - F("scenes__start_time")),
    output_field=FloatField(),
)


def speech_seconds(analysis: Analysis) -> float:
    """Seconds of speech the audio stage found in ``analysis``."""
    found = Analysis.objects.filter(pk=analysis.pk).aggregate(speech=_SPEECH)["speech"]
    return float(found or 0.0)


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


def _cost(runs: Sequence[Timed], follows: str = "") -> StageCost:
    # Speech is the measure where it was found (a history from before it was kept has none).
    by_speech = follows == "speech" and all(t.speech > 0 for t in runs)
    scenes = not by_speech and (follows == "scenes" or per_scene(runs))

    def size(t: Timed) -> float:
        return t.speech if by_speech else t.scenes if scenes else t.duration

    warm = [(size(t), t.seconds) for t in runs if not t.cold]
    cold = [(size(t), t.seconds) for t in runs if t.cold]
    if not warm:  # only first runs timed: their cost stands for the later ones too
        fixed, per_unit = fit_line(cold)
        return StageCost(fixed, per_unit, 0.0, scenes, by_speech)
    fixed, per_unit = fit_line(warm)
    extra = [max(0.0, s - fixed - per_unit * size) for size, s in cold]
    load = statistics.median(extra) if extra else None
    return StageCost(fixed, per_unit, load, scenes, by_speech)


def stage_costs(
    names: Iterable[str],
    history: int = HISTORY,
    *,
    has_audio: bool = True,
    listening: Collection[str] = (),
    before: datetime | None = None,
    follows: dict[str, str] | None = None,
) -> dict[str, StageCost]:
    """The cost of each of ``names`` this installation has timed (the others are left out).

    The stages ``listening`` to the sound are learnt from videos with sound or without it
    like this one (``has_audio``); without sound and never timed so, they cost nothing. A
    stage named in ``follows`` is priced by what it names (``Stage.cost_follows``: "scenes",
    or "speech" when the history knows it), the others by what their history follows more
    closely, length or scenes (``per_scene``).
    """
    timings, _rate = _timings(history, before)
    costs = {}
    for name in names:
        runs = timings.get(name, [])
        if name in listening:
            runs = [t for t in runs if t.has_audio == has_audio]
        if runs:
            costs[name] = _cost(runs, (follows or {}).get(name, ""))
        elif name in listening and not has_audio:
            costs[name] = StageCost(0.0, 0.0, 0.0)
    return costs


def scenes_per_second(history: int = HISTORY, before: datetime | None = None) -> float:
    """How many scenes a second of video has had here (median; 0.0 without history)."""
    return _timings(history, before)[1].scenes


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
        reprice: the expected seconds of every stage given the video's scenes and its seconds
            of speech, once they are found (``scenes_known``, ``speech_known``); until then
            they were guessed from its length (None: a guess stands).
    """

    def __init__(
        self,
        stages: Sequence[PlannedStage],
        lanes: dict[str, str],
        expected: dict[str, float],
        done: Iterable[str] = (),
        reprice: Callable[[float | None, float | None], dict[str, float]] | None = None,
        scenes: float | None = None,
        speech: float | None = None,
    ) -> None:
        self.stages = list(stages)
        self.lanes = lanes
        self.expected = expected
        self.done = set(done)
        self.reprice = reprice
        self._scenes = scenes  # the video's, once known
        self._speech = speech
        # Per stage this run finished: (its seconds, log of its seconds over its expected ones).
        self._ratios: list[tuple[float, float]] = []

    @property
    def known(self) -> bool:
        return all(s.name in self.expected for s in self.stages if s.name not in self.done)

    def scenes_known(self, count: int) -> None:
        """The video has ``count`` scenes: the stages still to do are priced by them."""
        self._scenes = float(count)
        self._priced()

    def speech_known(self, seconds: float) -> None:
        """The video holds ``seconds`` of speech: the stages still to do are priced by it."""
        self._speech = seconds
        self._priced()

    def _priced(self) -> None:
        if self.reprice is None:
            return
        priced = self.reprice(self._scenes, self._speech)
        for stage in self.stages:
            if stage.name not in self.done and stage.name in priced:
                self.expected[stage.name] = priced[stage.name]

    def finished(self, name: str, seconds: float) -> None:
        """``name`` took ``seconds``: it is done, and the run's pace counts it."""
        self.done.add(name)
        expected = self.expected.get(name, 0.0)
        if expected > 0 and seconds > 0:
            low, high = PACE_LIMITS
            ratio = min(math.log(high), max(math.log(low), math.log(seconds / expected)))
            self._ratios.append((seconds, ratio))

    def pace(self) -> float:
        """Seconds this run takes for an expected second: the finished stages' ratios of the
        two, averaged (geometric, weighed by their seconds) and pulled towards 1 until enough
        was seen. Each ratio counts within ``PACE_LIMITS``: one stage the history mispriced
        badly (a first run compiling its kernels) must not set the pace of all the others, as
        a ratio of sums lets it."""
        weight = sum(seconds for seconds, _ in self._ratios)
        mean = sum(seconds * ratio for seconds, ratio in self._ratios) / (weight + PRIOR_SECONDS)
        return math.exp(mean)

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
    fraction grows (sooner once it has run past its cost). A stage that has run (nearly) as
    long as its cost is not done yet: it is taken to need a share of the time it has run
    (stages that report seldom, such as the transcript's batches, would otherwise be 0 s from
    done for as long as they overrun)."""
    from_cost = max(expected - going.elapsed, OVERRUN * going.elapsed)
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
    speech: float | None = None,
    history: int = HISTORY,
    before: datetime | None = None,
) -> TimeLeft:
    """The time left of a run of ``stages`` on a video of ``duration`` seconds, the stages
    named in ``cold`` running for the first time in this process; ``together``: the lanes run
    side by side (else every stage on the main lane). ``scenes`` and ``speech`` (seconds):
    the video's, once found (else guessed from its length until ``TimeLeft.scenes_known`` and
    ``TimeLeft.speech_known``); ``before``: learn from the
    analyses finished before then only (a bench replaying a run)."""
    cold = set(cold)
    listening = {s.name for s in stages if s.lane == "sound"}
    follows = {s.name: getattr(s, "cost_follows", "") for s in stages}
    names = [s.name for s in stages]
    costs = stage_costs(
        names,
        history,
        has_audio=has_audio,
        listening=listening,
        before=before,
        follows=follows,
    )
    rates = _timings(history, before)[1]

    def price(count: float | None, talk: float | None) -> dict[str, float]:
        count = rates.scenes * duration if count is None else count
        talk = rates.speech * duration if talk is None else talk
        expected = {}
        for stage in stages:
            cost = costs.get(stage.name)
            seconds = cost.seconds(duration, stage.name in cold, count, talk) if cost else None
            if seconds is not None:
                expected[stage.name] = seconds
        return expected

    lanes = {s.name: s.lane if together else "main" for s in stages}
    known = None if scenes is None else float(scenes)
    return TimeLeft(stages, lanes, price(known, speech), done, price, known, speech)
