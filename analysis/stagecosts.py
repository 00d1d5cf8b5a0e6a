"""What each stage costs on this installation, learnt from finished analyses, and the time left
of a running analysis worked out from it.

A stage's wall seconds are taken to be ``fixed + per_unit * size``, the size being what its
work grows with: the video's length; its scenes for the stages that work scene by scene
(``Stage.cost_follows``: pictures, faces, text), once scene counts in the history tell a cost
per run from a cost per scene (before, the geometric mean of length and scenes); its seconds of
speech for the ones that listen to speech. Plus ``load`` on its first run in a process (models
read from disk, kernels compiled, caches filled): the first analysis a worker or ``manage.py
analyze`` runs pays it, the next ones do not, and it can cost more than the work itself;
it is learnt from the newest first runs only (the very first may have compiled kernels into an
empty cache, once). They are fitted per stage on the latest finished analyses, warm runs and
cold runs apart, and on videos with sound or without it like the one to come (without sound
the sound lane does not run beside the picture stages). Until the shots stage has counted the
scenes, their number is guessed from the video's length. A stage's saving of its results
(after its compute, which its fraction counts) is learnt the same way as a cost of its own, and
so is the run's finish after its last stage (the result file written, the page told): a time
left that ends with the last compute is short all along, and all of it at the end.

While an analysis runs, the stages still to come are expected to take their cost times the
pace this attempt has shown against the costs (a machine busier than when the costs were learnt
is slower in every stage): measured on its finished stages and on the latest work of the ones
in progress (not their loading), the latest counting most, so a change of the machine's load
mid-run is followed. The stage in progress blends its cost with its own latest pace as its
fraction grows; its fraction is read as the share of its time it usually means (its
``profile``, learnt from its earlier runs: a stage's units of work seldom take even time). A
fresh attempt (a resumed run's new process) gives no time left until it has measured some work
of its own. The lanes run side by side, so the time left is the latest end of the stages laid
out on their lanes, a stage starting once its lane is free and the stages it needs are done. A
stage this installation never timed (or never timed cold, when it will run cold) makes the time
left unknown: no estimate rather than a wrong one.
"""

from __future__ import annotations

import dataclasses
import math
import statistics
import time
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from django.db.models import Count, F, FloatField, Sum

from analysis.models import Analysis, AnalysisStatus

HISTORY = 30  # finished analyses the costs are learnt from
# The run's end after its last stage's compute: that stage's results saved, the result file
# written, the page told (``metadata["finish_seconds"]``); learnt as a stage's cost.
FINISH = "(finish)"
# A stage's results saved after its compute (``metadata["stage_save_seconds"]``), learnt as a
# cost of its own under the stage's name and this: the save comes after the stage's last
# report, and its fraction does not count it.
SAVING = " (saving)"
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
    # Wall seconds per CPU second the stage took (None: its CPU time was not kept or too
    # small to tell): how busy the machine was then, and how much the stage waited.
    per_cpu: float | None = None
    profile: tuple[float, ...] | None = None  # its time shares at ``KNOTS`` (``profile_of``)


@dataclass(frozen=True)
class StageCost:
    """A stage's expected wall seconds: ``fixed + per_unit * size``, the size being the
    video's seconds, its scenes (``per_scene``), its seconds of speech (``per_speech``), or
    (``hedged``) the geometric mean of its seconds and scenes, plus ``load`` on its first run
    in a process (None: never timed cold here)."""

    fixed: float
    per_unit: float
    load: float | None
    per_scene: bool = False
    per_speech: bool = False  # per second of speech (recognising it: its cost is the words')
    hedged: bool = False
    per_cpu: float | None = None  # wall seconds per CPU second, warm (``Timed.per_cpu``)
    profile: tuple[float, ...] | None = None  # time shares at ``KNOTS``, warm (``Timed``)

    def seconds(
        self, duration: float, cold: bool, scenes: float = 0.0, speech: float = 0.0
    ) -> float | None:
        """Expected seconds on a video of ``duration`` seconds, ``scenes`` scenes and
        ``speech`` seconds of speech; None when not known."""
        if cold and self.load is None:
            return None
        size = _size(self, duration, scenes, speech)
        return self.fixed + self.per_unit * size + ((self.load or 0.0) if cold else 0.0)


