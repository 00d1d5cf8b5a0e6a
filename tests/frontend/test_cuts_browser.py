"""Cut review in headless Chromium against the real stack (Daphne, worker, Redis, Postgres).

An editor adds a cut at the playhead (C), sees the scene split and the re-run of the two new
scenes finish with their pictures and sound measured, drags a cut on the ruler, removes one
from the cut list, undoes with Ctrl+Z, redoes (Ctrl+Shift+Z, the toolbar, Ctrl+Y), and sees
an export made before go out of date. A re-run that fails (the video gone from storage) keeps
the analysis completed, says so, and is retried from the panel.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import BrowserContext, Page, expect

from tests.axe import assert_accessible
from tests.e2e_server import E2EStack
from tests.fixtures_timeline import NAMES, ColourClip, make_colour_clip, seed_colour_analysis
from tests.frontend.test_browser import (  # noqa: F401  (fixtures)
    TOAST_SECONDS,
    browser,
    log_in,
    ms_left,
    shot,
    stack,
)

pytestmark = pytest.mark.browser
RERUN_MS = 240_000  # a re-run decodes the clip and loads the audio and text models once


@pytest.fixture(scope="module")
def clip(tmp_path_factory: pytest.TempPathFactory) -> ColourClip:
    return make_colour_clip(tmp_path_factory.mktemp("cuts") / "Фильм цвета.mp4", size="320x180")


@pytest.fixture(scope="module")
def analysis_id(stack: E2EStack, clip: ColourClip) -> str:  # noqa: F811
    return seed_colour_analysis(stack, clip)


@pytest.fixture
def context(browser: Any, stack: E2EStack) -> Iterator[BrowserContext]:  # noqa: F811
    # bypass_csp: Playwright's wait_for_function evals strings, which the pages' policy forbids.
    ctx = browser.new_context(
        bypass_csp=True, base_url=stack.base_url, viewport={"width": 1440, "height": 1000}
    )
    ctx.set_default_timeout(20_000)
    yield ctx
    ctx.close()


def scene_bounds(page: Page) -> list[list[float]]:
    return page.evaluate("() => window.timelineDebug.model.scenes.map((s) => [s.start, s.end])")


def wait_rerun_done(page: Page) -> None:
    """The re-run's status shows, then goes once the worker is done and the page reloaded."""
    status = page.get_by_test_id("rescene-status")
    expect(status).to_be_hidden(timeout=RERUN_MS)
    expect(
        page.get_by_test_id("toast").filter(has_text="re-run: pictures, sound")
    ).not_to_have_count(0)
    page.wait_for_function("() => window.timelineDebug.view.pending.size === 0")


def scene_rows(page: Page, analysis_id: str) -> list[dict[str, Any]]:
    response = page.request.get(f"/api/analyses/{analysis_id}/scenes")
    assert response.ok
    rows: list[dict[str, Any]] = response.json()
    return rows


def ruler_point(page: Page, time: float) -> tuple[float, float]:
    return page.evaluate(
        "(t) => { const v = window.timelineDebug.view;"
        " const box = v.canvas.getBoundingClientRect();"
        " return [box.left + v.timeToX(t), box.top + v.rows[0].y + v.rows[0].h - 3]; }",
        time,
    )


def teach_stage_costs(stack: E2EStack, analysis_id: str) -> None:  # noqa: F811
    """A finished analysis of the clip with every stage timed (cold, so the costs stand for a
    worker's first run too), as a whole run leaves one: re-runs are estimated from it."""
    stack.manage(
        "shell",
        "-c",
        "from django.utils import timezone\n"
        "from analysis.models import Analysis, AnalysisStatus\n"
        "from analysis.pipeline import build_pipeline\n"
        f"seeded = Analysis.objects.get(pk='{analysis_id}')\n"
        "names = [s.name for s in build_pipeline(seeded.parameters.get('stages'))]\n"
        "Analysis.objects.create(video=seeded.video, status=AnalysisStatus.COMPLETED,"
        " finished_at=timezone.now(),"
        " metadata={'stage_seconds': dict.fromkeys(names, 2.0), 'cold_stages': names})\n",
    )


