"""The editor's workbench in headless Chromium against the real stack (Daphne, worker, Redis).

What an editor does: open an analysis's timeline, play a scene, drag a scene to another
storyline, reload and see it kept, undo, see a change made in another tab, export a storyline
and download the MP4. Run: ``pytest tests/test_timeline_browser.py -m browser``; screenshots go
to ``test-artifacts/``.
"""

from __future__ import annotations

import re
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import BrowserContext, Page, expect

from tests.e2e_server import E2EStack
from tests.fixtures_timeline import (
    FPS,
    NAMES,
    ColourClip,
    make_colour_clip,
    seed_colour_analysis,
)
from tests.frontend.test_browser import (  # noqa: F401  (fixtures)
    ARTIFACTS,
    BACK_TO_VIEWPORT,
    TOAST_SECONDS,
    browser,
    log_in,
    ms_left,
    shot,
    stack,
)

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def clip(tmp_path_factory: pytest.TempPathFactory) -> ColourClip:
    return make_colour_clip(tmp_path_factory.mktemp("tl") / "Фильм цвета.mp4", size="320x180")


@pytest.fixture(scope="module")
def analysis_id(stack: E2EStack, clip: ColourClip) -> str:  # noqa: F811
    return seed_colour_analysis(stack, clip)


@pytest.fixture
def context(browser: Any, stack: E2EStack) -> Iterator[BrowserContext]:  # noqa: F811
    # bypass_csp: Playwright's wait_for_function evals strings, which the pages' policy forbids
    # (the policy itself is tested by tests/frontend/test_csp_browser.py).
    ctx = browser.new_context(
        bypass_csp=True,
        base_url=stack.base_url,
        viewport={"width": 1440, "height": 1000},
        accept_downloads=True,
    )
    ctx.set_default_timeout(20_000)
    yield ctx
    ctx.close()


def open_timeline(page: Page, analysis_id: str) -> None:
    page.goto(f"/analyses/{analysis_id}/timeline/")
    page.wait_for_function("document.body.dataset.timeline === 'ready'")


def scene_lane(page: Page, scene_id: str) -> Any:
    return page.evaluate(
        "(id) => { const m = window.timelineDebug.model; const s = m.scene(id);"
        " return s.storyline_id === null ? null : m.storyline(s.storyline_id).name; }",
        scene_id,
    )


def click_scene(page: Page, scene_id: str) -> dict[str, float]:
    rect = page.evaluate("(id) => window.timelineDebug.sceneRect(id)", scene_id)
    page.mouse.click(rect["x"] + rect["width"] / 2, rect["y"] + rect["height"] / 2)
    return rect


def drag_scene_to_lane(page: Page, scene_id: str, lane_index: int) -> None:
    rect = page.evaluate("(id) => window.timelineDebug.sceneRect(id)", scene_id)
    target_y = page.evaluate("(i) => window.timelineDebug.laneCenterY(i)", lane_index)
    x, y = rect["x"] + rect["width"] / 2, rect["y"] + rect["height"] / 2
    page.mouse.move(x, y)
    page.mouse.down()
    for step in range(1, 9):  # real pointer moves, as a hand would make them
        page.mouse.move(x + step * 2, y + (target_y - y) * step / 8)
    page.mouse.up()