def _size(cost: StageCost, duration: float, scenes: float, speech: float) -> float:
    if cost.hedged:
        return math.sqrt(duration * max(scenes, 1.0))
    return speech if cost.per_speech else scenes if cost.per_scene else duration


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
        cpu = metadata.get("stage_cpu_seconds") or {}
        if isinstance(ending := metadata.get("finish_seconds"), int | float) and ending >= 0:
            sample = Timed(float(duration), scenes, float(ending), False, has_audio, speech or 0.0)
            out.setdefault(FINISH, []).append(sample)
        for name, saving in (metadata.get("stage_save_seconds") or {}).items():
            if isinstance(saving, int | float) and saving >= 0:
                timed = (float(saving), name in cold, has_audio, speech or 0.0)
                out.setdefault(name + SAVING, []).append(Timed(float(duration), scenes, *timed))
        profiles = metadata.get("stage_profiles") or {}
        for name, seconds in (metadata.get("stage_seconds") or {}).items():
            if isinstance(seconds, int | float) and seconds >= 0:
                shares = profiles.get(name)
                spent = _cpu_of(cpu.get(name))
                per_cpu = seconds / spent if spent else None
                timed = Timed(
                    float(duration),
                    scenes,
                    float(seconds),
                    name in cold,
                    has_audio,
                    speech or 0.0,
                    per_cpu,
                    _profile(shares),
                )
                out.setdefault(name, []).append(timed)
    return out, Rates(_median(rates), _median(talk))


MIN_CPU = 0.5  # CPU seconds of a stage below which its wall per CPU second is noise


def _cpu_of(value: object) -> float | None:
    """CPU seconds kept for a stage, when enough to tell its wall seconds per CPU second."""
    return float(value) if isinstance(value, int | float) and value >= MIN_CPU else None


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
    if _told_apart(sizes):
        slope, intercept = statistics.linear_regression(sizes, seconds)
        if slope < 0:  # the size does not matter (or the machine's load hid it)
            return statistics.median(seconds), 0.0
        if intercept >= 0:
            return intercept, slope
    return 0.0, statistics.median(s / d for d, s in samples)


def _told_apart(sizes: Sequence[float]) -> bool:
    """Whether runs of these sizes tell a fixed cost from a cost per unit: two or more, the
    largest ``SPREAD`` times the smallest."""
    return len(sizes) >= 2 and min(sizes) > 0 and max(sizes) >= SPREAD * min(sizes)


def _spread(ratios: list[float]) -> float:
    mean = statistics.fmean(ratios)
    return statistics.pstdev(ratios) / mean if mean > 0 else math.inf


def per_scene(runs: Sequence[Timed], declared: bool = False) -> bool:
    """Whether the stage's cost is priced per scene rather than per second of video, judged
    on its warm runs (else all). A stage ``declared`` to work scene by scene (pictures, faces,
    text) is, once its runs' scene counts tell its fixed part from its part per scene (see
    ``_cost`` for before); another stage when its cost follows the scenes more closely than
    the length."""
    warm = [t for t in runs if not t.cold] or list(runs)
    if any(t.scenes <= 0 for t in warm):
        return False
    if declared:
        return _told_apart([t.scenes for t in warm])
    if len(warm) < 2:
        return False
    by_scene = _spread([t.seconds / t.scenes for t in warm])
    return by_scene < _spread([t.seconds / t.duration for t in warm])


# Of the newest cold runs, how many the loading is taken from (their lower median): loading
# gets cheaper as an installation's caches fill (numba's compiled kernels, models on disk),
# and its first run may pay a one-time cost (kernels compiled into an empty cache) that later
# first runs in a process never pay again.
LOADS = 3


