"""The editor's workbench in headless Chromium against the real stack (Daphne, worker, Redis).

What an editor does: open an analysis's timeline, play a scene, drag a scene to another
storyline, reload and see it kept, undo, see a change made in another tab, export a storyline
and download the MP4. Run: ``pytest tests/test_timeline_browser.py -m browser``; screenshots go
to ``test-artifacts/``.
"""

from __future__ import annotations

import re
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import BrowserContext, Page, expect

from tests.e2e_server import USERNAME, E2EStack
from tests.fixtures_timeline import ASSIGNMENT, FPS, NAMES, ColourClip, make_colour_clip
from tests.frontend.test_browser import ARTIFACTS, browser, log_in, shot, stack  # noqa: F401  (fixtures)

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def clip(tmp_path_factory: pytest.TempPathFactory) -> ColourClip:
    return make_colour_clip(tmp_path_factory.mktemp("tl") / "Фильм цвета.mp4", size="320x180")


@pytest.fixture(scope="module")
def analysis_id(stack: E2EStack, clip: ColourClip) -> str:  # noqa: F811
    cuts = ",".join(f"{c:.3f}" for c in clip.cuts)
    out = stack.manage(
        "seed_analysis",
        str(clip.path),
        "--user",
        USERNAME,
        "--cuts",
        cuts,
        "--storylines",
        "2",
        "--assignment",
        ",".join(map(str, ASSIGNMENT)),
        "--names",
        "|".join(NAMES),
    )
    return out.strip().splitlines()[-1]


@pytest.fixture
def context(browser: Any, stack: E2EStack) -> Iterator[BrowserContext]:  # noqa: F811
    ctx = browser.new_context(
        base_url=stack.base_url, viewport={"width": 1440, "height": 1000}, accept_downloads=True
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

    # Clicking scene 4 selects it, shows its details and plays it from its start.
    start4 = clip.cuts[2]
    click_scene(page, "scene_4")
    page.wait_for_function(
        "(s) => { const v = document.querySelector('[data-testid=video-player]');"
        " return !v.paused && v.currentTime >= s && v.currentTime < s + 1.9; }",
        arg=start4,
        timeout=10_000,
    )
    expect(page.get_by_test_id("details-title")).to_have_text("Scene 4")
    expect(page.get_by_test_id("details-storyline")).to_have_text(NAMES[1])
    expect(page.get_by_test_id("details-relevance")).to_contain_text(NAMES[0])
    expect(page.get_by_test_id("details-interest")).to_be_visible()
    # The playhead follows playback and the spoken word lights up.
    page.wait_for_function("window.timelineDebug.view.time > %f" % (start4 + 0.3))
    expect(page.locator("[data-testid=spoken-line] .word.is-spoken")).to_have_count(
        1, timeout=10_000
    )
    shot(page, "timeline-02-playing")
    page.keyboard.press("Space")  # pause
    page.wait_for_function("document.querySelector('[data-testid=video-player]').paused")

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

    # Keys: select scene 2 (J/K), move it with "2"… then undo with Ctrl+Z.
    click_scene(page, "scene_1")
    page.keyboard.press("k")
    expect(page.get_by_test_id("details-title")).to_have_text("Scene 2")
    page.keyboard.press("Digit1")
    expect(page.get_by_test_id("toast").last).to_contain_text("Scene 2 moved to")
    other.wait_for_function(
        "() => window.timelineDebug.model.scene('scene_2').storyline_id"
        " === window.timelineDebug.model.storylines[0].id"
    )
    expect(other.get_by_test_id("toast").last).to_contain_text("Changed in another window")
    shot(other, "timeline-04-other-tab")
    page.keyboard.press("Control+z")
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
