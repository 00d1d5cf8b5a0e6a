"""How close the time-left estimate of the progress bar is to the truth, on real analyses.

    python -m bench.progress_eta          # about 35 minutes on 2 loaded cores

Every video is analysed in a process of its own, twice: first cold (the process's first
analysis: models loaded, kernels compiled, as a worker's first job or ``manage.py analyze``),
then warm. At every saved report the time left the app gives (``analysis.progress.eta_seconds``)
is compared with the time that was really left, from a tenth of the work on (no estimate is
shown before). The costs are learnt from the analyses finished before in the bench's database,
as an installation learns them: a priming process analyses one film first, so the first
measured video has one cold and one warm run to go on, the last has all the others'. Use a
database of its own (``DATABASE_URL``): earlier analyses in it are learnt from too.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
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
ETA_FROM = 0.1
WITHIN = 0.2
TAIL = 0.1  # the last tenth of a run's time: a few seconds off there is a large share
# An estimate counts as right within ±20 % or within this many seconds, whichever is more: in
# the last seconds (saving the results after the last stage) a second is a large share, and
# the page says "less than a minute left" below 45 s anyway.
SLACK_SECONDS = 5.0
SECTION = os.environ.get("PROGRESS_ETA_SECTION", "progress_eta")  # a second run beside the first
RAW = Path("var/bench_progress_eta.json")  # every report of every run, to look into


@dataclass
class Report:
    at: float  # seconds since the analysis started
    done: float  # share of the work (work_done)
    eta: float | None  # the app's estimate
    stage: str = ""  # the stage shown then (to tell where an estimate goes wrong)
    going: list[tuple[str, float, float]] = field(default_factory=list)  # (stage, fraction, s)


@dataclass
class Run:
    video: str
    warmth: str
    total: float = 0.0
    reports: list[Report] = field(default_factory=list)
    stage_seconds: dict[str, float] = field(default_factory=dict)
    load: str = ""  # load average at the run's end
    # What an estimator is given, to replay the run through another one (``replay``): the
    # analysis, the stages that ran cold, and (at, stage, seconds) as each stage finished.
    analysis: str = ""
    cold: list[str] = field(default_factory=list)
    finished: list[tuple[float, str, float]] = field(default_factory=list)


def analyse(path: Path, owner: Any, warmth: str) -> Run:
    """Run the default analysis of ``path``, keeping every saved report."""
    from analysis import services
    from analysis.models import Analysis
    from analysis.pipeline import build_pipeline, runner
    from analysis.pipeline.runner import analysis_execute
    from analysis.progress import eta_seconds

    video = services.video_create_from_path(owner=owner, path=path)
    analysis = services.analysis_start(video=video, parameters={}, enqueue=False)
    run, started = Run(path.name, warmth, analysis=str(analysis.pk)), time.perf_counter()
    run.cold = sorted({s.name for s in build_pipeline()} - runner._warm)
    going: list[tuple[str, float, float]] = []
    _spy_on_the_estimator(going, run, started)

    def listen(a: Analysis) -> None:
        at = time.perf_counter() - started
        eta = eta_seconds(a, now=a.updated_at)
        run.reports.append(Report(at, a.work_done, eta, a.current_stage, list(going)))

    done = analysis_execute(analysis_id=analysis.pk, listener=listen)
    assert done is not None and done.status == "completed", done and done.error
    run.total = time.perf_counter() - started
    run.stage_seconds = dict(done.metadata.get("stage_seconds", {}))
    run.load = load_average()
    return run


def _spy_on_the_estimator(going: list[tuple[str, float, float]], run: Run, started: float) -> None:
    """Keep what the runner's estimator is given: the stages in progress at each report into
    ``going``, each finished stage into ``run.finished`` (a bench's look inside, no test's)."""
    from analysis.pipeline import runner
    from analysis.stagecosts import TimeLeft

    def time_left(self: runner.ProgressReporter) -> float | None:
        now = time.perf_counter()
        going[:] = [(c.stage.name, c.fraction, now - c.started) for c in self.running.values()]
        return _original["time_left"](self)

    def finished(self: TimeLeft, name: str, seconds: float) -> None:
        run.finished.append((time.perf_counter() - started, name, seconds))
        _original["finished"](self, name, seconds)

    _original.setdefault("time_left", runner.ProgressReporter._time_left)
    _original.setdefault("finished", TimeLeft.finished)
    runner.ProgressReporter._time_left = time_left  # type: ignore[method-assign]
    TimeLeft.finished = finished  # type: ignore[method-assign]


_original: dict[str, Any] = {}


def one_process(path: Path) -> None:
    """This process: ``path`` cold, then warm; the runs as JSON lines on stdout."""
    setup_django()
    from django.contrib.auth import get_user_model

    owner, _ = get_user_model().objects.get_or_create(username="bench")
    for warmth in ("cold", "warm"):
        print(json.dumps(asdict(analyse(path, owner, warmth))), flush=True)


def in_a_new_process(path: Path) -> list[Run]:
    out = subprocess.run(
        [sys.executable, "-m", "bench.progress_eta", "--one", str(path)],
        check=True,
        stdout=subprocess.PIPE,  # the runs; the log goes to this process's stderr
        text=True,
    ).stdout
    runs = []
    for line in out.splitlines():
        if line.startswith("{"):
            body = json.loads(line)
            body["reports"] = [Report(**r) for r in body["reports"]]
            runs.append(Run(**body))
    return runs


def errors(run: Run, tail: float = 0.0) -> list[float]:
    """Relative errors of the estimates shown from a tenth of the work on, while more than
    ``tail`` of the run's time (and a second) is left."""
    out = []
    for r in run.reports:
        left = run.total - r.at
        if r.eta is not None and r.done >= ETA_FROM and left > max(1.0, tail * run.total):
            out.append((r.eta - left) / left)
    return out