def _cost(runs: Sequence[Timed], follows: str = "", like: bool | None = None) -> StageCost:
    """The stage's cost from its ``runs``. A stage declared to work scene by scene whose runs
    all had about as many scenes cannot tell a cost per run from a cost per scene: a film of
    one scene would price every scene of a film of 36 at its whole cost, a film of 36 scenes
    a one-scene film at its whole cost. Until they can be told apart it is priced in
    proportion to the geometric mean of the length and the scenes, which is off by at most
    the square root of either's error.

    The work is learnt from warm runs on videos ``like`` this one in having sound or not,
    when there are any: on a silent video the sound lane does not run, and the picture
    stages have the cores (and Python's lock) to themselves, about twice as fast as beside
    it. The loading likewise, from first runs on such videos when there are.
    """
    # Speech is the measure where it was found (a history from before it was kept has none).
    by_speech = follows == "speech" and all(t.speech > 0 for t in runs)
    scenes = not by_speech and per_scene(runs, declared=follows == "scenes")
    hedged = follows == "scenes" and not scenes and all(t.scenes > 0 for t in runs)
    shape = StageCost(0.0, 0.0, None, scenes, by_speech, hedged)

    def size(t: Timed) -> float:
        return _size(shape, t.duration, t.scenes, t.speech)

    warm = [(size(t), t.seconds) for t in runs if not t.cold]
    cold = [(size(t), t.seconds) for t in runs if t.cold]
    # On videos like this one (with sound or without), where there are such warm runs; then
    # the loading from first runs on such videos too, where there are (their extra over a
    # fit on the other kind would count the lane beside as loading).
    if alike := [(size(t), t.seconds) for t in runs if not t.cold and t.has_audio == like]:
        warm = alike
        cold = [(size(t), t.seconds) for t in runs if t.cold and t.has_audio == like] or cold
    if not warm:  # only first runs timed: their cost stands for the later ones too
        fixed, per_unit = fit_line(cold)
        return dataclasses.replace(shape, fixed=fixed, per_unit=per_unit, load=0.0)
    fixed, per_unit = fit_line(warm)
    extra = [max(0.0, s - fixed - per_unit * size) for size, s in cold[:LOADS]]  # newest first
    load = statistics.median_low(extra) if extra else None
    ratios = [t.per_cpu for t in runs if not t.cold and t.per_cpu and t.has_audio == like]
    ratios = ratios or [t.per_cpu for t in runs if not t.cold and t.per_cpu]
    per_cpu = statistics.median(ratios) if ratios else None
    shape = dataclasses.replace(shape, profile=_usual_profile(runs, like))
    return dataclasses.replace(shape, fixed=fixed, per_unit=per_unit, load=load, per_cpu=per_cpu)


def _usual_profile(runs: Sequence[Timed], like: bool | None) -> tuple[float, ...] | None:
    """The stage's usual time shares at ``KNOTS`` (the median at each), from its warm runs on
    videos like this one when there are."""
    kept = [t.profile for t in runs if t.profile and not t.cold]
    alike = [t.profile for t in runs if t.profile and not t.cold and t.has_audio == like]
    kept = alike or kept
    if not kept:
        return None
    return tuple(statistics.median(p[k] for p in kept) for k in range(len(KNOTS)))


# A stage's fraction against its time: at each of these fractions, the share of the stage's
# compute time that had passed when it reached it. Its fraction counts the units of its work
# (scenes, batches), which seldom take even time: the ocr stage counts half a scene once its
# lines are found and half once read, and the reading is the quicker half; the transcript
# reports once per batch. Learnt from the stage's earlier runs, it turns a fraction into the
# share of the time done.
KNOTS = (0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9)
PROFILE_SECONDS = 2.0  # a shorter stage reports too seldom to tell its profile


def profile_of(seen: Sequence[tuple[float, float]], seconds: float) -> list[float] | None:
    """A finished stage's time shares at ``KNOTS`` from its reports ``seen``, (seconds into
    the stage, fraction) in order, and its compute ``seconds``: a knot is reached between the
    last report under it and the first at or over it (at the end when none is)."""
    if seconds < PROFILE_SECONDS:
        return None
    out = []
    for knot in KNOTS:
        before, at = 0.0, seconds
        for elapsed, fraction in seen:
            if fraction >= knot:
                at = elapsed
                break
            before = elapsed
        out.append(round(min(1.0, max(0.0, (before + at) / 2 / seconds)), 3))
    return out


def _profile(value: object) -> tuple[float, ...] | None:
    """A profile kept in an analysis's metadata, when it is one."""
    if isinstance(value, list) and len(value) == len(KNOTS):
        return tuple(float(share) for share in value)
    return None


