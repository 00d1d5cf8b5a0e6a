"""An out-of-date export in the browser: marked so once its storyline changes, and remade with
one click (issue 16), against the real stack (Daphne, worker, Redis) in headless Chromium."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import BrowserContext, Page, expect

from tests.axe import assert_accessible
from tests.e2e_server import E2EStack
from tests.fixtures_timeline import NAMES, ColourClip, make_colour_clip, seed_colour_analysis
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