def test_editor_adds_moves_removes_and_undoes_cuts(
    context: BrowserContext,
    analysis_id: str,
    clip: ColourClip,
    stack: E2EStack,  # noqa: F811
) -> None:
    teach_stage_costs(stack, analysis_id)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    log_in(page)
    page.goto(f"/analyses/{analysis_id}/timeline/")
    page.wait_for_function("document.body.dataset.timeline === 'ready'")
    expect(page.get_by_test_id("connection-state")).to_have_attribute("data-state", "live")
    expect(page.get_by_test_id("cut-count")).to_have_text("5")

    # An EDL of the first storyline, made before any cut edit.
    page.get_by_test_id("export-target").select_option(label=NAMES[0])
    page.get_by_test_id("export-kind").select_option("edl")
    page.get_by_test_id("export-button").click()
    job = page.get_by_test_id("export-job").first
    expect(job).to_have_attribute("data-status", "completed", timeout=60_000)
    expect(job).to_have_attribute("data-stale", "false")

    # Park the playhead on scene 4 (3.8 s), one second on, and cut there with C.
    rect = page.evaluate("() => window.timelineDebug.sceneRect('scene_4')")
    page.mouse.click(rect["x"] + rect["width"] / 2, rect["y"] + rect["height"] / 2)
    page.keyboard.press("Shift+ArrowRight")
    page.wait_for_function("Math.abs(window.timelineDebug.view.time - 4.8) < 0.01")
    page.keyboard.press("c")
    added = page.get_by_test_id("toast").filter(has_text="Cut added at 00:05")
    expect(added).to_contain_text("Cut added at 00:05: scene 4 split into scenes 4 and 5")
    expect(page.get_by_test_id("scene-total")).to_have_text("7 scenes · 2 storylines")
    bounds = scene_bounds(page)
    assert bounds[3] == pytest.approx([3.8, 4.8]) and bounds[4] == pytest.approx([4.8, 5.8])
    status = page.get_by_test_id("rescene-status")
    expect(status).to_contain_text("Re-running scenes 4, 5")
    # Once a tenth is done, the time left as the analysis page words it.
    expect(status).to_contain_text(
        re.compile(r"less than a minute left|min left"), timeout=RERUN_MS
    )
    shot(page, "cuts-01-rerunning")
    wait_rerun_done(page)
    # The new scenes have their own pictures and sound; scene 6 (not touched) has no sound
    # measured, as seeded.
    rows = scene_rows(page, analysis_id)
    assert [r["id"] for r in rows][3:5] == ["scene_4", "scene_5"]
    for row in rows[3:5]:
        assert row["keyframe_url"] and row["thumbnail_url"] and row["audio"]["rms_energy"] > 0.01
    assert rows[5]["audio"] is None
    expect(page.get_by_test_id("export-job").first).to_have_attribute("data-stale", "true")
    expect(page.get_by_test_id("export-job").first).to_contain_text("Out of date")

    # Drag the new cut's marker on the ruler from 4.8 s to about 5.1 s (scene 5 ends at 5.8).
    page.get_by_test_id("timeline-canvas").scroll_into_view_if_needed()
    x, y = ruler_point(page, 4.8)
    to_x, _ = ruler_point(page, 5.1)
    page.mouse.move(x, y)
    page.mouse.down()
    for step in range(1, 9):
        page.mouse.move(x + (to_x - x) * step / 8, y)
    page.mouse.up()
    expect(page.get_by_test_id("toast").filter(has_text="Scene 5 now starts at")).to_have_count(1)
    moved = scene_bounds(page)[4][0]
    assert moved == pytest.approx(5.1, abs=0.08) and round(moved * 25, 6) == round(moved * 25)
    wait_rerun_done(page)

    # Remove the cut before scene 3 from the cut list: scenes 2 and 3 join.
    page.locator("#cuts-panel summary").click()
    item = page.get_by_test_id("cut-item").filter(has_text="scene 2 | scene 3")
    item.get_by_role("button", name="Remove the cut before scene 3").click()
    removed_at = time.monotonic()
    # The toast that announces the removal (not the undo's "Undone: Cut at 00:03 removed").
    removal = page.get_by_test_id("toast").filter(has_text=re.compile("^Cut at 00:03 removed"))
    expect(removal).to_contain_text("scenes 2 and 3 merged into scene 2")
    expect(page.get_by_test_id("scene-total")).to_have_text("6 scenes · 2 storylines")
    assert scene_bounds(page)[1] == pytest.approx([1.0, 3.8])
    expect(page.get_by_test_id("cut-count")).to_have_text("5")
    expect(page.get_by_test_id("rescene-status")).to_contain_text("Re-running scene 2")

    # Ctrl+Z at once (the re-run is taken over): the same scenes again, the removal's toast
    # taken away when the undo is confirmed. The toast lives 10 s by itself, so it must be
    # gone before then, counted from the removal (the accessibility scan comes after).
    expect(removal).to_have_count(1)
    page.keyboard.press("Control+z")
    undone = page.get_by_test_id("toast").filter(has_text="Undone: Cut at 00:03 removed")
    expect(undone).to_have_count(1)
    expect(removal).to_have_count(0, timeout=ms_left(removed_at + TOAST_SECONDS))
    expect(page.get_by_test_id("scene-total")).to_have_text("7 scenes · 2 storylines")
    bounds = scene_bounds(page)
    assert bounds[1] == pytest.approx([1.0, 2.6]) and bounds[2] == pytest.approx([2.6, 3.8])
    expect(page.get_by_test_id("rescene-status")).to_contain_text("Re-running scenes 2, 3")
    assert_accessible(page, "timeline with the cut list and a re-run going on")

    # Redo makes the removal again (Ctrl+Shift+Z, the toolbar's Redo, Ctrl+Y), Undo takes it
    # back; each takes the re-run over.
    redo_button = page.get_by_test_id("redo-button")
    for redo in ("Control+Shift+z", "button", "Control+y"):
        expect(redo_button).to_be_enabled()
        if redo == "button":
            redo_button.click()
        else:
            page.keyboard.press(redo)
        redone = page.get_by_test_id("toast").filter(has_text="Redone: Cut at 00:03 removed")
        expect(redone).not_to_have_count(0)
        expect(page.get_by_test_id("scene-total")).to_have_text("6 scenes · 2 storylines")
        assert scene_bounds(page)[1] == pytest.approx([1.0, 3.8])
        expect(redo_button).to_be_disabled()
        if redo != "Control+y":
            page.keyboard.press("Control+z")
            expect(page.get_by_test_id("scene-total")).to_have_text("7 scenes · 2 storylines")
    expect(page.get_by_test_id("rescene-status")).to_contain_text("Re-running scene 2")
    wait_rerun_done(page)
    assert scene_bounds(page)[1] == pytest.approx([1.0, 3.8])
    shot(page, "cuts-02-redone")
    assert not errors, errors


