"""How close the time-left estimate of the progress bar is to the truth, on real analyses.

    python -m bench.progress_eta          # about 35 minutes on 2 loaded cores
    python -m bench.progress_eta --replay var/bench_progress_eta.json   # today's estimator
    python -m bench.progress_eta --score var/bench_progress_eta.json    # as shown then
    python -m bench.progress_eta --isolate=-15 --videos=...   # the analyses nearly alone

``--isolate=N``: each video's process in a session of its own (``setsid``) whose scheduler
group (``/proc/self/autogroup``, with ``sched_autogroup_enabled`` = 1 the kernel shares the
cores among sessions first) gets nice N: with N = -15 it weighs 28 times a session at 0, so
the analysis gets the cores nearly alone however many other sessions are busy, as a worker on
a machine of its own would (root only). Each run keeps the CPU seconds it got and the load.

Every video is analysed in a process of its own, twice: first cold (the process's first
analysis: models loaded, kernels compiled, as a worker's first job or ``manage.py analyze``),
then warm. The time left the page would show (``analysis.progress.eta_seconds``) is compared
with the time really left at ``POINTS`` even instants of each run from a tenth of its time on
(see "How the estimates are scored" below: an instant without an estimate is a miss). The
costs are learnt from the analyses finished before in the bench's database, as an
installation learns them: a priming process analyses one film first, so the first
measured video has one cold and one warm run to go on, the last has all the others'. Use a
database of its own (``DATABASE_URL``): earlier analyses in it are learnt from too.
"""

from __future__ import annotations

import json
import os
import resource
import statistics
import subprocess
import sys
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from bench.common import load_average, markdown_table, require_media, setup_django, write_section

PRIMING = "story/story_dev_01.mp4"
VIDEOS = [
    "story/story_dev_02.mp4",
    "av/sonnet1_av_with_subs.mp4",
    "shots/testvideo.mp4",
    "shots/spliced_s1_01.mp4",
    "story/story_dev_01.mp4",
]
# ``--videos a.mp4,b.mp4``: these instead (paths under the shared media, or absolute).
# ``--hog``: a third run per video, warm, with CPU hogs started once half the work is done (the
# machine's speed changes mid-run, as when another job starts beside the worker).
HOG_FROM = 0.5
HOGS = 2  # one busy process per core
ETA_FROM = 0.1
WITHIN = 0.2
TAIL = 0.1  # the last tenth of a run's time: a few seconds off there is a large share
# An estimate counts as right within ±20 % or within this many seconds, whichever is more: in
# the last seconds (saving the results after the last stage) a second is a large share, and
# the page says "less than a minute left" below 45 s anyway.
SLACK_SECONDS = 5.0
SECTION = os.environ.get("PROGRESS_ETA_SECTION", "progress_eta")  # a second run beside the first
# Every report of every run, to look into and to replay.
RAW = Path(os.environ.get("PROGRESS_ETA_RAW", "var/bench_progress_eta.json"))


@dataclass
class Report:
    at: float  # seconds since the analysis started
    done: float  # share of the work (work_done)
    eta: float | None  # the app's estimate
    stage: str = ""  # the stage shown then (to tell where an estimate goes wrong)
    # (stage, fraction, seconds, its CPU seconds) of the stages in progress
    going: list[tuple[Any, ...]] = field(default_factory=list)
    cpu: float | None = None  # the run's CPU seconds so far, as the estimator was given them
    # This process's threads then, {native id: CPU seconds}, and its waited-for children's CPU
    # seconds: to tell each stage's own CPU time apart when replaying (``--isolate`` runs).
    threads: dict[str, float] = field(default_factory=dict)
    children: float | None = None


@dataclass
class Run:
    video: str
    warmth: str
    total: float = 0.0
    reports: list[Report] = field(default_factory=list)
    stage_seconds: dict[str, float] = field(default_factory=dict)
    load: str = ""  # load average at the run's end
    load_start: str = ""  # and at its start
    hog_at: float | None = None  # seconds in when the CPU hogs started (``--hog``)
    # What an estimator is given, to replay the run through another one (``replay``): the
    # analysis, the stages that ran cold, and (at, stage, seconds) as each stage finished.
    analysis: str = ""
    cold: list[str] = field(default_factory=list)
    finished: list[tuple[float, str, float]] = field(default_factory=list)
    cpu: float = 0.0  # CPU seconds the run got (this process's and its children's)
    autogroup: str = ""  # the scheduler group it ran in (``--isolate``)
    stage_threads: dict[str, int] = field(default_factory=dict)  # stage -> its lane's thread
    # Seconds in when the page was told the run is complete (the rest of ``total`` is the
    # worker tidying up: scratch files removed, its lease given back).
    shown_complete: float | None = None


