"""How close the time-left estimate of the progress bar is to the truth, on real analyses.

    python -m bench.progress_eta      # learn on story_dev_01, measure on story_dev_02

The first analysis times the stages on this machine (what ``analysis.progress.stage_weights``
reads back as the weights); the second records (seconds elapsed, progress) at every saved
report. At each report from a tenth of the work on, the estimate elapsed x (1 - p) / p is
compared with the time that was really left.
"""

from __future__ import annotations

import statistics
import time
from pathlib import Path
from typing import Any

from bench.common import load_average, markdown_table, require_media, setup_django, write_section

BANDS = [(0.1, 0.25), (0.25, 0.5), (0.5, 0.75), (0.75, 1.0)]


def analyse(path: Path, owner: Any) -> tuple[list[tuple[float, float]], float]:
    """Run the default analysis of ``path``; (elapsed, progress) per report, and the total."""
    from analysis import services
    from analysis.pipeline.runner import analysis_execute

    video = services.video_create_from_path(owner=owner, path=path)
    analysis = services.analysis_start(video=video, parameters={}, enqueue=False)
    reports: list[tuple[float, float]] = []
    started = time.perf_counter()
    done = analysis_execute(
        analysis_id=analysis.pk,
        listener=lambda a: reports.append((time.perf_counter() - started, a.progress)),
    )
    assert done is not None and done.status == "completed", done and done.error
    return reports, time.perf_counter() - started


def errors(reports: list[tuple[float, float]], total: float) -> list[tuple[float, float]]:
    """(progress, relative error of the estimate) from a tenth done on."""
    out = []
    for elapsed, progress in reports:
        left = total - elapsed
        if progress >= 0.1 and left > 1.0:
            estimate = elapsed * (1 - progress) / progress
            out.append((progress, (estimate - left) / left))
    return out


def report(name: str, measured: list[tuple[float, float]], total: float) -> str:
    rows = []
    for low, high in BANDS:
        band = [abs(e) for p, e in measured if low <= p < high]
        if band:
            rows.append(
                [
                    f"{low:.0%}-{high:.0%}",
                    len(band),
                    f"{statistics.median(band):.0%}",
                    f"{max(band):.0%}",
                ]
            )
    within = sum(1 for _p, e in measured if abs(e) <= 0.2)
    return "\n".join(
        [
            "## progress_eta",
            "",
            f"`python -m bench.progress_eta`: the default analysis of `{name}` ({total:.0f} s "
            f"of work) after one analysis of `story_dev_01` timed the stages; 2 CPU cores, "
            f"no GPU; load average at the end {load_average()}. Error of the time left "
            "(elapsed x (1 - p) / p) against the time really left, at each saved report:",
            "",
            markdown_table(["progress", "reports", "median error", "worst error"], rows),
            "",
            f"- Within ±20 %: {within} of {len(measured)} reports from a tenth done on.",
        ]
    )


def main() -> None:
    setup_django()
    from django.contrib.auth import get_user_model

    media = require_media() / "story"
    owner, _ = get_user_model().objects.get_or_create(username="bench")
    analyse(media / "story_dev_01.mp4", owner)  # times the stages for the weights
    reports, total = analyse(media / "story_dev_02.mp4", owner)
    body = report("story_dev_02.mp4", errors(reports, total), total)
    print(body)
    write_section("progress_eta", body)


if __name__ == "__main__":
    main()
