"""Timeline and export benchmark: ``python -m bench.timeline_bench``.

Runs the real stack (``tests.e2e_server.E2EStack``: a throw-away database, Daphne, a worker),
seeds made-up analyses of generated films, then measures

- exporting one storyline of a 10-minute 640x360 film (120 scenes, 3 storylines) as an MP4 in
  stream-copy and in re-encode mode, against copying the same bytes;
- loading the timeline page of a 2-hour film with 1,500 scenes and 5 storylines in headless
  Chromium until the timeline has drawn, and the time per frame while zooming from the whole
  film to 400 px/s and scrolling.

Prints tables and writes the ``timeline`` section of ``bench/RESULTS.md``. No shared media is
needed: the films are generated with ffmpeg (cached in ``var/bench/timeline``).
"""

from __future__ import annotations

import json
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Any

from bench.common import CACHE, ffmpeg, load_average, markdown_table, write_section

FILMS = CACHE / "timeline"
RUNS = 3
FRAMES = 120  # per phase (zoom, then scroll)


def make_films() -> tuple[Path, Path]:
    """A 2-hour film (tiny, for the page) and a 10-minute 640x360 film (for the exports)."""
    FILMS.mkdir(parents=True, exist_ok=True)
    long = FILMS / "film-2h.mp4"
    if not long.exists():
        ffmpeg(
            "-f",
            "lavfi",
            "-i",
            "testsrc2=size=160x90:rate=5:duration=7200",
            "-f",
            "lavfi",
            "-i",
            "sine=frequency=220:sample_rate=16000:duration=7200",
            "-c:v",
            "libx264",
            "-preset",
            "ultrafast",
            "-g",
            "50",
            "-c:a",
            "aac",
            "-b:a",
            "24k",
            "-ac",
            "1",
            "-shortest",
            str(long),
        )
    short = FILMS / "film-10min.mp4"
    if not short.exists():
        ffmpeg(
            "-f",
            "lavfi",
            "-i",
            "testsrc2=size=640x360:rate=25:duration=600",
            "-f",
            "lavfi",
            "-i",
            "sine=frequency=440:sample_rate=48000:duration=600",
            "-c:v",
            "libx264",
            "-preset",
            "veryfast",
            "-g",
            "50",
            "-pix_fmt",
            "yuv420p",
            "-c:a",
            "aac",
            "-b:a",
            "128k",
            "-shortest",
            str(short),
        )
    return long, short


EXPORT_CODE = """
import json, os, tempfile, time
from pathlib import Path
from analysis.models import Analysis
from exports import services
analysis = Analysis.objects.get(pk="{analysis_id}")
line = analysis.storylines.order_by("order").first()
out = {{}}
for mode in ("copy", "exact"):
    best = None
    for _ in range({runs}):
        job, _c = services.export_request(analysis=analysis, kind="mp4", storyline_id=line.pk,
                                          mode=mode, enqueue=False)
        began = time.perf_counter()
        services.export_execute(job_id=job.pk)
        seconds = time.perf_counter() - began
        job.refresh_from_db()
        assert job.status == "completed", job.error
        best = seconds if best is None else min(best, seconds)
        path = Path(job.file.path)
        meta = dict(job.metadata)
        job.delete()  # the next run must not hit the cache
    out[mode] = {{"seconds": best, "meta": meta}}
out["scenes"] = line.memberships.count()
# Copying the same bytes: the stream-copied cut's size, read from the source file and written.
job, _c = services.export_request(analysis=analysis, kind="mp4", storyline_id=line.pk,
                                  mode="copy", enqueue=False)
services.export_execute(job_id=job.pk)
job.refresh_from_db()
size = job.size_bytes
best = None
for _ in range({runs}):
    with tempfile.NamedTemporaryFile(dir="{scratch}") as target:
        began = time.perf_counter()
        with open(analysis.video.file.path, "rb") as src:
            left = size
            while left > 0:
                chunk = src.read(min(left, 1 << 20))
                if not chunk:
                    src.seek(0)
                    continue
                target.write(chunk)
                left -= len(chunk)
        target.flush()
        os.fsync(target.fileno())
        seconds = time.perf_counter() - began
    best = seconds if best is None else min(best, seconds)
out["copy_bytes"] = {{"seconds": best, "bytes": size}}
print("RESULT" + json.dumps(out))
"""


