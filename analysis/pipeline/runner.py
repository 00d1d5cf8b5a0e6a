"""Runs an analysis's stages in order, persisting each before the next starts.

Idempotent by construction: the run claims the analysis with a conditional UPDATE, skips stages
already marked done, and each stage replaces its own rows. A worker killed at any point leaves
the analysis ``running`` with the finished stages recorded; the next delivery resumes there.
"""

from __future__ import annotations

import contextlib
import copy
import dataclasses
import logging
import shutil
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import (
    DatabaseError,
    InterfaceError,
    OperationalError,
    connection,
    connections,
    transaction,
)
from django.db.models.functions import Now
from django.utils import timezone

from analysis.conf import setting
from analysis.models import Analysis, AnalysisStatus, Video
from analysis.pipeline import build_pipeline, lease
from analysis.pipeline.base import Cancelled, ProgressFn, Stage, StageContext, StageError
from analysis.pipeline.framepass import plan_pictures
from analysis.pipeline.lanes import MAIN, Schedule, preload_imports, run_lanes, split_lanes
from analysis.pipeline.stages.common import RESCENE_FAILED_KEY, RESCENE_KEY, scene_scope
from analysis.pipeline.usage import CpuLedger
from analysis.progress import analysis_publish, stage_weights
from analysis.stagecosts import Going, TimeLeft, plan_run, profile_of, speech_seconds
from mediakit.probe import MediaError
from mediakit.threads import prefer_passive_waits
from videoanalyzer.progress import ProgressThrottle

logger = logging.getLogger(__name__)
REPORT_INTERVAL_SECONDS = 0.5
TRANSIENT_ERRORS = (OperationalError, InterfaceError)
Listener = Callable[[Analysis], None]


def analysis_execute(*, analysis_id: Any, listener: Listener | None = None) -> Analysis | None:
    """Run (or resume) the analysis; returns it, or None if it is not waiting to run.

    Args:
        analysis_id: the Analysis to run.
        listener: called with the analysis after each saved progress report (the CLI's bar).
    """
    owner = lease.new_owner()
    analysis = lease.claim(analysis_id, owner)
    if analysis is None:
        return None
    try:
        with lease.Heartbeat(analysis.pk, owner):
            _execute(analysis, owner, listener)
    finally:
        lease.release(analysis.pk, owner)  # best effort: an expired lease frees it anyway
    analysis.refresh_from_db()
    return analysis


def _execute(analysis: Analysis, owner: str, listener: Listener | None) -> None:
    prefer_passive_waits()  # before the stages' first torch or CTranslate2 import
    stages = build_pipeline(analysis.parameters.get("stages"))
    schedule = Schedule(stages, analysis.completed_stages)
    # A partial re-run's bar spans the stages it redoes, not the whole pipeline.
    todo = [s for s in stages if s.name not in analysis.completed_stages]
    shown = todo if _prefix(analysis.metadata) else stages
    ledger = CpuLedger(analysis.metadata.get(_prefix(analysis.metadata) + "usage"))
    reporter = ProgressReporter(analysis, shown, listener, owner, schedule, ledger)
    try:
        with _workdir(analysis) as workdir, video_local_path(analysis.video, workdir) as path:
            ctx = StageContext(analysis, path, workdir, reporter.report, dict(analysis.parameters))
            ctx.pictures = plan_pictures(stages, ctx)  # once, for every stage of the run
            lanes = split_lanes(stages, together=lanes_allowed())
            preload_imports(split_lanes(todo, together=lanes_allowed()))

            def run(lane: str) -> None:
                _run_lane(lane, lanes[lane], lane_context(ctx, lane, reporter), reporter, ledger)

            run_lanes(lanes, run)
            if schedule.failure is not None:
                raise schedule.failure
        _complete(analysis, owner, ledger, reporter)
        shutil.rmtree(_workdir_path(analysis), ignore_errors=True)
    except Cancelled:
        logger.info("analysis %s cancelled during %s", analysis.id, schedule.failed_stage)
    except (StageError, MediaError) as exc:
        _fail(analysis, owner, str(exc))
    except TRANSIENT_ERRORS:
        # The database is away: finished stages are kept; once the lease runs out, recovery
        # sends the job again.
        raise
    except Exception as exc:
        current = schedule.failed_stage
        logger.exception("analysis %s failed in stage %s", analysis.id, current)
        reason = f"Internal error in stage '{current}': {exc.__class__.__name__}: {exc}"
        _fail(analysis, owner, reason)