def stored_video(stack: E2EStack, analysis_id: str) -> Path:  # noqa: F811
    code = (
        "from analysis.models import Analysis; "
        f"print(Analysis.objects.get(pk={analysis_id!r}).video.file.path)"
    )
    return Path(stack.manage("shell", "-c", code).strip().splitlines()[-1])


def test_a_failed_rerun_keeps_the_results_and_offers_a_retry(
    context: BrowserContext,
    stack: E2EStack,  # noqa: F811
    analysis_id: str,
) -> None:
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    log_in(page)
    timeline = f"/analyses/{analysis_id}/timeline/"
    page.goto(timeline)
    page.wait_for_function("document.body.dataset.timeline === 'ready'")
    expect(page.get_by_test_id("connection-state")).to_have_attribute("data-state", "live")
    scenes = page.evaluate("() => window.timelineDebug.model.scenes.length")
    stored = stored_video(stack, analysis_id)
    away = stored.with_name("away.mp4")
    stored.rename(away)  # the worker cannot read the video: the re-run fails
    try:
        # A cut one second into the last scene (7.2 .. 9.0 s).
        rect = page.evaluate(f"() => window.timelineDebug.sceneRect('scene_{scenes}')")
        page.mouse.click(rect["x"] + rect["width"] / 2, rect["y"] + rect["height"] / 2)
        page.keyboard.press("Shift+ArrowRight")
        page.keyboard.press("c")
        expect(page.get_by_test_id("toast").filter(has_text="Cut added at")).to_have_count(1)
        status = page.get_by_test_id("rescene-status")
        expect(status).to_have_attribute("data-state", "failed", timeout=RERUN_MS)
        expect(status).to_contain_text(f"The re-run of scenes {scenes}, {scenes + 1} failed")
        expect(status).to_contain_text("missing from storage")
        expect(status).to_contain_text("keeps its results")
        retry = page.get_by_test_id("rescene-retry")
        expect(retry).to_be_visible()
        analysis = page.request.get(f"/api/analyses/{analysis_id}").json()
        assert analysis["status"] == "completed" and not analysis["error"]
        # A page opened later shows the failure too.
        page.reload()
        page.wait_for_function("document.body.dataset.timeline === 'ready'")
        expect(page.get_by_test_id("rescene-status")).to_have_attribute("data-state", "failed")
        assert_accessible(page, "timeline with a failed re-run")
        shot(page, "cuts-03-rerun-failed")
    finally:
        away.rename(stored)

    page.get_by_test_id("rescene-retry").click()
    expect(page.get_by_test_id("rescene-status")).to_have_attribute("data-state", "running")
    wait_rerun_done(page)
    expect(page.get_by_test_id("rescene-retry")).to_be_hidden()
    rows = scene_rows(page, analysis_id)
    assert len(rows) == scenes + 1 and rows[-1]["audio"]["rms_energy"] > 0.01
    assert not errors, errors