def time_share(profile: Sequence[float] | None, fraction: float) -> float:
    """The share of a stage's time done at ``fraction``, by its ``profile`` (linear between
    its knots; the fraction itself without one)."""
    if not profile:
        return fraction
    xs, ys = [0.0, *KNOTS, 1.0], [0.0]
    for share in [*profile, 1.0]:
        ys.append(max(ys[-1], share))  # time only moves on
    for k in range(1, len(xs)):
        if fraction <= xs[k]:
            span = (fraction - xs[k - 1]) / (xs[k] - xs[k - 1])
            return ys[k - 1] + span * (ys[k] - ys[k - 1])
    return 1.0


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
    return _costs_of(_timings(history, before)[0], names, has_audio, listening, follows)


def _costs_of(
    timings: dict[str, list[Timed]],
    names: Iterable[str],
    has_audio: bool,
    listening: Collection[str],
    follows: dict[str, str] | None,
) -> dict[str, StageCost]:
    """``stage_costs`` from the history's runs (``_timings``)."""
    costs = {}
    for name in names:
        runs = timings.get(name, [])
        if name in listening:
            runs = [t for t in runs if t.has_audio == has_audio]
        if runs:
            costs[name] = _cost(runs, (follows or {}).get(name, ""), like=has_audio)
        elif name in listening and not has_audio:
            costs[name] = StageCost(0.0, 0.0, 0.0)
    return costs


def scenes_per_second(history: int = HISTORY, before: datetime | None = None) -> float:
    """How many scenes a second of video has had here (median; 0.0 without history)."""
    return _timings(history, before)[1].scenes


# --- The time left of a run ------------------------------------------------------------------

# Seconds after which this attempt's earlier work counts half as much for its pace as its
# latest: a machine whose load changes mid-run is followed within a minute or two.
HALF_LIFE = 30.0
WARM_UP = 3.0  # seconds of a stage's latest work before its own pace counts
LIVE_SHARE = 0.2  # share of its work a stage must have done in them
# Seconds of this attempt's latest work on its stages in progress before a time left is given
# (else once it finished a stage).
MEASURED = 5.0


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
    cpu: float | None = None  # its CPU seconds so far (the run's shared among its stages)


@dataclass(frozen=True)
class Work:
    """Work this attempt measured: it took ``seconds`` where the learnt costs said
    ``expected``, around ``at`` seconds into the attempt; it counts for ``weight`` seconds."""

    at: float
    seconds: float
    expected: float
    weight: float

    @property
    def ratio(self) -> float:
        """Log of seconds over expected, within ``PACE_LIMITS``."""
        low, high = PACE_LIMITS
        return min(math.log(high), max(math.log(low), math.log(self.seconds / self.expected)))