def lanes_allowed() -> bool:
    """Whether the lanes may run side by side. Not inside a transaction (a test's): the other
    lanes' database connections would not see its rows."""
    return bool(setting("ANALYSIS_LANES")) and not connection.in_atomic_block


def lane_context(ctx: StageContext, lane: str, reporter: ProgressReporter) -> StageContext:
    """The lane's own context: its progress reports, and its own copy of the analysis row
    (stages change ``ctx.analysis.metadata``)."""
    if lane == MAIN:
        ctx.report = reporter.lane_report(MAIN)
        return ctx
    own = Analysis.objects.select_related("video").get(pk=ctx.analysis.pk)
    return dataclasses.replace(ctx, analysis=own, report=reporter.lane_report(lane))


def _run_lane(
    lane: str,
    stages: list[Stage[Any]],
    ctx: StageContext,
    reporter: ProgressReporter,
    ledger: CpuLedger,
) -> None:
    """Run the lane's stages in order, each once the stages it needs are done; a failure is
    handed to the schedule (the run raises the first one)."""
    schedule = reporter.schedule
    stage: Stage[Any] | None = None
    try:
        for stage in stages:
            schedule.wait_for(stage)
            _run_stage(stage, lane, ctx, reporter, ledger)
            schedule.mark_done(stage.name)
    except BaseException as exc:  # a killed worker's too: the main thread raises it
        schedule.fail(exc, stage.name if stage else "")
    finally:
        if lane != MAIN:
            connections.close_all()  # this thread's own: Django opened them for the lane


def _run_stage(
    stage: Stage[Any], lane: str, ctx: StageContext, reporter: ProgressReporter, ledger: CpuLedger
) -> None:
    analysis = ctx.analysis
    if stage.name in analysis.completed_stages:
        return
    reporter.begin(stage, lane)
    before = copy.deepcopy(analysis.metadata)
    started = time.perf_counter()
    ledger.start(stage.name)
    try:
        result = stage.compute(ctx)
        reporter.hold(lane)  # a stage that never paused on a report pauses before its persist
    finally:
        cpu = ledger.finish(stage.name)
    computed = time.perf_counter()
    seconds = round(computed - started, 3)
    cold = stage.name not in _warm
    _warm.add(stage.name)
    with transaction.atomic():
        # Lock the row: a cancel that arrived meanwhile wins, and nothing more is written.
        locked = Analysis.objects.select_for_update().get(pk=analysis.pk)
        if locked.status != AnalysisStatus.RUNNING or locked.lease_owner != reporter.owner:
            raise Cancelled()
        stage.persist(ctx, result)
        # As the stage's persist left it (some save facts on the row themselves), plus what
        # the stage changed in ctx.analysis (not the rest: another lane may have saved newer
        # values meanwhile).
        locked.refresh_from_db(fields=["metadata"])
        locked.metadata = {**locked.metadata, **changed(before, analysis.metadata)}
        locked.completed_stages = [*locked.completed_stages, stage.name]
        prefix = _prefix(locked.metadata)
        locked.metadata.setdefault(f"{prefix}stage_seconds", {})[stage.name] = seconds
        if cold:  # its time includes loading models: weighed apart (analysis.progress)
            key = f"{prefix}cold_stages"
            locked.metadata[key] = [*locked.metadata.get(key, []), stage.name]
        locked.metadata.setdefault(f"{prefix}stage_cpu_seconds", {})[stage.name] = cpu
        if (profile := reporter.profile(lane, seconds)) is not None:
            locked.metadata.setdefault(f"{prefix}stage_profiles", {})[stage.name] = profile
        locked.metadata[f"{prefix}usage"] = ledger.usage()
        locked.save(update_fields=["completed_stages", "metadata", "updated_at"])
    analysis.completed_stages = locked.completed_stages
    analysis.metadata = locked.metadata
    reporter.saved(stage.name, computed)
    reporter.finish(stage, lane, cpu)