def test_editor_plays_drags_reloads_undoes_and_sees_other_tabs(
    context: BrowserContext, analysis_id: str, clip: ColourClip
) -> None:
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    log_in(page)
    # The analysis page leads to the timeline.
    page.goto(f"/analyses/{analysis_id}/")
    page.get_by_test_id("timeline-link").click()
    page.wait_for_function("document.body.dataset.timeline === 'ready'")
    expect(page.get_by_test_id("lane-name")).to_have_text(NAMES)
    expect(page.get_by_test_id("scene-total")).to_have_text("6 scenes · 2 storylines")
    page.wait_for_function(
        "() => [...window.timelineDebug.view.images.values()]"
        ".some((i) => i.complete && i.naturalWidth)"
    )
    expect(page.get_by_test_id("connection-state")).to_have_attribute("data-state", "live")
    shot(page, "timeline-01-open")

    # Clicking scene 4 selects it, shows its details and parks the playhead on its start;
    # Space plays from there.
    start4 = clip.cuts[2]
    click_scene(page, "scene_4")
    page.wait_for_function(
        "(s) => { const v = document.querySelector('[data-testid=video-player]');"
        " return v.paused && Math.abs(v.currentTime - s) < 0.02; }",
        arg=start4,
    )
    page.keyboard.press("Space")
    page.wait_for_function(
        "(s) => { const v = document.querySelector('[data-testid=video-player]');"
        " return !v.paused && v.currentTime >= s && v.currentTime < s + 1.9; }",
        arg=start4,
        timeout=10_000,
    )
    # The playhead follows playback and the spoken word lights up. Looked at first and on
    # every frame: the film runs out 5 s after scene 4 starts, and a word is lit only while
    # it is spoken.
    page.wait_for_function("window.timelineDebug.view.time > %f" % (start4 + 0.3))
    page.wait_for_function(
        "document.querySelectorAll('[data-testid=spoken-line] .word.is-spoken').length === 1"
    )
    page.keyboard.press("Space")  # pause
    page.wait_for_function("document.querySelector('[data-testid=video-player]').paused")
    shot(page, "timeline-02-playing")
    expect(page.get_by_test_id("details-title")).to_have_text("Scene 4")
    expect(page.get_by_test_id("details-storyline")).to_have_text(NAMES[1])
    expect(page.get_by_test_id("details-relevance")).to_contain_text(NAMES[0])
    expect(page.get_by_test_id("details-interest")).to_be_visible()

    # Drag scene 4 from the second storyline's lane to the first one.
    assert scene_lane(page, "scene_4") == NAMES[1]
    drag_scene_to_lane(page, "scene_4", 0)
    expect(page.get_by_test_id("toast").last).to_contain_text(f"Scene 4 moved to “{NAMES[0]}”")
    page.wait_for_function(
        "() => window.timelineDebug.model.scene('scene_4').storyline_id !== null"
        " && window.timelineDebug.model.storyline(window.timelineDebug.model"
        ".scene('scene_4').storyline_id).order === 0"
    )
    shot(page, "timeline-03-dragged")

    # A second tab sees the change arrive over the WebSocket; then the first reloads.
    other = context.new_page()
    open_timeline(other, analysis_id)
    assert scene_lane(other, "scene_4") == NAMES[0]
    expect(other.get_by_test_id("connection-state")).to_have_attribute("data-state", "live")
    page.reload()
    page.wait_for_function("document.body.dataset.timeline === 'ready'")
    assert scene_lane(page, "scene_4") == NAMES[0]  # kept after a reload

    # Keys: select scene 2 (↓ from scene 1), move it with "1", then undo with Ctrl+Z: the
    # change's toast goes away in both windows.
    click_scene(page, "scene_1")
    page.keyboard.press("ArrowDown")
    expect(page.get_by_test_id("details-title")).to_have_text("Scene 2")
    pressed = time.monotonic()
    page.keyboard.press("Digit1")
    expect(page.get_by_test_id("toast").last).to_contain_text("Scene 2 moved to")
    other.wait_for_function(
        "() => window.timelineDebug.model.scene('scene_2').storyline_id"
        " === window.timelineDebug.model.storylines[0].id"
    )
    expect(other.get_by_test_id("toast").last).to_contain_text(
        "Changed in another window by editor: Scene 2 moved to"
    )
    shot(other, "timeline-04-other-tab")
    # The toasts that announce the change (not the undo's "Undone: Scene 2 moved to …").
    moved_here = page.get_by_test_id("toast").filter(has_text=re.compile("^Scene 2 moved"))
    moved_there = other.get_by_test_id("toast").filter(
        has_text=re.compile("^Changed in another window by editor: Scene 2 moved")
    )
    expect(moved_here).to_have_count(1)
    expect(moved_there).to_have_count(1)
    page.keyboard.press("Control+z")
    # Both were shown after "1" was pressed and stay 10 s by themselves: gone before then
    # means the undo took them away.
    expect(moved_here).to_have_count(0, timeout=ms_left(pressed + TOAST_SECONDS))
    expect(moved_there).to_have_count(0, timeout=ms_left(pressed + TOAST_SECONDS))
    page.wait_for_function(
        "() => window.timelineDebug.model.scene('scene_2').storyline_id"
        " === window.timelineDebug.model.storylines[1].id"
    )
    other.wait_for_function(
        "() => window.timelineDebug.model.scene('scene_2').storyline_id"
        " === window.timelineDebug.model.storylines[1].id"
    )
    assert scene_lane(page, "scene_4") == NAMES[0]  # only the last change was undone

    # Rename a storyline, and the help overlay lists the shortcuts.
    page.get_by_test_id("lane-name").nth(1).click()
    page.get_by_test_id("lane-name-input").fill("Гавань")
    page.keyboard.press("Enter")
    expect(page.get_by_test_id("lane-name").nth(1)).to_have_text("Гавань")
    page.keyboard.press("?")
    expect(page.get_by_test_id("help-dialog")).to_contain_text(
        "Move the selected scene(s) to storyline"
    )
    shot(page, "timeline-05-help")
    page.keyboard.press("Escape")
    assert errors == []


