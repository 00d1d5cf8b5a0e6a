"""Runs an analysis's stages in order, persisting each before the next starts.

Idempotent by construction: the run claims the analysis with a conditional UPDATE, skips stages
already marked done, and each stage replaces its own rows. A worker killed at any point leaves
the analysis ``running`` with the finished stages recorded; the next delivery resumes there.
"""

from __future__ import annotations

import contextlib
import logging
import shutil
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import DatabaseError, InterfaceError, OperationalError, transaction
from django.db.models.functions import Now
from django.utils import timezone

from analysis.conf import setting
from analysis.models import Analysis, AnalysisStatus, Video
from analysis.pipeline import build_pipeline, lease
from analysis.pipeline.base import Cancelled, Stage, StageContext, StageError
from analysis.pipeline.framepass import plan_pictures
from analysis.pipeline.stages.common import RESCENE_KEY
from analysis.pipeline.usage import CpuLedger
from analysis.progress import analysis_publish, stage_weights
from mediakit.probe import MediaError
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
    stages = build_pipeline(analysis.parameters.get("stages"))
    # A partial re-run's bar spans the stages it redoes, not the whole pipeline.
    todo = [s for s in stages if s.name not in analysis.completed_stages]
    reporter = ProgressReporter(
        analysis, todo if _prefix(analysis.metadata) else stages, listener, owner
    )
    ledger = CpuLedger(analysis.metadata.get(_prefix(analysis.metadata) + "usage"))
    current = ""
    try:
        with _workdir(analysis) as workdir, video_local_path(analysis.video, workdir) as path:
            ctx = StageContext(analysis, path, workdir, reporter.report, dict(analysis.parameters))
            ctx.pictures = plan_pictures(stages, ctx)  # once, for every stage of the run
            for stage in stages:
                current = stage.name
                _run_stage(stage, ctx, reporter, ledger)
        _complete(analysis, owner, ledger)
        shutil.rmtree(_workdir_path(analysis), ignore_errors=True)
    except Cancelled:
        logger.info("analysis %s cancelled during %s", analysis.id, current)
    except (StageError, MediaError) as exc:
        _fail(analysis, owner, str(exc))
    except TRANSIENT_ERRORS:
        # The database is away: finished stages are kept; once the lease runs out, recovery
        # sends the job again.
        raise
    except Exception as exc:
        logger.exception("analysis %s failed in stage %s", analysis.id, current)
        reason = f"Internal error in stage '{current}': {exc.__class__.__name__}: {exc}"
        _fail(analysis, owner, reason)


def _run_stage(
    stage: Stage[Any], ctx: StageContext, reporter: ProgressReporter, ledger: CpuLedger
) -> None:
    analysis = ctx.analysis
    if stage.name in analysis.completed_stages:
        return
    reporter.begin(stage)
    started = time.perf_counter()
    ledger.start(stage.name)
    try:
        result = stage.compute(ctx)
        fault_pause(stage)  # a stage that never reported pauses between compute and persist
    finally:
        cpu = ledger.finish(stage.name)
    seconds = round(time.perf_counter() - started, 3)
    cold = stage.name not in _warm
    _warm.add(stage.name)
    with transaction.atomic():
        # Lock the row: a cancel that arrived meanwhile wins, and nothing more is written.
        locked = Analysis.objects.select_for_update().get(pk=analysis.pk)
        if locked.status != AnalysisStatus.RUNNING or locked.lease_owner != reporter.owner:
            raise Cancelled()
        stage.persist(ctx, result)
        locked.completed_stages = [*locked.completed_stages, stage.name]
        locked.metadata = {**locked.metadata, **analysis.metadata}
        prefix = _prefix(locked.metadata)
        locked.metadata.setdefault(f"{prefix}stage_seconds", {})[stage.name] = seconds
        if cold:  # its time includes loading models: weighed apart (analysis.progress)
            key = f"{prefix}cold_stages"
            locked.metadata[key] = [*locked.metadata.get(key, []), stage.name]
        locked.metadata.setdefault(f"{prefix}stage_cpu_seconds", {})[stage.name] = cpu
        locked.metadata[f"{prefix}usage"] = ledger.usage()
        locked.save(update_fields=["completed_stages", "metadata", "updated_at"])
    analysis.completed_stages = locked.completed_stages
    analysis.metadata = locked.metadata


