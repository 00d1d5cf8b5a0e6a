"""Exports in the browser (issue 16), against the real stack (Daphne, worker, Redis) in headless
Chromium: an out-of-date export (an EDL and an MP4) is marked so once its storyline changes and
remade with one click; a running MP4 export stops on Cancel and leaves no file behind."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import psycopg
import pytest
from playwright.sync_api import BrowserContext, Locator, Page, expect

from tests.axe import assert_accessible
from tests.e2e_server import E2EStack
from tests.fixtures_timeline import (
    COLOURS,
    FPS,
    NAMES,
    ColourClip,
    make_colour_clip,
    seed_colour_analysis,
)
from tests.frontend.test_browser import browser, log_in, shot, stack  # noqa: F401  (fixtures)

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def clip(tmp_path_factory: pytest.TempPathFactory) -> ColourClip:
    return make_colour_clip(tmp_path_factory.mktemp("stale") / "Stale colours.mp4")


@pytest.fixture
def context(browser: Any, stack: E2EStack) -> Iterator[BrowserContext]:  # noqa: F811
    ctx = browser.new_context(
        bypass_csp=True,  # wait_for_function evals strings, which the pages' policy forbids
        base_url=stack.base_url,
        viewport={"width": 1440, "height": 1000},
    )
    ctx.set_default_timeout(20_000)
    yield ctx
    ctx.close()


def edl_seconds(page: Page, job: Any) -> float:
    """Seconds of picture in the EDL behind a job's download link (read with OpenTimelineIO)."""
    import opentimelineio as otio

    href = job.get_by_test_id("export-download").get_attribute("href")
    text = page.request.get(href).text()
    timeline = otio.adapters.read_from_string(text, "cmx_3600", rate=25)
    clips = [c for c in timeline.video_tracks()[0] if isinstance(c, otio.schema.Clip)]
    return sum(float(c.source_range.duration.to_seconds()) for c in clips)


def test_a_changed_storyline_marks_its_export_out_of_date_and_remake_makes_it_again(
    context: BrowserContext,
    stack: E2EStack,  # noqa: F811
    clip: ColourClip,
) -> None:
    analysis_id = seed_colour_analysis(stack, clip)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    log_in(page)
    page.goto(f"/analyses/{analysis_id}/timeline/")
    page.wait_for_function("document.body.dataset.timeline === 'ready'")

    # An EDL of the first storyline (scenes 1, 3, 5).
    page.get_by_test_id("export-target").select_option(label=NAMES[0])
    page.get_by_test_id("export-kind").select_option("edl")
    page.get_by_test_id("export-button").click()
    first = page.get_by_test_id("export-job").first
    expect(first.get_by_test_id("export-download")).to_be_visible(timeout=60_000)
    expect(first).to_have_attribute("data-stale", "false")
    expect(first.get_by_test_id("export-remake")).to_be_hidden()
    before = edl_seconds(page, first)
    assert before == pytest.approx(clip.seconds[0] + clip.seconds[2] + clip.seconds[4])

    # Scene 2 moves into that storyline: the export no longer shows it as it is.
    rect = page.evaluate("(id) => window.timelineDebug.sceneRect(id)", "scene_2")
    page.mouse.click(rect["x"] + rect["width"] / 2, rect["y"] + rect["height"] / 2)
    page.keyboard.press("Digit1")
    expect(page.get_by_test_id("toast").last).to_contain_text("Scene 2 moved to")
    expect(first).to_have_attribute("data-stale", "true")
    expect(first).to_contain_text("Out of date")
    remake = first.get_by_test_id("export-remake")
    expect(remake).to_be_visible()
    shot(page, "exports-01-out-of-date")
    assert_accessible(page, "timeline with an out-of-date export")

    # One click makes it again from the storylines as they are now: scene 2 is in it.
    remake.click()
    expect(page.get_by_test_id("export-job")).to_have_count(2)
    fresh = page.get_by_test_id("export-job").first
    expect(fresh.get_by_test_id("export-download")).to_be_visible(timeout=60_000)
    expect(fresh).to_have_attribute("data-stale", "false")
    expect(fresh.get_by_test_id("export-remake")).to_be_hidden()
    assert edl_seconds(page, fresh) == pytest.approx(before + clip.seconds[1])
    shot(page, "exports-02-remade")
    assert errors == []


def open_timeline(context: BrowserContext, analysis_id: str) -> tuple[Page, list[str]]:
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    log_in(page)
    page.goto(f"/analyses/{analysis_id}/timeline/")
    page.wait_for_function("document.body.dataset.timeline === 'ready'")
    return page, errors


def job_rows(e2e: E2EStack, analysis_id: str) -> list[tuple[Any, ...]]:
    """(status, mode, file, error) of the analysis's export jobs in the database, oldest first."""
    with psycopg.connect(e2e.env["DATABASE_URL"]) as conn:
        return conn.execute(
            "SELECT status, mode, file, error FROM exports_exportjob "
            "WHERE analysis_id = %s ORDER BY created_at",
            [analysis_id],
        ).fetchall()


def mp4_colours(page: Page, job: Locator, tmp: Path) -> list[int]:
    """The shot (index in COLOURS) of every frame of the MP4 behind a job's download link."""
    href = job.get_by_test_id("export-download").get_attribute("href")
    path = tmp / "cut.mp4"
    path.write_bytes(page.request.get(str(href)).body())
    raw = subprocess.run(
        ["ffmpeg", "-v", "error", "-i", str(path), "-f", "rawvideo", "-pix_fmt", "rgb24", "-"],
        capture_output=True,
        check=True,
        timeout=60,
    ).stdout
    frames = np.frombuffer(raw, dtype=np.uint8).reshape(-1, 120 * 160, 3).mean(axis=1)
    distances = ((frames[:, None, :] - np.array(COLOURS)[None, :, :]) ** 2).sum(axis=2)
    return [int(i) for i in distances.argmin(axis=1)]