def measure_exports(stack: Any, analysis_id: str) -> dict[str, Any]:
    scratch = stack.workdir / "scratch"
    scratch.mkdir(exist_ok=True)
    code = EXPORT_CODE.format(analysis_id=analysis_id, runs=RUNS, scratch=scratch)
    out = stack.manage("shell", "-c", code)
    return dict(json.loads(out.split("RESULT", 1)[1]))


FRAME_SCRIPT = """
async (frames) => {
  const view = window.timelineDebug.view;
  view.fit();
  const phases = {};
  for (const phase of ["zoom", "scroll"]) {
    const draws = [], gaps = [];
    let last = performance.now();
    for (let i = 0; i < frames; i += 1) {
      if (phase === "zoom") view.zoom(1.06, view.width / 2);
      else view.scrollBy(view.visibleSeconds() * 0.03);
      const before = view.stats.frames;
      await new Promise((resolve) => requestAnimationFrame(() => requestAnimationFrame(resolve)));
      const now = performance.now();
      gaps.push(now - last);
      last = now;
      if (view.stats.frames > before) draws.push(view.stats.lastMs);
    }
    phases[phase] = { draws, gaps, pps: view.pps };
  }
  return phases;
}
"""


def measure_page(stack: Any, analysis_id: str) -> dict[str, Any]:
    from playwright.sync_api import sync_playwright

    from tests.e2e_server import CHROMIUM_ARGS, CHROMIUM_PATH, PASSWORD, USERNAME

    loads, scripts, firsts, phases = [], [], [], []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM_PATH, args=CHROMIUM_ARGS)
        context = browser.new_context(
            base_url=stack.base_url, viewport={"width": 1440, "height": 1000}
        )
        page = context.new_page()
        page.goto("/login/")
        page.get_by_test_id("login-username").fill(USERNAME)
        page.get_by_test_id("login-password").fill(PASSWORD)
        page.get_by_test_id("login-submit").click()
        page.wait_for_url(f"{stack.base_url}/")
        for _ in range(RUNS):
            page.goto(f"/analyses/{analysis_id}/timeline/")
            page.wait_for_function("document.body.dataset.timeline === 'ready'", timeout=120_000)
            loads.append(
                page.evaluate("performance.getEntriesByName('timeline-drawn')[0].startTime")
            )
            scripts.append(float(page.evaluate("document.body.dataset.timelineLoadMs")))
            firsts.append(page.evaluate("window.timelineDebug.view.stats.maxMs"))
            phases.append(page.evaluate(FRAME_SCRIPT, FRAMES))
        sizes = page.evaluate(
            "performance.getEntriesByType('resource').filter((e) => /timeline$|transcript$/"
            ".test(e.name)).map((e) => [e.name.split('/').pop(), e.transferSize, e.duration])"
        )
        browser.close()
    return {"loads": loads, "scripts": scripts, "firsts": firsts, "phases": phases, "sizes": sizes}


def p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))] if ordered else 0.0


def seed(stack: Any, film: Path, scenes: int, storylines: int) -> str:
    out = stack.manage(
        "seed_analysis",
        str(film),
        "--user",
        "editor",
        "--scenes",
        str(scenes),
        "--storylines",
        str(storylines),
        "--seed",
        "7",
    )
    return out.strip().splitlines()[-1]


def _export_rows(exports: dict[str, Any]) -> list[list[str]]:
    copy, exact, raw = exports["copy"], exports["exact"], exports["copy_bytes"]
    copy_cut, exact_cut = copy["meta"]["cut_duration"], exact["meta"]["cut_duration"]
    return [
        [
            "copy bytes (same size as the copy cut)",
            f"{raw['seconds']:.3f}",
            f"{raw['bytes'] / 1e6:.1f} MB",
            "-",
            "1x",
        ],
        [
            "stream copy, cut at keyframes",
            f"{copy['seconds']:.3f}",
            f"{copy_cut:.1f} s",
            f"{copy_cut / copy['seconds']:.0f}x real time",
            f"{copy['seconds'] / raw['seconds']:.0f}x",
        ],
        [
            f"re-encode, frame-accurate ({exact['meta']['encoder']})",
            f"{exact['seconds']:.3f}",
            f"{exact_cut:.1f} s",
            f"{exact_cut / exact['seconds']:.1f}x real time",
            f"{exact['seconds'] / raw['seconds']:.0f}x",
        ],
    ]