def changed(before: dict[str, Any], after: dict[str, Any]) -> dict[str, Any]:
    """The top-level entries of ``after`` that are new or differ from ``before``."""
    return {key: value for key, value in after.items() if before.get(key, _MISSING) != value}


_MISSING = object()
_paused: set[str] = set()
# Stages that have run in this process: a stage's first run also loads its models and compiles
# its kernels, which its later runs skip.
_warm: set[str] = set()


def pauses_in(stage: Stage[Any] | None) -> bool:
    """Whether fault injection holds the worker still in ``stage`` (once, on its next report)."""
    return (
        stage is not None
        and stage.name == setting("FAULT_PAUSE_STAGE")
        and stage.name not in _paused
    )


def fault_pause(stage: Stage[Any] | None) -> None:
    """Fault injection for the crash tests: hold still once, mid-stage, so a kill lands there.

    Off unless ``FAULT_PAUSE_STAGE`` names the stage (set only on the worker a test kills).
    """
    if stage is None or not pauses_in(stage):
        return
    _paused.add(stage.name)
    logger.warning(
        "fault injection: pausing %.0f s in stage %s", setting("FAULT_PAUSE_SECONDS"), stage.name
    )
    time.sleep(setting("FAULT_PAUSE_SECONDS"))


class ProgressReporter:
    """Turns the stages' fractions into overall progress, saves it, publishes it, checks for
    cancel. Stages of several lanes may report at once: each has its fraction and message, the
    bar counts them all, the message shows the main lane's with the others' progress after it."""

    def __init__(
        self,
        analysis: Analysis,
        stages: list[Stage[Any]],
        listener: Listener | None,
        owner: str,
        schedule: Schedule,
        ledger: CpuLedger | None = None,
    ) -> None:
        self.analysis = analysis
        self.ledger = ledger  # the CPU time the run gets now tells how fast it goes
        self.listener = listener
        self.owner = owner
        self.stages = stages
        self.schedule = schedule
        cold = [s.name for s in stages if s.name not in _warm]
        self.time_left = _plan(analysis, stages, cold)
        expected = self.time_left.expected
        # The bar keeps time: each stage's share is its expected seconds in this run, else
        # its measured cost per second of video.
        known = all(s.name in expected for s in stages)
        self.weights = dict(expected) if known else stage_weights(stages, cold=cold)
        # The time spent on kept work: earlier attempts' (up to their last finished stage) and
        # this one's (analysis.progress.eta_seconds).
        earlier = analysis.metadata.get(f"{_prefix(analysis.metadata)}usage", {})
        self.worked_before = float(earlier.get("wall_seconds", 0.0))
        self.started = time.perf_counter()
        self.total = sum(self.weights.values()) or 1.0
        self.done = set(analysis.completed_stages)
        self.running: dict[str, Lane] = {}  # lane name -> its stage now
        self.throttle = ProgressThrottle(interval=REPORT_INTERVAL_SECONDS)
        self._lock = threading.RLock()
        # Seconds each stage took to save its results (after its compute), and when the last
        # one saved: the time a run takes beyond its stages' compute (``_complete``).
        self.save_seconds: dict[str, float] = {}
        self.last_saved: float | None = None

    def saved(self, name: str, computed: float) -> None:
        """The stage ``name`` whose compute ended at ``computed`` (``perf_counter``) has saved
        its results."""
        with self._lock:
            self.last_saved = time.perf_counter()
            self.save_seconds[name] = round(self.last_saved - computed, 3)

    def profile(self, lane: str, seconds: float) -> list[float] | None:
        """The time shares of the lane's stage, which computed for ``seconds``, at its
        fractions' knots (``analysis.stagecosts.profile_of``), from its saved reports."""
        going = self.running.get(lane)
        return None if going is None else profile_of(going.seen, seconds)

    def lane_report(self, lane: str) -> ProgressFn:
        """The ``ctx.report`` of the lane's stages."""

        def report(fraction: float, message: str = "") -> None:
            self.report(fraction, message, lane=lane)

        return report

    def begin(self, stage: Stage[Any], lane: str) -> None:
        with self._lock:
            self.running[lane] = Lane(stage)
        self.report(0.0, stage.label, force=True, lane=lane)
        self.running[lane].in_stage = True  # reports from now on come from inside the stage

    def finish(self, stage: Stage[Any], lane: str, cpu: float | None = None) -> None:
        with self._lock:
            self.done.add(stage.name)
            going = self.running.pop(lane, None)
            if going is not None:
                seconds = time.perf_counter() - going.started
                self.time_left.finished(stage.name, seconds, cpu=cpu)
            if stage.name == "shots":  # the stages after it are priced by the scenes found
                self.time_left.scenes_known(self.analysis.scenes.count())
            if stage.name == "audio":  # ... and the transcript by the speech found
                self.time_left.speech_known(speech_seconds(self.analysis))

    def report(
        self, fraction: float, message: str = "", force: bool = False, lane: str = MAIN
    ) -> None:
        self.schedule.check()  # another lane failed: stop this one
        with self._lock:
            current = self.running.get(lane)
            if current is not None:
                current.fraction = max(0.0, min(1.0, fraction))
                current.message = message or current.stage.label
            # A report the throttle would skip still holds the stage (fault injection).
            holds = current is not None and current.in_stage and pauses_in(current.stage)
            if not self.throttle.due(force) and not holds:
                return
            self._save(current)
        # Outside the lock: a pause or a slow listener must not hold up the other lanes.
        if holds:
            self.hold(lane)
        if self.listener:
            self.listener(self.analysis)

    def hold(self, lane: str) -> None:
        """The fault pause (crash tests only: off unless ``FAULT_PAUSE_STAGE`` names the lane's
        stage, and once), with the row naming the held stage whichever lane it is on: the crash
        tests wait for that name, and the other lane's reports must not hide it."""
        current = self.running.get(lane)
        if current is None or not pauses_in(current.stage):
            return
        with self._lock:
            current.held = True
            self._save(current)
        try:
            fault_pause(current.stage)
        finally:
            current.held = False

    def _progress(self) -> float:
        done = sum(self.weights[s.name] for s in self.stages if s.name in self.done)
        going = sum(self.weights.get(c.stage.name, 0.0) * c.fraction for c in self.running.values())
        return min(0.999, (done + going) / self.total)

    def _text(self, current: Lane | None) -> tuple[str, str]:
        """(stage name, message) to show: the main lane's first, then the others'."""
        lanes = sorted(self.running.items(), key=lambda item: (not item[1].held, item[0] != MAIN))
        if not lanes:
            return ("", current.message if current else "")
        first = lanes[0][1]
        others = [f"{c.stage.label} {c.fraction:.0%}" for _lane, c in lanes[1:]]
        return first.stage.name, " · ".join([first.message, *others])[:500]

    def _time_left(self) -> float | None:
        now = time.perf_counter()
        cpu, spent = self.ledger.so_far() if self.ledger else (None, {})
        going = [
            Going(c.stage.name, c.fraction, now - c.started, spent.get(c.stage.name))
            for c in self.running.values()
        ]
        left = self.time_left.seconds(going, cpu=cpu)
        return None if left is None else round(left, 1)

    def _save(self, current: Lane | None) -> None:
        now = time.perf_counter()
        for lane in self.running.values():  # what the time left is given (``_time_left``)
            lane.seen.append((now - lane.started, lane.fraction))
        raw = self._progress()
        worked = round(self.worked_before + time.perf_counter() - self.started, 3)
        # Rounded and never lower than before: the bar only moves forward.
        progress = max(self.analysis.progress, round(raw, 4))
        stage, text = self._text(current)
        left = self._time_left()
        # The conditional UPDATE doubles as the cancellation check: no row, no longer running.
        mine = {"pk": self.analysis.pk, "status": AnalysisStatus.RUNNING, "lease_owner": self.owner}
        updated = Analysis.objects.filter(**mine).update(
            progress=progress,
            work_seconds=worked,
            work_done=raw,
            time_left_seconds=left,
            message=text,
            current_stage=stage,
            updated_at=Now(),
        )
        if not updated:
            raise Cancelled()
        self.analysis.progress, self.analysis.message = progress, text
        self.analysis.work_seconds, self.analysis.work_done = worked, raw
        self.analysis.time_left_seconds = left
        self.analysis.current_stage = stage
        self.analysis.updated_at = timezone.now()
        analysis_publish(self.analysis)