def test_tabs_editing_at_the_same_moment_each_announce_the_others_change(
    context: BrowserContext,
    stack: E2EStack,  # noqa: F811
    clip: ColourClip,
) -> None:
    here = context.new_page()
    log_in(here)
    analysis_id = seed_colour_analysis(stack, clip)
    open_timeline(here, analysis_id)
    there = context.new_page()
    open_timeline(there, analysis_id)
    for page in (here, there):
        expect(page.get_by_test_id("connection-state")).to_have_attribute("data-state", "live")
    click_scene(here, "scene_2")
    expect(here.get_by_test_id("details-title")).to_have_text("Scene 2")
    click_scene(there, "scene_3")
    expect(there.get_by_test_id("details-title")).to_have_text("Scene 3")

    # Scene 2 moves here and scene 3 there, a moment apart: each tab confirms its own change
    # and announces the other's (a tab knows its own by the id the server echoes, not by how
    # recently it made a change of its own).
    here.keyboard.press("Digit1")
    there.keyboard.press("Digit2")

    def toasts(page: Page, text: str) -> Any:
        return page.get_by_test_id("toast").filter(has_text=re.compile(text))

    elsewhere = "^Changed in another window by editor: "
    expect(toasts(here, f"^Scene 2 moved to “{NAMES[0]}”")).to_have_count(1)
    expect(toasts(there, f"^Scene 3 moved to “{NAMES[1]}”")).to_have_count(1)
    expect(toasts(here, f"{elsewhere}Scene 3 moved to “{NAMES[1]}”")).to_have_count(1)
    expect(toasts(there, f"{elsewhere}Scene 2 moved to “{NAMES[0]}”")).to_have_count(1)
    expect(toasts(here, f"{elsewhere}Scene 2")).to_have_count(0)
    expect(toasts(there, f"{elsewhere}Scene 3")).to_have_count(0)
    for page in (here, there):
        page.wait_for_function(
            "() => { const m = window.timelineDebug.model; return"
            " m.scene('scene_2').storyline_id === m.storylines[0].id"
            " && m.scene('scene_3').storyline_id === m.storylines[1].id; }"
        )

    # Scene 6 moves here, then scene 5 there; Ctrl+Z here takes back the newest change, the
    # one made there: its toasts go away in both tabs, and this tab's own change keeps its
    # toast (and its Undo).
    click_scene(here, "scene_6")
    expect(here.get_by_test_id("details-title")).to_have_text("Scene 6")
    click_scene(there, "scene_5")
    expect(there.get_by_test_id("details-title")).to_have_text("Scene 5")
    lives = time.monotonic() + TOAST_SECONDS  # the toasts below would go by themselves then
    here.keyboard.press("Digit1")
    expect(toasts(here, "^Scene 6 moved")).to_have_count(1)
    there.keyboard.press("Digit2")
    expect(toasts(there, "^Scene 5 moved")).to_have_count(1)
    expect(toasts(here, f"{elsewhere}Scene 5 moved")).to_have_count(1)
    here.keyboard.press("Control+z")
    expect(toasts(there, "^Undone in another window by editor: Scene 5 moved")).to_have_count(1)
    expect(toasts(there, "^Scene 5 moved")).to_have_count(0, timeout=ms_left(lives))
    expect(toasts(here, f"{elsewhere}Scene 5")).to_have_count(0, timeout=ms_left(lives))
    here.wait_for_function(
        "() => { const m = window.timelineDebug.model;"
        " return m.scene('scene_5').storyline_id === m.storylines[0].id; }"
    )
    expect(toasts(here, "^Scene 6 moved")).to_have_count(1, timeout=ms_left(lives))


