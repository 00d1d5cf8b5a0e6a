"""How close the time-left estimate of the progress bar is to the truth, on real analyses.

    python -m bench.progress_eta      # about four analyses of the two story films

One process, as a worker would be: the first analysis (``story_dev_01``) runs its stages cold
(models loaded, kernels compiled) and times them; the next ones are measured. At every saved
report the time left the app gives (``analysis.progress.eta_seconds``) is compared with the time
that was really left; reports before a tenth of the work are not (no estimate is shown then).

Runs measured: ``story_dev_02`` with only the cold run in the history (its warm stages are
weighed by cold costs), ``story_dev_01`` again once a warm run is in the history, and
``story_dev_02`` killed at 40 % of its work and resumed after a pause (the estimate after the
resume, next to the former one, elapsed since the first start x (1 - p) / p).
"""

from __future__ import annotations

import statistics
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.common import load_average, markdown_table, require_media, setup_django, write_section

BANDS = [(0.1, 0.25), (0.25, 0.5), (0.5, 0.75), (0.75, 1.0)]
CRASH_AT = 0.4  # share of the work done when the worker is "killed"
DOWN_SECONDS = 30.0  # until another worker takes over (the lease running out)


class WorkerKilled(BaseException):
    """Raised from a progress report, like a kill: nothing in the runner catches it, the
    finished stages are kept and the analysis is left running for another worker."""


@dataclass
class Report:
    at: float  # seconds since the analysis was first started
    done: float  # share of the kept work (work_done)
    eta: float | None  # the app's estimate
    former: float | None  # elapsed since the first start x (1 - p) / p, p the bar


@dataclass
class Run:
    name: str
    reports: list[Report] = field(default_factory=list)
    total: float = 0.0
    resumed_at: float | None = None


def analyse(path: Path, owner: Any, name: str, crash: bool = False) -> Run:
    """Run the default analysis of ``path`` (killed once at ``CRASH_AT`` if ``crash``)."""
    from analysis import services
    from analysis.models import Analysis
    from analysis.pipeline.runner import analysis_execute
    from analysis.progress import eta_seconds

    video = services.video_create_from_path(owner=owner, path=path)
    analysis = services.analysis_start(video=video, parameters={}, enqueue=False)
    run, started = Run(name), time.perf_counter()

    def listen(a: Analysis) -> None:
        at = time.perf_counter() - started
        former = at * (1 - a.progress) / a.progress if a.progress >= 0.1 else None
        run.reports.append(Report(at, a.work_done, eta_seconds(a, now=a.updated_at), former))
        if crash and run.resumed_at is None and a.work_done >= CRASH_AT:
            raise WorkerKilled()

    try:
        done = analysis_execute(analysis_id=analysis.pk, listener=listen)
    except WorkerKilled:
        time.sleep(DOWN_SECONDS)
        run.resumed_at = time.perf_counter() - started
        done = analysis_execute(analysis_id=analysis.pk, listener=listen)
    assert done is not None and done.status == "completed", done and done.error
    run.total = time.perf_counter() - started
    return run


def errors(run: Run, pick: str = "eta") -> list[tuple[float, float]]:
    """(work done, relative error of the estimate) from a tenth done on (after the resume)."""
    out = []
    for r in run.reports:
        estimate, left = getattr(r, pick), run.total - r.at
        after_resume = run.resumed_at is None or r.at > run.resumed_at
        if estimate is not None and r.done >= 0.1 and left > 1.0 and after_resume:
            out.append((r.done, (estimate - left) / left))
    return out


def rows(measured: list[tuple[float, float]]) -> list[list[Any]]:
    out: list[list[Any]] = []
    for low, high in BANDS:
        band = [e for p, e in measured if low <= p < high]
        if band:
            median, worst = statistics.median(band), max(band, key=abs)
            out.append([f"{low:.0%}-{high:.0%}", len(band), f"{median:+.0%}", f"{worst:+.0%}"])
    return out


def table(run: Run, history: str, pick: str = "eta") -> str:
    measured = errors(run, pick)
    within = sum(1 for _p, e in measured if abs(e) <= 0.2)
    return "\n".join(
        [
            f"**{run.name}** ({run.total:.0f} s), {history}:",
            "",
            markdown_table(["work done", "reports", "median error", "worst error"], rows(measured)),
            "",
            f"Within ±20 %: {within} of {len(measured)} reports.",
            "",
        ]
    )


def main() -> None:
    setup_django()
    from django.contrib.auth import get_user_model

    media = require_media() / "story"
    owner, _ = get_user_model().objects.get_or_create(username="bench")
    first, second = media / "story_dev_01.mp4", media / "story_dev_02.mp4"
    analyse(first, owner, "cold run")  # times the stages cold, as a worker's first analysis
    only_cold = analyse(second, owner, "story_dev_02.mp4")
    with_warm = analyse(first, owner, "story_dev_01.mp4")
    resumed = analyse(second, owner, "story_dev_02.mp4, killed at 40 % and resumed", crash=True)
    down = f"{DOWN_SECONDS:.0f} s down"
    body = "\n".join(
        [
            "## progress_eta",
            "",
            "`python -m bench.progress_eta`: the time left shown while an analysis runs against "
            "the time really left, at each saved report from a tenth of the work on; error "
            "= (estimate - truth) / truth, so + is too long. One process, 2 CPU cores shared "
            f"with other work, no GPU; load average at the end {load_average()} (wall-clock "
            "figures are rough). The stages were timed by a first, cold analysis of "
            "`story_dev_01` in the same process.",
            "",
            table(only_cold, "history: the cold run only"),
            table(with_warm, "history: the cold run and a warm one"),
            table(resumed, f"after the resume ({down}); the app's estimate"),
            table(resumed, "after the resume; the former estimate from the first start", "former"),
        ]
    )
    print(body)
    write_section("progress_eta", body)


if __name__ == "__main__":
    main()