@dataclass
class Lane:
    """What a lane is doing: its stage and how far it got."""

    stage: Stage[Any]
    fraction: float = 0.0
    message: str = ""
    in_stage: bool = False
    started: float = field(default_factory=time.perf_counter)
    held: bool = False  # by fault injection (crash tests): the row names this lane's stage
    seen: list[tuple[float, float]] = field(default_factory=list)  # (seconds in, fraction)


def _complete(
    analysis: Analysis, owner: str, ledger: CpuLedger, reporter: ProgressReporter
) -> None:
    from analysis.selectors import analysis_result, analysis_result_write

    with transaction.atomic():
        locked = Analysis.objects.select_for_update().get(pk=analysis.pk)
        if locked.status != AnalysisStatus.RUNNING or locked.lease_owner != owner:
            raise Cancelled()
        prefix = _prefix(locked.metadata)
        locked.metadata = {**locked.metadata, f"{prefix}usage": ledger.usage()}
        saves = {**locked.metadata.get(f"{prefix}stage_save_seconds", {}), **reporter.save_seconds}
        locked.metadata[f"{prefix}stage_save_seconds"] = saves
        if not prefix:
            # Wall time of the run (stages of different lanes overlap, so not their sum).
            locked.analysis_time_seconds = locked.metadata["usage"]["wall_seconds"]
        locked.status = AnalysisStatus.COMPLETED
        locked.progress = 1.0
        locked.message = "Analysis complete"
        locked.finished_at = timezone.now()
        locked.metadata.pop(RESCENE_KEY, None)  # a partial re-run's scope ends with it
        locked.save()
    analysis_result_write(locked, analysis_result(locked))
    analysis_publish(locked)
    _kept_finish_seconds(locked, prefix, reporter.last_saved)