def row(run: Run) -> list[Any]:
    measured = errors(run)
    due = [r for r in run.reports if r.done >= ETA_FROM and run.total - r.at > 1.0]
    if not measured:
        return [
            run.video,
            run.warmth,
            f"{run.total:.0f}",
            f"0 of {len(due)}",
            "-",
            "-",
            "-",
            "-",
            "-",
        ]
    within = sum(1 for e in measured if abs(e) <= WITHIN)
    slack = sum(
        1 for e, left in _with_truth(run) if abs(e) * left <= max(WITHIN * left, SLACK_SECONDS)
    )
    worst = max(measured, key=abs)
    before_tail = errors(run, TAIL)
    worst_before = f"{max(before_tail, key=abs):+.0%}" if before_tail else "-"
    return [
        run.video,
        run.warmth,
        f"{run.total:.0f}",
        f"{len(measured)} of {len(due)}",
        f"{statistics.median(measured):+.0%}",
        f"{worst:+.0%}",
        worst_before,
        f"{within} of {len(measured)}",
        f"{slack} of {len(measured)}",
    ]


def _with_truth(run: Run) -> list[tuple[float, float]]:
    """(relative error, seconds really left) of the estimates ``errors`` counts."""
    out = []
    for r in run.reports:
        left = run.total - r.at
        if r.eta is not None and r.done >= ETA_FROM and left > 1.0:
            out.append(((r.eta - left) / left, left))
    return out


def learnt_before() -> int:
    """Analyses this database finished before: the costs are learnt from them."""
    setup_django()
    from analysis.models import Analysis

    return Analysis.objects.filter(status="completed").count()


def main() -> None:
    media = require_media()
    before = learnt_before()
    primed = [] if before else in_a_new_process(media / PRIMING)
    runs: list[Run] = []
    RAW.parent.mkdir(exist_ok=True)
    for name in VIDEOS:
        runs += in_a_new_process(media / name)
        RAW.write_text(json.dumps([asdict(r) for r in primed + runs]))  # readable as it goes
    headers = ["video", "run", "wall s", "estimates shown", "median error", "worst error"]
    headers += ["worst before the last tenth", "within ±20 %", "within ±20 % or ±5 s"]
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
            f"average at the end {load_average()} (wall-clock figures are rough).",
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
        ]
    )
    print(body)
    write_section(SECTION, body)


def replay(run: Run) -> Run:
    """``run`` with the estimates today's estimator gives, from what it was given then: the
    costs learnt from the analyses finished before it, each stage's end, the stages in
    progress at each report (``python -m bench.progress_eta --replay`` on the saved runs)."""
    from analysis.models import Analysis
    from analysis.pipeline import build_pipeline
    from analysis.stagecosts import Going, plan_run, speech_seconds

    analysis = Analysis.objects.select_related("video").get(pk=run.analysis)
    stages = build_pipeline(analysis.parameters.get("stages"))
    # Each process runs the same pipeline twice: every stage cold the first time, warm after.
    cold = [s.name for s in stages] if run.warmth == "cold" else []
    plan = plan_run(
        stages,
        duration=float(analysis.video.duration or 0.0),
        has_audio=analysis.video.has_audio,
        cold=cold,
        done=(),
        together=True,
        before=analysis.started_at,
    )
    events = sorted(run.finished)
    out = Run(run.video, run.warmth, run.total, [], run.stage_seconds, run.load, run.analysis)
    for report in run.reports:
        while events and events[0][0] <= report.at:
            _at, name, seconds = events.pop(0)
            plan.finished(name, seconds)
            if name == "shots":
                plan.scenes_known(analysis.scenes.count())
            if name == "audio":
                plan.speech_known(speech_seconds(analysis))
        left = plan.seconds([Going(*going) for going in report.going])
        shown = left if report.done >= ETA_FROM else None
        out.reports.append(Report(report.at, report.done, shown, report.stage, report.going))
    return out


def replay_saved(path: Path) -> None:
    """The saved runs of ``path`` (``RAW``) through today's estimator, as the bench's table."""
    setup_django()
    runs = []
    for body in json.loads(path.read_text()):
        body["reports"] = [Report(**r) for r in body["reports"]]
        runs.append(Run(**body))
    headers = ["video", "run", "wall s", "estimates shown", "median error", "worst error"]
    headers += ["worst before the last tenth", "within ±20 %", "within ±20 % or ±5 s"]
    print(markdown_table(headers, [row(replay(r)) for r in runs if r.analysis]))


if __name__ == "__main__":
    if sys.argv[1:2] == ["--one"]:
        one_process(Path(sys.argv[2]))
    elif sys.argv[1:2] == ["--replay"]:
        replay_saved(Path(sys.argv[2]) if sys.argv[2:] else RAW)
    else:
        main()