def analyse(path: Path, owner: Any, warmth: str, hog: bool = False) -> Run:
    """Run the default analysis of ``path``, keeping every saved report; ``hog``: start CPU
    hogs once half the work is done, stopped when the run ends."""
    from analysis import services
    from analysis.models import Analysis
    from analysis.pipeline import build_pipeline, runner
    from analysis.pipeline.runner import analysis_execute
    from analysis.pipeline.usage import cpu_seconds
    from analysis.progress import eta_seconds

    video = services.video_create_from_path(owner=owner, path=path)
    analysis = services.analysis_start(video=video, parameters={}, enqueue=False)
    run, started = Run(path.name, warmth, analysis=str(analysis.pk)), time.perf_counter()
    run.load_start = load_average()
    hogs: list[subprocess.Popen[bytes]] = []
    run.cold = sorted({s.name for s in build_pipeline()} - runner._warm)
    given: dict[str, Any] = {"going": [], "cpu": None}
    _spy_on_the_estimator(given, run, started)
    cpu_before = cpu_seconds()

    def listen(a: Analysis) -> None:
        at = time.perf_counter() - started
        eta = eta_seconds(a, now=a.updated_at)
        going = list(given["going"])
        report = Report(at, a.work_done, eta, a.current_stage, going, given["cpu"])
        report.threads, report.children = thread_seconds(), children_seconds()
        run.reports.append(report)
        if hog and not hogs and a.work_done >= HOG_FROM:
            run.hog_at = at
            hogs.extend(_hog() for _ in range(HOGS))

    try:
        done = analysis_execute(analysis_id=analysis.pk, listener=listen)
    finally:
        for process in hogs:  # ours, by their own ids
            process.kill()
            process.wait()
    assert done is not None and done.status == "completed", done and done.error
    run.total = time.perf_counter() - started
    run.cpu = round(cpu_seconds() - cpu_before, 2)
    run.autogroup = _autogroup()
    run.stage_seconds = dict(done.metadata.get("stage_seconds", {}))
    run.load = load_average()
    return run