def shots(clip: ColourClip, scenes: list[int]) -> list[int]:
    """The colour of every frame a cut of ``scenes`` (0-based) holds."""
    return [i for i in scenes for _ in range(round(clip.seconds[i] * FPS))]


def test_remake_of_an_out_of_date_mp4_cuts_the_storyline_as_it_is_now(
    context: BrowserContext,
    stack: E2EStack,  # noqa: F811
    clip: ColourClip,
    tmp_path: Path,
) -> None:
    analysis_id = seed_colour_analysis(stack, clip)
    page, errors = open_timeline(context, analysis_id)

    # The default (smart, frame-accurate) MP4 of the first storyline: scenes 1, 3, 5 exactly.
    page.get_by_test_id("export-target").select_option(label=NAMES[0])
    page.get_by_test_id("export-kind").select_option("mp4")
    expect(page.get_by_test_id("export-mode")).to_have_value("smart")
    page.get_by_test_id("export-button").click()
    first = page.get_by_test_id("export-job").first
    expect(first.get_by_test_id("export-download")).to_be_visible(timeout=90_000)
    expect(first).to_have_attribute("data-stale", "false")
    assert mp4_colours(page, first, tmp_path) == shots(clip, [0, 2, 4])

    # Scene 2 moves into that storyline: the MP4 is out of date, with Remake beside it.
    rect = page.evaluate("(id) => window.timelineDebug.sceneRect(id)", "scene_2")
    page.mouse.click(rect["x"] + rect["width"] / 2, rect["y"] + rect["height"] / 2)
    page.keyboard.press("Digit1")
    expect(page.get_by_test_id("toast").last).to_contain_text("Scene 2 moved to")
    expect(first).to_have_attribute("data-stale", "true")
    expect(first).to_contain_text("Out of date")
    first.get_by_test_id("export-remake").click()

    # A second job, in the same mode, cut from the storylines as they are now.
    expect(page.get_by_test_id("export-job")).to_have_count(2)
    fresh = page.get_by_test_id("export-job").first
    expect(fresh.get_by_test_id("export-download")).to_be_visible(timeout=90_000)
    expect(fresh).to_have_attribute("data-stale", "false")
    expect(fresh.get_by_test_id("export-remake")).to_be_hidden()
    expect(fresh).to_contain_text("Video cut (MP4)")
    assert mp4_colours(page, fresh, tmp_path) == shots(clip, [0, 1, 2, 4])
    rows = job_rows(stack, analysis_id)
    assert [(status, mode) for status, mode, _, _ in rows] == [("completed", "smart")] * 2
    assert all(file for _, _, file, _ in rows) and rows[0][2] != rows[1][2]
    shot(page, "exports-03-mp4-remade")
    assert errors == []


@pytest.fixture(scope="module")
def long_clip(tmp_path_factory: pytest.TempPathFactory) -> ColourClip:
    """Two minutes of noisy 640x360 picture: slow enough to encode that an export is running
    when Cancel is clicked (its six "shots" are seeded as scenes, 20 s each)."""
    path = tmp_path_factory.mktemp("long") / "Long noise.mp4"
    picture = "testsrc2=s=640x360:r=25:d=120,noise=alls=60:allf=t+u"
    sound = "sine=frequency=330:sample_rate=48000:duration=120"
    encode = ["-c:v", "libx264", "-preset", "ultrafast", "-g", "250", "-pix_fmt", "yuv420p"]
    lavfi = ["ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i", picture, "-f", "lavfi", "-i"]
    subprocess.run([*lavfi, sound, *encode, "-c:a", "aac", str(path)], check=True, timeout=300)
    return ColourClip(path, [20.0] * 6, COLOURS)


def test_cancel_stops_a_running_mp4_export_and_keeps_no_file(
    context: BrowserContext,
    stack: E2EStack,  # noqa: F811
    long_clip: ColourClip,
) -> None:
    analysis_id = seed_colour_analysis(stack, long_clip)
    page, errors = open_timeline(context, analysis_id)
    page.get_by_test_id("export-target").select_option(label=NAMES[0])
    page.get_by_test_id("export-kind").select_option("mp4")
    page.get_by_test_id("export-mode").select_option("exact")  # a minute re-encoded
    page.get_by_test_id("export-button").click()
    job = page.get_by_test_id("export-job").first
    expect(job).to_have_attribute("data-status", "running", timeout=60_000)
    cancel = job.get_by_test_id("export-cancel")
    expect(cancel).to_be_visible()
    cancel.click()

    expect(job).to_have_attribute("data-status", "failed", timeout=30_000)
    expect(job).to_contain_text("Cancelled by the user.")
    expect(cancel).to_be_hidden()
    expect(job.get_by_test_id("export-download")).to_be_hidden()
    shot(page, "exports-04-cancelled")
    assert job_rows(stack, analysis_id) == [("failed", "exact", "", "Cancelled by the user.")]
    # The worker stops its ffmpeg at its next report and removes its scratch folder: nothing
    # of the cut is left in storage or in the work folder.
    scratch = stack.workdir / "var" / "work" / "exports"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and scratch.exists() and any(scratch.iterdir()):
        time.sleep(0.5)
    assert not scratch.exists() or not any(scratch.iterdir())
    stored = stack.workdir / "media" / "exports" / analysis_id
    assert not stored.exists() or not any(p.is_file() for p in stored.rglob("*"))
    assert job_rows(stack, analysis_id)[0][0] == "failed"  # the worker did not overwrite it
    assert errors == []