def _page_rows(page: dict[str, Any]) -> list[list[str]]:
    runs = page["phases"]
    zoom = [d for run in runs for d in run["zoom"]["draws"]]
    scroll = [d for run in runs for d in run["scroll"]["draws"]]
    gaps = [g for run in runs for phase in ("zoom", "scroll") for g in run[phase]["gaps"]]

    def spread(values: list[float], digits: int = 2) -> list[str]:
        median, high = statistics.median(values), p95(values)
        return [f"{median:.{digits}f} / {high:.{digits}f} ms", f"{max(values):.{digits}f} ms"]

    loads, scripts = page["loads"], page["scripts"]
    return [
        [
            "page load -> timeline drawn (from navigation start)",
            f"{statistics.median(loads):.0f} ms",
            f"{max(loads):.0f} ms",
        ],
        [
            "script start -> data fetched, parsed and drawn",
            f"{statistics.median(scripts):.0f} ms",
            f"{max(scripts):.0f} ms",
        ],
        [
            "draw, whole film (1,500 scenes visible)",
            f"{statistics.median(page['firsts']):.1f} ms",
            "-",
        ],
        ["draw per frame while zooming in (median / p95)", *spread(zoom)],
        ["draw per frame while scrolling (median / p95)", *spread(scroll)],
        ["time between two frames (2 rAF; median / p95)", *spread(gaps, 1)],
    ]


def report(exports: dict[str, Any], page: dict[str, Any], seed_seconds: float) -> str:
    copy, exact = exports["copy"], exports["exact"]
    cut = exact["meta"]["cut_duration"]
    sizes = ", ".join(
        f"{name} {size / 1024:.0f} KB in {ms:.0f} ms" for name, size, ms in page["sizes"][-2:]
    )
    return "\n\n".join(
        [
            "## timeline",
            f"Machine: {os.cpu_count()} cores, no GPU, load {load_average()} (other jobs running); "
            f"best of {RUNS} runs; `python -m bench.timeline_bench`.",
            "**Export** of storyline 1 of a generated 10-minute 640x360 25 fps H.264 film "
            "(120 scenes, 3 storylines; "
            f"the storyline has {exports['scenes']} scenes, {cut:.1f} s; "
            "a keyframe every 2 s):",
            markdown_table(
                ["mode", "seconds", "output", "speed", "vs copying bytes"], _export_rows(exports)
            ),
            "Stream copy widens every span to the keyframes around it "
            f"({copy['meta']['cut_duration']:.1f} s instead of {cut:.1f} s here); re-encode is "
            "exact to the frame.",
            "**Timeline page** of a 2-hour film with 1,500 scenes and 5 storylines in headless "
            f"Chromium (software canvas, 1440x1000 viewport; {RUNS} loads; seeding took "
            f"{seed_seconds:.0f} s). JSON: {sizes}.",
            markdown_table(["measure", "median", "max"], _page_rows(page)),
            f"Zoom phase: {FRAMES} frames from the whole film to 400 px/s (x1.06 per frame); "
            f"scroll phase: {FRAMES} frames of 3 % of the visible span at the deepest zoom.",
        ]
    )


def main() -> None:
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    from tests.e2e_server import E2EStack

    long, short = make_films()
    stack = E2EStack()
    try:
        stack.start()
        began = time.perf_counter()
        page_analysis = seed(stack, long, 1500, 5)
        seed_seconds = time.perf_counter() - began
        export_analysis = seed(stack, short, 120, 3)
        exports = measure_exports(stack, export_analysis)
        page = measure_page(stack, page_analysis)
    finally:
        stack.stop()
    body = report(exports, page, seed_seconds)
    print(body)
    write_section("timeline", body)


if __name__ == "__main__":
    main()