def thread_seconds() -> dict[str, float]:
    """CPU seconds of each thread of this process, by native id (Linux; {} elsewhere)."""
    tick = os.sysconf("SC_CLK_TCK")
    out = {}
    for task in Path("/proc/self/task").glob("*"):
        try:
            fields = (task / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:  # the thread ended meanwhile
            continue
        out[task.name] = (int(fields[11]) + int(fields[12])) / tick  # utime, stime
    return out


def children_seconds() -> float:
    """CPU seconds of this process's children waited for (ffmpeg, Tesseract)."""
    own = resource.getrusage(resource.RUSAGE_CHILDREN)
    return round(own.ru_utime + own.ru_stime, 3)


def _autogroup() -> str:
    try:
        return Path("/proc/self/autogroup").read_text().strip()
    except OSError:
        return ""


def _hog() -> subprocess.Popen[bytes]:
    """A process that keeps one core busy until killed."""
    return subprocess.Popen([sys.executable, "-c", "while True: pass"])


def _spy_on_the_estimator(given: dict[str, Any], run: Run, started: float) -> None:
    """Keep what the runner's estimator is given: the stages in progress and the run's CPU
    seconds at each report into ``given``, each finished stage into ``run.finished`` (a
    bench's look inside, no test's)."""
    from analysis.pipeline import runner
    from analysis.pipeline.usage import CpuLedger
    from analysis.stagecosts import TimeLeft

    def seconds(
        self: TimeLeft, going: Any = (), at: float | None = None, cpu: float | None = None
    ) -> float | None:
        going = list(going)
        given["going"] = [(g.name, g.fraction, g.elapsed, g.cpu) for g in going]
        given["cpu"] = cpu
        return _original["seconds"](self, going, at, cpu)

    def finished(
        self: TimeLeft, name: str, seconds: float, at: float | None = None, cpu: float | None = None
    ) -> None:
        run.finished.append((time.perf_counter() - started, name, seconds))
        _original["finished"](self, name, seconds, at, cpu)

    def kept(*args: Any) -> None:
        run.shown_complete = time.perf_counter() - started  # just after the page was told
        _original["kept"](*args)

    def start(self: CpuLedger, name: str) -> None:
        run.stage_threads[name] = threading.get_native_id()  # the stage runs on this thread
        _original["start"](self, name)

    _original.setdefault("kept", runner._kept_finish_seconds)
    runner._kept_finish_seconds = kept  # type: ignore[assignment]
    _original.setdefault("start", CpuLedger.start)
    CpuLedger.start = start  # type: ignore[method-assign]
    _original.setdefault("seconds", TimeLeft.seconds)
    _original.setdefault("finished", TimeLeft.finished)
    TimeLeft.seconds = seconds  # type: ignore[method-assign]
    TimeLeft.finished = finished  # type: ignore[method-assign]


_original: dict[str, Any] = {}


def one_process(path: Path, hog: bool = False, isolate: int | None = None) -> None:
    """This process: ``path`` cold, then warm (then warm with hogs); the runs as JSON lines on
    stdout. ``isolate``: this session's scheduler group gets that nice first."""
    if isolate is not None:
        Path("/proc/self/autogroup").write_text(str(isolate))
    setup_django()
    from django.contrib.auth import get_user_model

    owner, _ = get_user_model().objects.get_or_create(username="bench")
    for warmth in ("cold", "warm", *(["warm+hog"] if hog else [])):
        run = analyse(path, owner, warmth, hog=warmth.endswith("hog"))
        print(json.dumps(asdict(run)), flush=True)


def in_a_new_process(path: Path, hog: bool = False, isolate: int | None = None) -> list[Run]:
    """``path`` cold then warm in a fresh process; ``isolate``: in a session of its own whose
    scheduler group gets that nice (see the module's docstring)."""
    args = [sys.executable, "-m", "bench.progress_eta", "--one", str(path), *(["--hog"] * hog)]
    out = subprocess.run(
        args + ([f"--isolate={isolate}"] if isolate is not None else []),
        check=True,
        stdout=subprocess.PIPE,  # the runs; the log goes to this process's stderr
        text=True,
        start_new_session=isolate is not None,  # a scheduler group of its own
    ).stdout
    runs = []
    for line in out.splitlines():
        if line.startswith("{"):
            body = json.loads(line)
            body["reports"] = [Report(**r) for r in body["reports"]]
            runs.append(Run(**body))
    return runs


# --- How the estimates are scored --------------------------------------------------------------
#
# A run of T wall seconds is looked at on a clock: at ``POINTS`` instants evenly spread over its
# last nine tenths (from 0.1 T to the end; "a tenth of the work" is a tenth of the time the run
# really took, not the bar's own share, which the estimator itself sets). At each instant the
# page would show the latest saved estimate less the time since it was saved, as
# ``analysis.progress.eta_seconds`` gives it; an instant where it shows none (under a tenth by
# the bar and by the estimate's own clock, ``tenth_done``; a stage never timed here) counts as
# a miss; a replay applies the same rule. The truth is T - t. An instant is
# right when |shown - truth| <= 20 % of the truth; each run weighs the same (the same number of
# instants), whatever its length or how often it reported. Also given: the median and the
# 90th percentile of |shown - truth| / truth over the instants with an estimate, and the share
# right within 20 % or 5 s (the last seconds, where the page says "less than a minute" anyway).
POINTS = 90


def shown_at(run: Run, at: float) -> float | None:
    """What the page shows ``at`` seconds into ``run``: the latest report's estimate less the
    time since it (none before a tenth of the bar or without an estimate)."""
    latest = None
    for report in run.reports:
        if report.at > at:
            break
        latest = report
    if latest is None or latest.eta is None:  # the app shows none (``tenth_done``)
        return None
    return max(0.0, latest.eta - (at - latest.at))


def instants(run: Run, points: int = POINTS) -> list[tuple[float, float | None, float]]:
    """(seconds in, estimate shown, seconds really left) at ``points`` even instants from a
    tenth of the run's time to its end."""
    step = (1.0 - ETA_FROM) * run.total / points
    out = []
    for k in range(points):
        at = ETA_FROM * run.total + k * step
        out.append((at, shown_at(run, at), run.total - at))
    return out


@dataclass
class Score:
    """A run's (or several runs') instants scored."""

    instants: int
    shown: int
    within: int
    within_or_slack: int
    errors: list[float]  # relative errors of the instants with an estimate
    tail_errors: list[float]  # the same before the last tenth of the time

    @classmethod
    def of(cls, runs: list[Run]) -> Score:
        total = cls(0, 0, 0, 0, [], [])
        for run in runs:
            for at, shown, left in instants(run):
                total.instants += 1
                if shown is None:
                    continue
                error = (shown - left) / left
                total.shown += 1
                total.errors.append(error)
                if at <= (1.0 - TAIL) * run.total:
                    total.tail_errors.append(error)
                total.within += abs(error) <= WITHIN
                total.within_or_slack += abs(shown - left) <= max(WITHIN * left, SLACK_SECONDS)
        return total

    @property
    def share(self) -> float:
        return self.within / self.instants if self.instants else 0.0

    def absolute(self, quantile: float) -> float | None:
        """A quantile of |error| over the instants with an estimate."""
        if not self.errors:
            return None
        ranked = sorted(abs(e) for e in self.errors)
        return ranked[min(len(ranked) - 1, int(quantile * len(ranked)))]


HEADERS = ["video", "run", "wall s", "CPU s got (per wall s)", "load 1-min start/end"]
HEADERS += ["instants with an estimate"]
HEADERS += ["median error", "median abs error", "worst before the last tenth", "within ±20 %"]
HEADERS += ["within ±20 % or ±5 s"]


def row(run: Run) -> list[Any]:
    """The run's line of the table: its instants from a tenth of its time on, scored."""
    load = f"{_one_minute(run.load_start)} / {_one_minute(run.load)}"
    hog = f" (hogs from {run.hog_at:.0f} s)" if run.hog_at is not None else ""
    got = f"{run.cpu:.0f} ({run.cpu / run.total:.2f})" if run.cpu and run.total else "-"
    cells = _score_cells(Score.of([run]))
    return [run.video, run.warmth + hog, f"{run.total:.0f}", got, load, *cells]


def _one_minute(load: str) -> str:
    return load.split(",")[0].strip() or "-"


def _score_cells(score: Score) -> list[Any]:
    n = score.instants
    if not score.errors:
        return [f"0 of {n}", "-", "-", "-", f"0 of {n} (0 %)", f"0 of {n}"]
    worst = f"{max(score.tail_errors, key=abs):+.0%}" if score.tail_errors else "-"
    return [
        f"{score.shown} of {n}",
        f"{statistics.median(score.errors):+.0%}",
        f"{score.absolute(0.5):.0%}",
        worst,
        f"{score.within} of {n} ({score.share:.0%})",
        f"{score.within_or_slack} of {n}",
    ]


SUMMARY_HEADERS = ["videos", "runs", "instants with an estimate", "median abs error"]
SUMMARY_HEADERS += ["90th pct abs error", "within ±20 %", "within ±20 % or ±5 s"]


def summary(runs: list[Run]) -> list[list[Any]]:
    """Per video and over all ``runs``: the share of instants within ±20 %, and the errors."""
    by_video: dict[str, list[Run]] = {}
    for run in runs:
        by_video.setdefault(run.video, []).append(run)
    rows = []
    for name, group in [*by_video.items(), ("all", runs)]:
        score = Score.of(group)
        worst = score.absolute(0.9)
        cells = _score_cells(score)
        rows.append(
            [
                name,
                len(group),
                cells[0],
                cells[2],
                "-" if worst is None else f"{worst:.0%}",
                cells[4],
                cells[5],
            ]
        )
    return rows


def learnt_before() -> int:
    """Analyses this database finished before: the costs are learnt from them."""
    setup_django()
    from analysis.models import Analysis

    return Analysis.objects.filter(status="completed").count()


def main(videos: list[str], hog: bool, isolate: int | None = None) -> None:
    media = require_media()
    before = learnt_before()
    primed = [] if before else in_a_new_process(media / PRIMING, isolate=isolate)
    runs: list[Run] = []
    RAW.parent.mkdir(exist_ok=True)
    for name in videos:
        runs += in_a_new_process(media / name, hog, isolate)
        RAW.write_text(json.dumps([asdict(r) for r in primed + runs]))  # readable as it goes
    headers = HEADERS
    history = (
        f"{before} analyses of these videos in the database before the bench"
        if before
        else f"a priming process ran `{PRIMING}` first, cold then warm"
    )
    body = "\n".join(
        [
            "## progress_eta",
            "",
            "`python -m bench.progress_eta`: the time left shown while an analysis runs against "
            "the time really left, at each saved report from a tenth of the work on; error = "
            "(estimate - truth) / truth, so + is too long. Each video in a process of its own, "
            "first cold (models loading), then warm; the costs learnt from the analyses "
            f"finished before it ({history}). 2 CPU cores shared with other work, no GPU; load "
            f"average at the end {load_average()}; "
            + (
                f"each process in a scheduler group of its own at nice {isolate} (CPU s got: "
                "the run's own, per wall second)."
                if isolate is not None
                else "wall-clock figures are rough."
            ),
            "",
            *(
                [
                    markdown_table(headers, [row(r) for r in primed]),
                    "",
                    "Above: the priming runs (nothing learnt before the cold one). Below: "
                    "measured.",
                    "",
                ]
                if primed
                else []
            ),
            markdown_table(headers, [row(r) for r in runs]),
            "",
            markdown_table(SUMMARY_HEADERS, summary(runs)),
            "",
        ]
    )
    print(body)
    write_section(SECTION, body)


def replay(run: Run) -> tuple[Run, dict[str, Any]]:
    """``run`` with the estimates today's estimator gives, from what it was given then: the
    costs learnt from the analyses finished before it, each stage's end, the stages in
    progress at each report (``python -m bench.progress_eta --replay`` on the saved runs);
    and the run as a trace that needs no database (``tests/analysis/eta_traces.json``)."""
    from analysis.models import Analysis
    from analysis.pipeline import build_pipeline
    from analysis.progress import tenth_done
    from analysis.stagecosts import Going, plan_run, speech_seconds

    analysis = Analysis.objects.select_related("video").get(pk=run.analysis)
    stages = build_pipeline(analysis.parameters.get("stages"))
    # Each process runs the same pipeline twice: every stage cold the first time, warm after.
    cold = run.cold or ([s.name for s in stages] if run.warmth == "cold" else [])
    plan = plan_run(
        stages,
        duration=float(analysis.video.duration or 0.0),
        has_audio=analysis.video.has_audio,
        cold=cold,
        done=(),
        together=True,
        before=analysis.started_at,
    )
    trace: dict[str, Any] = {
        "video": run.video,
        "run": run.warmth,
        "total": run.total,
        "load": [run.load_start, run.load],
        "hog_at": run.hog_at,
        "stages": [[s.name, list(s.needs), s.lane] for s in stages],
        "expected": dict(plan.expected),
        "loading": dict(plan.load),
        "events": [],
    }
    events = sorted(run.finished)
    cpu_of = analysis.metadata.get("stage_cpu_seconds", {})  # each stage's, as the run kept it
    out = Run(run.video, run.warmth, run.total, [], run.stage_seconds, run.load, run.analysis)
    out.load_start, out.hog_at = run.load_start, run.hog_at
    for report in run.reports:
        while events and events[0][0] <= report.at:
            at, name, seconds = events.pop(0)
            plan.finished(name, seconds, at=at, cpu=cpu_of.get(name))
            trace["events"].append(["finished", at, name, seconds, cpu_of.get(name)])
            if name in ("shots", "audio"):
                if name == "shots":
                    plan.scenes_known(analysis.scenes.count())
                else:
                    plan.speech_known(speech_seconds(analysis))
                trace["events"].append(["priced", at, dict(plan.expected)])
        going = [Going(*g) for g in report.going]
        left = plan.seconds(going, at=report.at, cpu=report.cpu)
        trace["events"].append(["report", report.at, report.done, report.going, report.cpu])
        shown = left if tenth_done(report.done, report.at, left) else None
        out.reports.append(
            Report(report.at, report.done, shown, report.stage, report.going, report.cpu)
        )
    return out, trace


def saved(paths: list[Path]) -> list[Run]:
    """The runs saved in ``paths`` (``RAW``)."""
    runs = []
    for path in paths:
        for body in json.loads(path.read_text()):
            body["reports"] = [Report(**r) for r in body["reports"]]
            runs.append(Run(**body))
    return runs


def scored(runs: list[Run]) -> None:
    """The table of ``runs`` and their summary, on stdout. A run with no history to learn
    from (the priming run) is left out of the summary: it cannot show an estimate."""
    print(markdown_table(HEADERS, [row(r) for r in runs]))
    print()
    print(markdown_table(SUMMARY_HEADERS, summary([r for r in runs if not _priming(r)])))


def _priming(run: Run) -> bool:
    return (
        run.warmth == "cold"
        and not any(r.eta is not None for r in run.reports)
        and (run.video == Path(PRIMING).name)
    )


def kept_profiles(runs: list[Run]) -> int:
    """Give the analyses of ``runs`` that ran before the runner kept its stages' profiles
    (``metadata["stage_profiles"]``) the ones their saved reports tell, as the runner keeps them
    (``analysis.stagecosts.profile_of`` on (seconds into the stage, fraction) at each saved
    report); how many were given."""
    from analysis.models import Analysis
    from analysis.stagecosts import profile_of

    given = 0
    for run in runs:
        analysis = Analysis.objects.filter(pk=run.analysis).first() if run.analysis else None
        if analysis is None or "stage_profiles" in analysis.metadata:
            continue
        seen: dict[str, list[tuple[float, float]]] = {}
        for report in run.reports:
            for name, fraction, elapsed, *_cpu in report.going:
                seen.setdefault(name, []).append((elapsed, fraction))
        computed = analysis.metadata.get("stage_seconds", {})
        profiles = {n: profile_of(p, computed[n]) for n, p in seen.items() if n in computed}
        kept = {name: profile for name, profile in profiles.items() if profile is not None}
        analysis.metadata["stage_profiles"] = kept
        Analysis.objects.filter(pk=analysis.pk).update(metadata=analysis.metadata)
        given += 1
    return given


def replay_saved(paths: list[Path], export: Path | None = None, out: Path | None = None) -> None:
    """The saved runs of ``paths`` (``RAW``) through today's estimator, as the bench's table;
    ``export``: their traces written there too; ``out``: the replayed runs (as ``RAW``). Runs
    from before the runner kept its stages' profiles are given them first (``kept_profiles``)."""
    setup_django()
    runs = saved(paths)
    kept_profiles(runs)
    replayed = [replay(r) for r in runs if r.analysis]
    scored([r for r, _trace in replayed])
    if export is not None:
        export.write_text(json.dumps([trace for _r, trace in replayed], separators=(",", ":")))
    if out is not None:
        out.write_text(json.dumps([asdict(r) for r, _trace in replayed]))


if __name__ == "__main__":
    nice = [int(a.split("=", 1)[1]) for a in sys.argv if a.startswith("--isolate=")]
    isolated = nice[0] if nice else None
    if sys.argv[1:2] == ["--one"]:
        one_process(Path(sys.argv[2]), hog="--hog" in sys.argv, isolate=isolated)
    elif sys.argv[1:2] == ["--replay"]:
        files = [Path(a) for a in sys.argv[2:] if not a.startswith("--")]
        chosen = [a.split("=", 1)[1] for a in sys.argv if a.startswith("--export=")]
        to = [Path(a.split("=", 1)[1]) for a in sys.argv if a.startswith("--out=")]
        replay_saved(files or [RAW], Path(chosen[0]) if chosen else None, *to[:1])
    elif sys.argv[1:2] == ["--score"]:  # saved runs as they were shown, scored
        scored(saved([Path(a) for a in sys.argv[2:]] or [RAW]))
    else:
        chosen = [a.split("=", 1)[1] for a in sys.argv if a.startswith("--videos=")]
        main(chosen[0].split(",") if chosen else VIDEOS, hog="--hog" in sys.argv, isolate=isolated)
