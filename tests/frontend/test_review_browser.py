"""Unsure storyline placements on the timeline, in headless Chromium against the real stack.

The seeded analysis has two scenes whose storyline the grouping is unsure of (scenes 2 and 5):
the lanes flag them, the details panel says why, "Review 2" steps through them, and an editor's
move makes the scene certain, so its flag goes away live (and comes back on undo).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import BrowserContext, Page, expect

from tests.axe import assert_accessible
from tests.e2e_server import E2EStack
from tests.fixtures_timeline import (
    NAMES,
    ColourClip,
    make_colour_clip,
    seed_colour_analysis,
)
from tests.frontend.test_browser import browser, log_in, shot, stack  # noqa: F401  (fixtures)
from tests.frontend.test_timeline_browser import click_scene, drag_scene_to_lane, open_timeline

pytestmark = pytest.mark.browser

UNSURE = [1, 4]  # positions: scenes 2 (second storyline) and 5 (first storyline)
DARK = (0x1C, 0x1F, 0x26)  # the "?" badge's colour


@pytest.fixture(scope="module")
def clip(tmp_path_factory: pytest.TempPathFactory) -> ColourClip:
    return make_colour_clip(tmp_path_factory.mktemp("review") / "review.mp4", size="320x180")


@pytest.fixture(scope="module")
def analysis_id(stack: E2EStack, clip: ColourClip) -> str:  # noqa: F811
    return seed_colour_analysis(stack, clip, "--unsure", ",".join(map(str, UNSURE)))


@pytest.fixture
def context(browser: Any, stack: E2EStack) -> Iterator[BrowserContext]:  # noqa: F811
    # bypass_csp: wait_for_function evals strings (the policy is tested in test_csp_browser.py).
    ctx = browser.new_context(
        bypass_csp=True, base_url=stack.base_url, viewport={"width": 1440, "height": 1000}
    )
    ctx.set_default_timeout(20_000)
    yield ctx
    ctx.close()


def badge_pixel(page: Page, scene_id: str) -> tuple[int, int, int]:
    """The canvas colour where a scene's "?" badge is drawn: in its block's top-right corner,
    left of the glyph."""
    page.evaluate("() => window.timelineDebug.view.draw()")
    return tuple(
        page.evaluate(
            """(id) => {
              const view = window.timelineDebug.view;
              const r = view.sceneRect(id);
              const dpr = window.devicePixelRatio || 1;
              const x = Math.round((r.x + r.width - 16) * dpr);
              const y = Math.round((r.y + 11) * dpr);
              return [...view.ctx.getImageData(x, y, 1, 1).data.slice(0, 3)];
            }""",
            scene_id,
        )
    )


def flagged(page: Page, scene_id: str) -> bool:
    return page.evaluate(
        "(id) => window.timelineDebug.model.scene(id).needs_review === true", scene_id
    )


def test_unsure_scenes_are_flagged_explained_reviewed_and_cleared_by_a_move(
    context: BrowserContext, analysis_id: str
) -> None:
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    log_in(page)
    open_timeline(page, analysis_id)

    # The lanes flag scenes 2 and 5 (a dark "?" badge), not the sure ones.
    review = page.get_by_test_id("review-button")
    expect(review).to_have_text("? Review 2")
    expect(review).to_have_attribute(
        "aria-label", "Review 2 scenes whose storyline is unsure: go to the next (R)"
    )
    assert flagged(page, "scene_2") and flagged(page, "scene_5")
    assert not flagged(page, "scene_1")
    assert badge_pixel(page, "scene_2") == DARK
    assert badge_pixel(page, "scene_5") == DARK
    assert badge_pixel(page, "scene_1") != DARK
    shot(page, "review-01-flags")

    # The details of a flagged scene give its confidence, its reasons and the signal against.
    click_scene(page, "scene_2")
    expect(page.get_by_test_id("details-title")).to_have_text("Scene 2")
    expect(page.get_by_test_id("details-confidence-verdict")).to_contain_text("Unsure placement")
    expect(page.get_by_test_id("details-confidence-verdict")).to_contain_text("12 % confident")
    expect(page.get_by_test_id("details-reasons")).to_contain_text("the same voices")
    expect(page.get_by_test_id("details-against")).to_contain_text("similar words")
    expect(page.get_by_test_id("details-against")).to_contain_text(NAMES[0])
    expect(page.get_by_test_id("selection-label")).to_contain_text("storyline unsure")
    assert_accessible(page, "timeline with a flagged scene selected")
    shot(page, "review-02-details")

    # Review steps through the list by keyboard: Tab onto the button, Enter; then R.
    review.focus()
    page.keyboard.press("Enter")
    expect(page.get_by_test_id("details-title")).to_have_text("Scene 5")
    page.get_by_test_id("timeline-canvas").focus()
    page.keyboard.press("r")
    expect(page.get_by_test_id("details-title")).to_have_text("Scene 2")
    page.keyboard.press("Shift+R")
    expect(page.get_by_test_id("details-title")).to_have_text("Scene 5")

    # Moving scene 5 (first storyline) to the second makes it certain: the flag goes away.
    drag_scene_to_lane(page, "scene_5", 1)
    expect(page.get_by_test_id("toast").last).to_contain_text("Scene 5 moved to")
    page.wait_for_function("() => !window.timelineDebug.model.scene('scene_5').needs_review")
    expect(review).to_have_text("? Review 1")
    assert badge_pixel(page, "scene_5") != DARK
    verdict = page.get_by_test_id("details-confidence-verdict")
    expect(verdict).to_contain_text("Placement looks right")
    expect(page.get_by_test_id("details-reasons")).to_contain_text("placed by an editor")
    shot(page, "review-03-moved")

    # Undo puts the doubt back.
    page.keyboard.press("Control+z")
    page.wait_for_function("() => window.timelineDebug.model.scene('scene_5').needs_review")
    expect(review).to_have_text("? Review 2")
    assert badge_pixel(page, "scene_5") == DARK
    assert not errors, errors