class TimeLeft:
    """The time left of one attempt, from the expected seconds of its stages still to do.

    The learnt costs are scaled by the pace this attempt's finished stages showed against
    them, the latest counting most (``HALF_LIFE``, so a change of the machine's load is
    followed); a stage run cold counts for its work's share of its cost only (its loading is
    the least foreseeable part: disk cache, compiled kernels kept or not). A stage in progress
    blends its cost with its own latest pace: since the middle of its time so far, or since
    its first progress when that came later (a stage's first seconds in a fresh process load
    models and compile kernels; a resumed stage may jump over work kept from before). No time
    left is given before this attempt finished a stage or saw ``MEASURED`` seconds of such
    latest work: a fresh process's start is not the run's pace.

    Args:
        stages: the run's stages in pipeline order.
        lanes: each stage's lane (the one it runs on in this run).
        expected: expected seconds of each stage still to do; a stage missing makes the
            time left unknown.
        done: stages finished before this attempt started (a resumed run's).
        reprice: the expected seconds of every stage given the video's scenes and its seconds
            of speech, once they are found (``scenes_known``, ``speech_known``); until then
            they were guessed from its length (None: a guess stands).
        load: of a stage's expected seconds, what loading it in this process costs (its
            first run here).
        per_cpu: wall seconds per CPU second of the stages run warm, as usual in the
            history: a finished stage's CPU time then tells how much busier the machine is
            now, whatever the history's error on its cost.
        profiles: each stage's usual share of its time done at the fractions ``KNOTS``: a
            stage's fraction is read as that share of its time (``time_share``).
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
        load: dict[str, float] | None = None,
        per_cpu: dict[str, float] | None = None,
        profiles: Mapping[str, Sequence[float]] | None = None,
    ) -> None:
        self.stages = list(stages)
        self.per_cpu = per_cpu or {}
        self.lanes = lanes
        self.expected = expected
        self.done = set(done)
        self.reprice = reprice
        self.load = load or {}
        self._scenes = scenes  # the video's, once known
        self._speech = speech
        self._finished: list[Work] = []  # stages this attempt finished
        self._live: dict[str, Work] = {}  # stages in progress: their latest work
        self._seen: dict[str, list[tuple[float, float]]] = {}  # stage -> [(elapsed, fraction)]
        self._now = 0.0
        self._clock = time.perf_counter()
        self.profiles = profiles or {}

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
        for name, seconds in priced.items():
            if name.removesuffix(SAVING) not in self.done:
                self.expected[name] = seconds

    def _saving(self, name: str) -> float:
        """The stage's expected seconds to save its results, after its compute."""
        return self.expected.get(name + SAVING, 0.0)

    def _at(self, at: float | None) -> float:
        return time.perf_counter() - self._clock if at is None else at

    def _work_cost(self, name: str) -> float:
        """The stage's expected seconds without its loading."""
        return max(0.0, self.expected.get(name, 0.0) - self.load.get(name, 0.0))

    def finished(
        self, name: str, seconds: float, at: float | None = None, cpu: float | None = None
    ) -> None:
        """``name`` took ``seconds`` (and ``cpu`` CPU seconds), ending ``at`` seconds into the
        attempt: it is done, and the pace counts it. With its CPU time the pace is the
        machine's: its wall seconds against what that CPU time usually took in the history
        (a stage the history mispriced, by its content, says nothing of how long
        the next ones take); else its wall seconds against its cost."""
        at = self._now = self._at(at)
        self.done.add(name)
        self._live.pop(name, None)
        self._seen.pop(name, None)
        expected, saving = self.expected.get(name, 0.0), self._saving(name)
        if seconds > 0 and name in self.per_cpu and cpu is not None and cpu >= MIN_CPU:
            usual = cpu * self.per_cpu[name] + saving  # ``seconds`` include the saving
            self._finished.append(Work(at - seconds / 2, seconds, usual, seconds))
        elif seconds > 0 and expected > 0:
            weight = seconds * self._work_cost(name) / expected
            self._finished.append(Work(at - seconds / 2, seconds, expected + saving, weight))

    def _latest(self, going: Going) -> tuple[float, float]:
        """(seconds, share of the stage) of its latest work: since the middle of its time so
        far, or since its first progress when that came later (what came before was loading
        or waiting, not work)."""
        seen = self._seen.get(going.name, [])
        middle = max((p for p in seen if p[0] <= going.elapsed / 2), default=(0.0, 0.0))
        first = next((p for p in seen if p[1] > 0), middle)
        since, fraction = max(middle, first)
        return going.elapsed - since, going.fraction - fraction

    def _observe(self, going: Iterable[Going], at: float) -> None:
        """Keep each stage's reports, and its latest work when there is enough of it."""
        for g in going:
            self._seen.setdefault(g.name, [(0.0, 0.0)]).append((g.elapsed, g.fraction))
            worked, share = self._latest(g)
            cost = self._work_cost(g.name)
            if worked >= WARM_UP and share >= LIVE_SHARE and cost > 0:
                self._live[g.name] = Work(at - worked / 2, worked, cost * share, worked)

    def measured(self) -> float:
        """Seconds of work this attempt measured so far."""
        return sum(w.weight for w in [*self._finished, *self._live.values()])

    def pace(self) -> float:
        """Seconds this attempt takes for an expected second: the log ratios of its finished
        stages, weighed by their seconds and by how recent they are, pulled towards the
        history's (1) until ``PRIOR_SECONDS`` were seen. Each ratio counts within
        ``PACE_LIMITS``: one stage the history mispriced badly must not set the pace of all
        the others. (The stages in progress count for their own time left only: their
        fractions move unevenly, a stage's first tenth is seldom a tenth of its time.)"""
        work = self._finished
        weights = [w.weight * 0.5 ** (max(0.0, self._now - w.at) / HALF_LIFE) for w in work]
        recent = sum(weight * w.ratio for weight, w in zip(weights, work, strict=True))
        # The history's pace weighs less as this attempt's work adds up.
        prior = PRIOR_SECONDS**2 / (PRIOR_SECONDS + sum(w.weight for w in work))
        return math.exp(recent / (sum(weights) + prior))

    def seconds(
        self, going: Iterable[Going] = (), at: float | None = None, cpu: float | None = None
    ) -> float | None:
        """Seconds until the last stage ends, ``at`` seconds into the attempt (now when None);
        None when a stage's cost is not known or this attempt has not measured enough work."""
        going = [
            dataclasses.replace(g, fraction=time_share(self.profiles.get(g.name), g.fraction))
            for g in going
        ]
        self._now = self._at(at)
        self._observe(going, self._now)
        if not self.known or not (self._finished or self.measured() >= MEASURED):
            return None
        pace = self.pace()
        left = {g.name: self._left_of(g, pace) for g in going}
        ends: dict[str, float] = {}
        lane_free: dict[str, float] = {}
        for stage in self.stages:
            if stage.name in self.done:
                continue
            lane = self.lanes.get(stage.name, "main")
            start = max([lane_free.get(lane, 0.0), *(ends.get(n, 0.0) for n in stage.needs)])
            whole = (self.expected[stage.name] + self._saving(stage.name)) * pace
            ends[stage.name] = start + left.get(stage.name, whole)
            lane_free[lane] = ends[stage.name]
        # Then the run's end: the result file written, the page told.
        return max(ends.values(), default=0.0) + self.expected.get(FINISH, 0.0) * pace

    def _left_of(self, going: Going, pace: float) -> float:
        """A stage in progress: what its cost leaves, blended with what its own latest pace
        leaves as its fraction grows (sooner once it has run past its cost). A stage that has
        run (nearly) as long as its cost is not done yet: it is taken to need a share of the
        time it has run (stages that report seldom, such as the transcript's batches, would
        otherwise be 0 s from done for as long as they overrun)."""
        expected = self.expected[going.name] * pace
        saving = self._saving(going.name) * pace  # after its compute, which its fraction counts
        from_cost = max(expected - going.elapsed, OVERRUN * going.elapsed)
        worked, share = self._latest(going)
        if going.fraction <= 0.0 or worked <= 0 or share <= 0:
            return from_cost + saving
        from_pace = worked * (1.0 - going.fraction) / share
        trust = going.fraction if going.elapsed <= expected else max(going.fraction, 0.5)
        return trust * from_pace + (1.0 - trust) * from_cost + saving


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
    timings, rates = _timings(history, before)  # one read of the history for both
    costs = _costs_of(timings, names, has_audio, listening, follows)
    # Each stage's saving, priced as the stage is (its rows grow with what the stage found).
    saves = [name + SAVING for name in names]
    save_follows = {name + SAVING: follows[name] for name in names}
    costs |= _costs_of(timings, saves, has_audio, {n + SAVING for n in listening}, save_follows)
    if timings.get(FINISH):  # the run's end, after its last stage: grows with the scenes
        costs[FINISH] = _cost(timings[FINISH], "scenes", like=has_audio)

    def price(count: float | None, talk: float | None) -> dict[str, float]:
        count = rates.scenes * duration if count is None else count
        talk = rates.speech * duration if talk is None else talk
        expected = {}
        for name in [*names, *saves, FINISH]:
            cost = costs.get(name)
            first = name.removesuffix(SAVING) in cold
            seconds = cost.seconds(duration, first, count, talk) if cost else None
            if seconds is not None:
                expected[name] = seconds
        return expected

    lanes = {s.name: s.lane if together else "main" for s in stages}
    known = None if scenes is None else float(scenes)
    load = {name: cost.load or 0.0 for name, cost in costs.items() if name in cold and cost.load}
    per_cpu = {n: c.per_cpu for n, c in costs.items() if n not in cold and c.per_cpu is not None}
    expected = price(known, speech)
    profiles = {n: c.profile for n, c in costs.items() if c.profile and n in names}
    return TimeLeft(stages, lanes, expected, done, price, known, speech, load, per_cpu, profiles)