_paused: set[str] = set()
# Stages that have run in this process: a stage's first run also loads its models and compiles
# its kernels, which its later runs skip.
_warm: set[str] = set()


def fault_pause(stage: Stage[Any] | None) -> None:
    """Fault injection for the crash tests: hold still once, mid-stage, so a kill lands there.

    Off unless ``FAULT_PAUSE_STAGE`` names the stage (set only on the worker a test kills).
    """
    if stage is None or stage.name != setting("FAULT_PAUSE_STAGE") or stage.name in _paused:
        return
    _paused.add(stage.name)
    logger.warning(
        "fault injection: pausing %.0f s in stage %s", setting("FAULT_PAUSE_SECONDS"), stage.name
    )
    time.sleep(setting("FAULT_PAUSE_SECONDS"))


class ProgressReporter:
    """Turns a stage's fraction into overall progress, saves it, publishes it, checks for cancel."""

    def __init__(
        self, analysis: Analysis, stages: list[Stage[Any]], listener: Listener | None, owner: str
    ) -> None:
        self.analysis = analysis
        self.listener = listener
        self.owner = owner
        self.stages = stages
        cold = [s.name for s in stages if s.name not in _warm]
        self.weights = stage_weights(stages, cold=cold)  # measured costs: the bar keeps time
        # The time spent on kept work: earlier attempts' (up to their last finished stage) and
        # this one's (analysis.progress.eta_seconds).
        earlier = analysis.metadata.get(f"{_prefix(analysis.metadata)}usage", {})
        self.worked_before = float(earlier.get("wall_seconds", 0.0))
        self.started = time.perf_counter()
        self.total = sum(self.weights.values()) or 1.0
        self.stage: Stage[Any] | None = None
        self.in_stage = False
        self.throttle = ProgressThrottle(interval=REPORT_INTERVAL_SECONDS)

    def begin(self, stage: Stage[Any]) -> None:
        self.stage = stage
        self.report(0.0, stage.label, force=True)
        self.in_stage = True  # reports from now on come from inside the stage

    def _base(self) -> float:
        finished = self.analysis.completed_stages
        return sum(self.weights[s.name] for s in self.stages if s.name in finished) / self.total

    def report(self, fraction: float, message: str = "", force: bool = False) -> None:
        if not self.throttle.due(force):
            return
        stage = self.stage
        weight = self.weights[stage.name] if stage else 0.0
        raw = min(0.999, self._base() + weight * max(0.0, min(1.0, fraction)) / self.total)
        worked = round(self.worked_before + time.perf_counter() - self.started, 3)
        # Rounded and never lower than before: the bar only moves forward.
        progress = max(self.analysis.progress, round(raw, 4))
        text = (message or (stage.label if stage else ""))[:500]
        # The conditional UPDATE doubles as the cancellation check: no row, no longer running.
        mine = {"pk": self.analysis.pk, "status": AnalysisStatus.RUNNING, "lease_owner": self.owner}
        updated = Analysis.objects.filter(**mine).update(
            progress=progress,
            work_seconds=worked,
            work_done=raw,
            message=text,
            current_stage=stage.name if stage else "",
            updated_at=Now(),
        )
        if not updated:
            raise Cancelled()
        self.analysis.progress, self.analysis.message = progress, text
        self.analysis.work_seconds, self.analysis.work_done = worked, raw
        self.analysis.current_stage = stage.name if stage else ""
        self.analysis.updated_at = timezone.now()
        analysis_publish(self.analysis)
        if self.in_stage:
            fault_pause(stage)
        if self.listener:
            self.listener(self.analysis)


def _complete(analysis: Analysis, owner: str, ledger: CpuLedger) -> None:
    from analysis.selectors import analysis_result, analysis_result_write

    with transaction.atomic():
        locked = Analysis.objects.select_for_update().get(pk=analysis.pk)
        if locked.status != AnalysisStatus.RUNNING or locked.lease_owner != owner:
            raise Cancelled()
        prefix = _prefix(locked.metadata)
        locked.metadata = {**locked.metadata, f"{prefix}usage": ledger.usage()}
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


def _prefix(metadata: dict[str, Any]) -> str:
    """Where a run's timings go: a partial re-run's (after a cut edit) apart from the full
    run's, which the stage weights and the time-left estimate learn from."""
    return "rescene_" if RESCENE_KEY in metadata else ""


def _fail(analysis: Analysis, owner: str, reason: str) -> None:
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