def test_export_a_storyline_and_download_the_mp4(
    context: BrowserContext, analysis_id: str, tmp_path: Path
) -> None:
    page = context.new_page()
    log_in(page)
    open_timeline(page, analysis_id)
    page.get_by_test_id("export-target").select_option(label=NAMES[0])
    page.get_by_test_id("export-kind").select_option("mp4")
    # Keyframes only says beforehand how much other footage it would include.
    page.get_by_test_id("export-mode").select_option("copy")
    expect(page.get_by_test_id("export-note")).to_contain_text("s of other footage")
    page.get_by_test_id("export-mode").select_option("exact")
    expect(page.get_by_test_id("export-note")).to_be_hidden()
    page.get_by_test_id("export-button").click()
    job = page.get_by_test_id("export-job").first
    link = job.get_by_test_id("export-download")
    expect(link).to_be_visible(timeout=120_000)
    shot(page, "timeline-06-export-ready")
    with page.expect_download() as info:
        link.click()
    download = info.value
    assert download.suggested_filename == f"Фильм цвета - {NAMES[0]}.mp4"
    target = tmp_path / "cut.mp4"
    download.save_as(target)
    # The storyline now holds scenes 1, 3, 4 (moved in) and 5: its cut is their frames.
    names = page.evaluate(
        "() => { const m = window.timelineDebug.model; const id = m.storylines[0].id;"
        " return m.scenes.filter((s) => s.storyline_id === id).map((s) => s.id); }"
    )
    seconds = page.evaluate(
        "(ids) => ids.reduce((t, id) => { const s = window.timelineDebug.model.scene(id);"
        " return t + s.end - s.start; }, 0)",
        names,
    )
    frames = subprocess.run(
        [
            "ffprobe",
            "-v",
            "error",
            "-select_streams",
            "v:0",
            "-count_packets",
            "-show_entries",
            "stream=nb_read_packets",
            "-of",
            "csv=p=0",
            str(target),
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert int(frames) == round(seconds * FPS)


def test_someone_elses_timeline_is_not_found(context: BrowserContext, analysis_id: str) -> None:
    from tests.e2e_server import OTHER_USERNAME

    page = context.new_page()
    log_in(page, OTHER_USERNAME)
    response = page.goto(f"/analyses/{analysis_id}/timeline/")
    assert response is not None and response.status == 404
    api = page.request.get(f"/api/analyses/{analysis_id}/timeline")
    assert api.status == 404
    assert re.search("No such analysis", api.text())


LONG_NAMES = ["American Psycho at the office", "Harbour in the early morning"]


@pytest.fixture(scope="module")
def long_names_analysis(stack: E2EStack, clip: ColourClip) -> str:  # noqa: F811
    return seed_colour_analysis(stack, clip, names=LONG_NAMES)


def box(page: Page, test_id: str, nth: int = 0) -> dict[str, float]:
    found = page.get_by_test_id(test_id).nth(nth).bounding_box()
    assert found is not None, f"{test_id} is not shown"
    return found


def test_player_lanes_and_details_fit_one_screen_with_resizable_panels(
    browser: Any,  # noqa: F811
    stack: E2EStack,  # noqa: F811
    long_names_analysis: str,
) -> None:
    ctx = browser.new_context(
        bypass_csp=True, base_url=stack.base_url, viewport={"width": 1440, "height": 900}
    )
    try:
        page = ctx.new_page()
        log_in(page)
        open_timeline(page, long_names_analysis)
        # Everything in the first screen, without scrolling.
        for test_id in ("video-player", "details-panel", "timeline-toolbar", "lane-none"):
            found = box(page, test_id)
            assert found["y"] >= 0 and found["y"] + found["height"] <= 900, (test_id, found)
        assert page.evaluate("document.scrollingElement.scrollTop") == 0
        assert box(page, "video-player")["height"] >= 250
        # Lane names whole, "Merge into…" readable.
        expect(page.get_by_test_id("lane-name")).to_have_text(LONG_NAMES)
        cut = page.evaluate(
            "() => [...document.querySelectorAll('[data-testid=lane-name]')]"
            ".filter((n) => n.scrollWidth > n.clientWidth).map((n) => n.textContent)"
        )
        assert cut == []
        room = page.evaluate(
            """() => { const s = document.querySelector('[data-testid=lane-merge]');
              const c = document.createElement('canvas').getContext('2d');
              c.font = getComputedStyle(s).font;
              return s.clientWidth - c.measureText(s.options[s.selectedIndex].text).width; }"""
        )
        assert room >= 16, f"'Merge into…' does not fit its menu ({room:.0f} px to spare)"
        shot(page, "timeline-07-1440x900")

        # A window made small for a moment (too small for this player) gives it its size back.
        video_before = box(page, "video-player")["height"]
        page.set_viewport_size({"width": 1440, "height": 400})
        page.wait_for_function(BACK_TO_VIEWPORT, arg=400)
        page.set_viewport_size({"width": 1440, "height": 900})
        page.wait_for_function(BACK_TO_VIEWPORT, arg=900)
        assert box(page, "video-player")["height"] == video_before

        # Drag the splitter between the player and the timeline up: the player shrinks.
        handle = box(page, "split-timeline")
        x, y = handle["x"] + handle["width"] / 2, handle["y"] + handle["height"] / 2
        page.mouse.move(x, y)
        page.mouse.down()
        for step in range(1, 6):
            page.mouse.move(x, y - step * 20)
        page.mouse.up()
        assert box(page, "video-player")["height"] == pytest.approx(video_before - 100, abs=4)
        # The details column by keyboard: ← widens it (it is on the right).
        details_before = box(page, "details-panel")["width"]
        page.get_by_test_id("split-details").focus()
        page.keyboard.press("ArrowLeft")
        page.keyboard.press("ArrowLeft")
        assert box(page, "details-panel")["width"] == pytest.approx(details_before + 32, abs=2)
        # Sizes are kept for the next visit.
        page.reload()
        page.wait_for_function("document.body.dataset.timeline === 'ready'")
        assert box(page, "video-player")["height"] == pytest.approx(video_before - 100, abs=4)
    finally:
        ctx.close()


def frame_now(page: Page) -> int:
    return int(
        page.evaluate(
            "() => Math.round(document.querySelector('[data-testid=video-player]')"
            ".currentTime * 25 - 0.25)"
        )
    )


def test_editing_keys_shuttle_step_frames_and_mark_in_and_out(
    context: BrowserContext, long_names_analysis: str, clip: ColourClip
) -> None:
    page = context.new_page()
    log_in(page)
    open_timeline(page, long_names_analysis)
    click_scene(page, "scene_3")
    expect(page.get_by_test_id("details-title")).to_have_text("Scene 3")
    start3 = round(clip.cuts[1] * FPS)
    page.wait_for_function("document.querySelector('[data-testid=video-player]').readyState >= 1")
    assert page.evaluate("document.querySelector('[data-testid=video-player]').paused")
    parked = page.evaluate("document.querySelector('[data-testid=video-player]').currentTime")
    assert round(parked * FPS) == start3
    page.keyboard.press("ArrowRight")
    assert frame_now(page) == start3 + 1
    page.keyboard.press("Shift+ArrowRight")
    assert frame_now(page) == start3 + 1 + FPS
    page.keyboard.press("ArrowLeft")
    assert frame_now(page) == start3 + FPS
    page.keyboard.press("End")
    assert frame_now(page) == round(sum(clip.seconds) * FPS) - 1
    page.keyboard.press("Home")
    assert frame_now(page) == 0

    # In at 1 s, out at 3 s; Shift+I goes back to the in mark.
    page.keyboard.press("Shift+ArrowRight")
    page.keyboard.press("i")
    page.keyboard.press("Shift+ArrowRight")
    page.keyboard.press("Shift+ArrowRight")
    page.keyboard.press("o")
    expect(page.get_by_test_id("marks-display")).to_have_text("In 00:01.0 Out 00:03.0 (00:02.0)")
    page.keyboard.press("Shift+i")
    assert frame_now(page) == FPS
    page.keyboard.press("x")
    expect(page.get_by_test_id("marks-display")).to_have_text("")

    # L plays, L again plays twice as fast, K stops; J plays backward.
    page.keyboard.press("l")
    page.wait_for_function("!document.querySelector('[data-testid=video-player]').paused")
    page.keyboard.press("l")
    page.wait_for_function(
        "document.querySelector('[data-testid=video-player]').playbackRate === 2"
    )
    page.keyboard.press("k")
    page.wait_for_function(
        "() => { const v = document.querySelector('[data-testid=video-player]');"
        " return v.paused && v.playbackRate === 1; }"
    )
    page.keyboard.press("Shift+ArrowRight")
    page.keyboard.press("Shift+ArrowRight")
    before = page.evaluate("document.querySelector('[data-testid=video-player]').currentTime")
    page.keyboard.press("j")
    page.wait_for_function(
        "(t) => document.querySelector('[data-testid=video-player]').currentTime < t - 0.3",
        arg=before,
    )
    assert page.evaluate("document.querySelector('[data-testid=video-player]').paused")
    page.keyboard.press("k")
    assert page.evaluate("window.timelineDebug.transport.speed") == 0
    # ↓ selects the next scene after the playhead's scene.
    page.keyboard.press("ArrowDown")
    expect(page.get_by_test_id("details-title")).to_have_text(re.compile(r"Scene [23]"))


def test_the_timeline_on_a_phone(
    browser: Any,  # noqa: F811
    stack: E2EStack,  # noqa: F811
    long_names_analysis: str,
) -> None:
    ctx = browser.new_context(
        bypass_csp=True,
        base_url=stack.base_url,
        viewport={"width": 390, "height": 844},
        is_mobile=True,
        has_touch=True,
    )
    try:
        page = ctx.new_page()
        log_in(page)
        open_timeline(page, long_names_analysis)
        wide = page.evaluate(
            "() => [...document.querySelectorAll('body *')].filter((e) =>"
            " e.getBoundingClientRect().right > 391 && e.offsetParent !== null)"
            ".slice(0, 5).map((e) => `${e.tagName}.${e.className}#${e.id}`)"
        )
        assert page.evaluate("document.documentElement.scrollWidth") <= 390, wide
        toolbar = box(page, "timeline-toolbar")
        assert toolbar["height"] <= 56, f"the toolbar wraps: {toolbar}"
        for nth in range(2):
            name = box(page, "lane-name", nth)
            assert name["width"] >= 60 and name["x"] >= 0
        cut = page.evaluate(
            "() => [...document.querySelectorAll('[data-testid=lane-name]')]"
            ".filter((n) => n.scrollHeight > n.clientHeight + 1 || n.scrollWidth > n.clientWidth)"
            ".map((n) => [n.textContent, n.scrollWidth, n.clientWidth, n.scrollHeight,"
            " n.clientHeight])"
        )
        assert cut == [], "lane names cut on a phone"
        assert box(page, "video-player")["height"] >= 150
        assert box(page, "timeline-canvas")["width"] >= 200
        click_scene(page, "scene_2")
        expect(page.get_by_test_id("details-title")).to_have_text("Scene 2")
        shot(page, "timeline-08-phone")
    finally:
        ctx.close()


def test_an_export_made_before_a_change_shows_as_out_of_date(
    context: BrowserContext,
    stack: E2EStack,  # noqa: F811
    clip: ColourClip,
) -> None:
    page = context.new_page()
    log_in(page)
    open_timeline(page, seed_colour_analysis(stack, clip))
    page.get_by_test_id("export-target").select_option(label=NAMES[0])
    page.get_by_test_id("export-kind").select_option("edl")
    page.get_by_test_id("export-button").click()
    job = page.get_by_test_id("export-job").first
    expect(job).to_have_attribute("data-status", "completed", timeout=120_000)
    expect(job).to_have_attribute("data-stale", "false")
    expect(job.get_by_test_id("export-remake")).to_be_hidden()

    # Scene 2 (second storyline) moves into the first: its edit list no longer matches.
    click_scene(page, "scene_2")
    page.keyboard.press("Digit1")
    expect(page.get_by_test_id("toast").last).to_contain_text(f"Scene 2 moved to “{NAMES[0]}”")
    expect(job).to_have_attribute("data-stale", "true")
    expect(job).to_contain_text("Out of date")
    shot(page, "timeline-09-export-out-of-date")
    # One click makes it again from the storylines as they are now.
    job.get_by_test_id("export-remake").click()
    fresh = page.locator("[data-testid=export-job][data-stale=false][data-status=completed]")
    expect(fresh).to_have_count(1, timeout=120_000)
    expect(fresh).to_contain_text("Ready")