def _kept_finish_seconds(analysis: Analysis, prefix: str, saved: float | None) -> None:
    """Keep the seconds from the last stage's results saved to the run shown complete (the
    result file written, the page told): the time left must count them
    (``analysis.stagecosts``), and only then are they known."""
    if saved is None:  # every stage was done before this attempt
        return
    analysis.metadata[f"{prefix}finish_seconds"] = round(time.perf_counter() - saved, 3)
    done = {"pk": analysis.pk, "status": AnalysisStatus.COMPLETED}
    Analysis.objects.filter(**done, finished_at=analysis.finished_at).update(
        metadata=analysis.metadata
    )


def _plan(analysis: Analysis, stages: list[Stage[Any]], cold: list[str]) -> TimeLeft:
    """The run's time left from the stages' learnt costs. A partial re-run's stages redo the
    scenes of a cut edit only: they are priced as a video of those scenes would be."""
    video, done = analysis.video, analysis.completed_stages
    duration, scenes = float(video.duration or 0.0), None
    speech = speech_seconds(analysis) if "audio" in done else None
    if "shots" in done:
        touched = analysis.scenes.all()
        if (scope := scene_scope(analysis)) is not None:
            touched = touched.filter(pk__in=scope)
        spans = list(touched.values_list("start_time", "end_time"))
        scenes = len(spans)
        if scope is not None:
            duration = sum(end - start for start, end in spans)
            speech = speech and speech * duration / float(video.duration or duration or 1.0)
    return plan_run(
        stages,
        duration=duration,
        has_audio=video.has_audio,
        cold=cold,
        done=done,
        together=lanes_allowed(),
        scenes=scenes,
        speech=speech,
    )