def overflowing(page: Page, width: int) -> list[str]:
    """Visible elements that reach past the right edge of a ``width``-pixel screen."""
    found: list[str] = page.evaluate(
        "(w) => [...document.querySelectorAll('body *')].filter((e) =>"
        " e.getBoundingClientRect().right > w + 1 && e.offsetParent !== null"
        " && !e.closest('.tl-toolbar'))"  # the toolbar scrolls sideways on purpose
        ".slice(0, 5).map((e) => `${e.tagName}.${e.className}#${e.id}`)",
        width,
    )
    return found


def test_the_cut_list_on_a_phone(
    browser: Any,  # noqa: F811
    stack: E2EStack,  # noqa: F811
    analysis_id: str,
) -> None:
    ctx = browser.new_context(
        bypass_csp=True,
        base_url=stack.base_url,
        viewport={"width": 390, "height": 844},
        is_mobile=True,
        has_touch=True,
    )
    ctx.set_default_timeout(20_000)
    try:
        page = ctx.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        log_in(page)
        page.goto(f"/analyses/{analysis_id}/timeline/")
        page.wait_for_function("document.body.dataset.timeline === 'ready'")
        expect(page.get_by_test_id("connection-state")).to_have_attribute("data-state", "live")
        page.locator("#cuts-panel summary").tap()
        items = page.get_by_test_id("cut-item")
        count = int(page.get_by_test_id("cut-count").inner_text())
        expect(items).to_have_count(count)
        assert count >= 3
        assert page.evaluate("document.documentElement.scrollWidth") <= 390
        assert overflowing(page, 390) == []
        # Every button of every cut is on the screen and big enough to tap (WCAG 2.5.8).
        for n in range(count):
            for button in items.nth(n).get_by_role("button").all():
                button.scroll_into_view_if_needed()
                rect = button.bounding_box()
                assert rect is not None and rect["x"] >= 0 and rect["x"] + rect["width"] <= 390
                assert rect["width"] >= 24 and rect["height"] >= 24, rect
        shot(page, "cuts-04-phone")
        assert_accessible(page, "timeline with the cut list on a phone")

        # Tap a cut's time: the playhead goes there. Tap Remove: the two scenes join, and the
        # re-run's status fits the screen too.
        second = items.nth(1)
        time = float(second.get_attribute("data-time") or "nan")
        second.get_by_role("button", name=re.compile("Go to the cut")).tap()
        page.wait_for_function(f"Math.abs(window.timelineDebug.view.time - {time}) < 0.05")
        scenes = page.evaluate("() => window.timelineDebug.model.scenes.length")
        second.get_by_role("button", name=re.compile("Remove the cut")).tap()
        expect(page.get_by_test_id("toast").filter(has_text="removed")).not_to_have_count(0)
        expect(items).to_have_count(count - 1)
        assert page.evaluate("() => window.timelineDebug.model.scenes.length") == scenes - 1
        status = page.get_by_test_id("rescene-status")
        expect(status).to_be_visible()
        rect = status.bounding_box()
        assert rect is not None and rect["x"] + rect["width"] <= 390
        assert overflowing(page, 390) == []
        shot(page, "cuts-05-phone-rerun")
        # Undo from the toolbar (it scrolls sideways on a phone): the cut is back.
        page.get_by_test_id("undo-button").tap()
        expect(items).to_have_count(count)
        wait_rerun_done(page)
        assert not errors, errors
    finally:
        ctx.close()