def _prefix(metadata: dict[str, Any]) -> str:
    """Where a run's timings go: a partial re-run's (after a cut edit) apart from the full
    run's, which the stage weights and the time-left estimate learn from."""
    return "rescene_" if RESCENE_KEY in metadata else ""


def _fail(analysis: Analysis, owner: str, reason: str) -> None:
    if _prefix(analysis.metadata):
        _fail_partial(analysis, owner, reason)
        return
    with contextlib.suppress(DatabaseError):
        mine = {"pk": analysis.pk, "status": AnalysisStatus.RUNNING, "lease_owner": owner}
        Analysis.objects.filter(**mine).update(
            status=AnalysisStatus.FAILED,
            error=reason[:5000],
            message="Analysis failed",
            finished_at=Now(),
            updated_at=Now(),
        )
        analysis.refresh_from_db()
        analysis_publish(analysis)
    shutil.rmtree(_workdir_path(analysis), ignore_errors=True)


def _fail_partial(analysis: Analysis, owner: str, reason: str) -> None:
    """A partial re-run (after a cut edit) that fails leaves the analysis completed with what
    it had; ``metadata[RESCENE_FAILED_KEY]`` keeps the failure and the scenes, for a retry."""
    with contextlib.suppress(DatabaseError), transaction.atomic():
        locked = Analysis.objects.select_for_update().get(pk=analysis.pk)
        if locked.status != AnalysisStatus.RUNNING or locked.lease_owner != owner:
            return
        scope = locked.metadata.pop(RESCENE_KEY, None) or {}
        locked.metadata[RESCENE_FAILED_KEY] = {**scope, "error": reason[:5000]}
        locked.status = AnalysisStatus.COMPLETED
        locked.progress = 1.0
        locked.message = "The re-run of the edited scenes failed"
        locked.finished_at = timezone.now()
        locked.save()
        transaction.on_commit(lambda: analysis_publish(locked))
    shutil.rmtree(_workdir_path(analysis), ignore_errors=True)


def _workdir_path(analysis: Analysis) -> Path:
    return Path(settings.VAR_DIR) / "work" / str(analysis.id)


@contextlib.contextmanager
def _workdir(analysis: Analysis) -> Iterator[Path]:
    """Scratch space kept across resumes (caches such as decoded audio live here)."""
    path = _workdir_path(analysis)
    path.mkdir(parents=True, exist_ok=True)
    yield path


@contextlib.contextmanager
def video_local_path(video: Video, workdir: Path) -> Iterator[Path]:
    """A local file for the video: the stored file itself, or a download from remote storage."""
    try:
        local: Path | None = Path(video.file.path)
    except NotImplementedError:
        local = None
    if local is not None:
        if not local.exists():
            raise MediaError("The video file is missing from storage.")
        yield local
        return
    target = workdir / f"source{video.extension}"
    if not target.exists():
        partial = target.with_suffix(".part")
        with video.file.open("rb") as src, partial.open("wb") as dst:
            shutil.copyfileobj(src, dst, 1 << 20)
        partial.rename(target)
    yield target
