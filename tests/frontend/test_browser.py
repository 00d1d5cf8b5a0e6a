"""End to end in headless Chromium against the real stack (Daphne, a Dramatiq worker, Redis).

Run: ``pytest tests/test_browser.py -m browser``. Screenshots go to ``test-artifacts/``.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, WebSocket, expect, sync_playwright

from tests.e2e_server import (
    CHROMIUM_ARGS,
    CHROMIUM_PATH,
    OTHER_USERNAME,
    PASSWORD,
    PROJECT_DIR,
    USERNAME,
    E2EStack,
    make_clip,
)

pytestmark = pytest.mark.browser

ARTIFACTS = PROJECT_DIR / "test-artifacts"
ANALYSIS_URL = re.compile(r"/analyses/[0-9a-f-]{36}/$")
ANALYSIS_TIMEOUT_MS = 300_000
SECOND_CLIP_SHOTS = [
    "mandelbrot=size=320x240:rate=25,trim=duration=2",
    "smptehdbars=size=320x240:rate=25:duration=2",
]
SCENE_TIMES = re.compile(r"^\d\d:\d\d\.\d \u2013 \d\d:\d\d\.\d$")  # mm:ss.s, en dash, mm:ss.s

# Records every text the progress label and the time left show, from the first paint on
# (before page scripts).
LABEL_RECORDER = """
window.__labels = [];
window.__etas = [];
const record = (testid, seen) => {
  const node = document.querySelector(`[data-testid="${testid}"]`);
  const text = node ? node.textContent.trim() : null;
  if (text && seen[seen.length - 1] !== text) seen.push(text);
};
new MutationObserver(() => {
  record("progress-label", window.__labels);
  record("progress-eta", window.__etas);
}).observe(document, { childList: true, subtree: true, characterData: true });
"""
TIME_LEFT = re.compile(r"^(less than a minute|about \d+ min|about [\d.]+ h) left$")


@pytest.fixture(scope="module")
def stack() -> Iterator[E2EStack]:
    if not Path(CHROMIUM_PATH).exists():
        pytest.skip(f"no Chromium at {CHROMIUM_PATH}")
    server = E2EStack()
    try:
        server.start()
        yield server
    finally:
        ARTIFACTS.mkdir(exist_ok=True)
        for name in ("daphne", "worker"):
            log = server.workdir / f"{name}.log"
            if log.exists():
                shutil.copy(log, ARTIFACTS / f"e2e-{name}.log")
        server.stop()
        shutil.rmtree(server.workdir, ignore_errors=True)


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM_PATH, args=CHROMIUM_ARGS)
        yield launched
        launched.close()


@pytest.fixture
def context(browser: Browser, stack: E2EStack) -> Iterator[BrowserContext]:
    # bypass_csp: Playwright's wait_for_function evals strings, which the pages' policy forbids
    # (the policy itself is tested by tests/frontend/test_csp_browser.py).
    ctx = browser.new_context(
        bypass_csp=True, base_url=stack.base_url, viewport={"width": 1366, "height": 900}
    )
    ctx.set_default_timeout(20_000)
    yield ctx
    ctx.close()


@pytest.fixture(scope="module")
def clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_clip(tmp_path_factory.mktemp("e2e-clips") / "three-shots.mp4")


# True once the page has its viewport's height again and has drawn two frames since.
BACK_TO_VIEWPORT = """(height) => window.innerHeight === height && new Promise((done) =>
  requestAnimationFrame(() => requestAnimationFrame(() => done(window.innerHeight === height))))"""


TOAST_SECONDS = 10  # how long a change's toast stays by itself (static/js/timeline/toast.js)


def ms_left(deadline: float) -> float:
    """Milliseconds until ``deadline`` (``time.monotonic()``), less a margin for the last look."""
    left = (deadline - time.monotonic() - 0.5) * 1000
    assert left > 500, "too slow to tell what the undo did from what the toast's own timer did"
    return left


def shot(page: Page, name: str) -> None:
    """Save a full-page screenshot, then wait until the page is laid out for its window again.

    Chromium takes a full-page screenshot by resizing the window (to 1 px high, then to the
    page's height, then back); the page's resize handlers see the last of these late when the
    machine is busy, so a position read right after the screenshot can belong to a layout about
    to change, and a click or drag there lands in the wrong place.
    """
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)
    if page.viewport_size is not None:
        page.wait_for_function(BACK_TO_VIEWPORT, arg=page.viewport_size["height"])


def log_in(page: Page, username: str = USERNAME) -> None:
    page.goto("/")
    expect(page).to_have_url(re.compile(r"/login/\?next=/$"))
    page.get_by_test_id("login-username").fill(username)
    page.get_by_test_id("login-password").fill(PASSWORD)
    page.get_by_test_id("login-submit").click()
    expect(page).to_have_url(re.compile(r"/$"))
    expect(page.get_by_test_id("current-user")).to_have_text(username)


def stage_labels_pushed(frames: list[str]) -> set[str]:
    """Stage labels of the running progress messages the server sent over the WebSocket."""
    labels: set[str] = set()
    for frame in frames:
        message: Any = json.loads(frame)
        running = message.get("type") == "progress" and message.get("status") == "running"
        if running and message.get("stage_label"):
            labels.add(message["stage_label"])
    return labels


def estimates_pushed(frames: list[str]) -> list[float]:
    """The time-left estimates of the running progress messages sent over the WebSocket."""
    found = []
    for frame in frames:
        message: Any = json.loads(frame)
        running = message.get("type") == "progress" and message.get("status") == "running"
        if running and message.get("eta_seconds") is not None:
            found.append(float(message["eta_seconds"]))
    return found


def test_upload_analyse_and_play_a_scene(
    browser: Browser, context: BrowserContext, stack: E2EStack, clip: Path
) -> None:
    page = context.new_page()
    frames: list[str] = []

    def watch(socket: WebSocket) -> None:
        socket.on("framereceived", lambda payload: frames.append(str(payload)))

    page.on("websocket", watch)
    page.add_init_script(LABEL_RECORDER)
    log_in(page)
    expect(page.get_by_test_id("library-empty")).to_be_visible()
    shot(page, "01-library-empty")

    # The installation has analysed a video once (from the command line, another user's): the
    # stages' costs are known, so the time left can be estimated.
    stack.manage("analyze", str(clip), "--user", "cli", "--json", os.devnull)

    # Upload → the analysis starts → its page opens.
    page.get_by_test_id("upload-input").set_input_files(clip)
    page.wait_for_url(ANALYSIS_URL, timeout=60_000)
    analysis_url = page.url
    page.evaluate("window.__marker = 'still-the-same-page'")
    navigations: list[str] = []
    page.on(
        "framenavigated",
        lambda frame: navigations.append(frame.url) if frame == page.main_frame else None,
    )
    expect(page.get_by_test_id("video-title")).to_have_text("three-shots.mp4")
    badge = page.get_by_test_id("status-badge")
    expect(
        badge, "no worker took the job: does rundramatiq load analysis.actors?"
    ).not_to_have_text("Queued", timeout=90_000)
    shot(page, "02-analysis-in-progress")

    # Live progress: the bar reaches 100 % without any reload.
    bar = page.get_by_test_id("progress-bar")
    expect(bar).to_have_attribute("aria-valuenow", "100", timeout=ANALYSIS_TIMEOUT_MS)
    expect(page.get_by_test_id("status-badge")).to_have_text("Completed")
    assert page.evaluate("window.__marker") == "still-the-same-page"
    assert navigations == []
    assert page.url == analysis_url
    pushed = stage_labels_pushed(frames)
    shown = set(page.evaluate("window.__labels"))
    assert pushed, f"no running stage came over the WebSocket: {frames}"
    assert pushed & shown, f"the label never showed a pushed stage: pushed={pushed}, shown={shown}"
    # Once a tenth of the work is done, the server estimates the time left and the page says it.
    estimates = estimates_pushed(frames)
    assert estimates and all(e >= 0 for e in estimates), frames
    etas = page.evaluate("window.__etas")
    assert any(TIME_LEFT.match(text) for text in etas), etas
    expect(page.get_by_test_id("progress-eta")).to_have_text("")  # none once complete

    # The scenes: at least two cards, with times and thumbnails.
    cards = page.get_by_test_id("scene-card")
    expect(cards.first).to_be_visible(timeout=30_000)
    assert cards.count() >= 2
    expect(cards.nth(1).get_by_test_id("scene-times")).to_have_text(SCENE_TIMES)
    page.wait_for_function(
        "() => [...document.querySelectorAll('[data-testid=scene-card] img')]"
        ".every((img) => img.complete && img.naturalWidth > 0)"
    )
    shot(page, "03-analysis-completed")

    # Clicking a scene seeks the player to the scene's start.
    second = cards.nth(1)
    start = float(second.get_attribute("data-start") or "nan")
    assert start > 0.5
    second.click()
    page.wait_for_function(
        """(start) => {
            const video = document.querySelector('[data-testid=video-player]');
            return video.currentTime >= start - 0.1 && video.currentTime < start + 1.5;
        }""",
        arg=start,
        timeout=10_000,
    )
    expect(second).to_have_attribute("aria-current", "true")
    shot(page, "04-scene-playing")

    # The video's page in the library leads back to this analysis.
    page.goto("/")
    row = page.get_by_test_id("video-row").filter(has_text="three-shots.mp4")
    expect(row.get_by_test_id("video-status")).to_have_text("Completed")
    shot(page, "05-library-with-video")

    # Nobody else can open it.
    other = browser.new_context(bypass_csp=True, base_url=stack.base_url)
    try:
        intruder = other.new_page()
        log_in(intruder, OTHER_USERNAME)
        response = intruder.goto(analysis_url)
        assert response is not None and response.status == 404
        expect(intruder.get_by_role("heading", name="Not found")).to_be_visible()
        shot(intruder, "07-not-found-for-others")
    finally:
        other.close()


def test_progress_falls_back_to_polling_when_the_socket_fails(
    context: BrowserContext, tmp_path: Path
) -> None:
    page = context.new_page()
    page.route_web_socket(re.compile(r"/ws/analyses/"), lambda socket: socket.close(code=1011))
    log_in(page)
    other_clip = make_clip(tmp_path / "polled.mp4", shots=SECOND_CLIP_SHOTS)
    page.get_by_test_id("upload-input").set_input_files(other_clip)
    page.wait_for_url(ANALYSIS_URL, timeout=60_000)
    connection = page.get_by_test_id("connection-state")
    expect(connection).to_have_attribute("data-state", re.compile("polling|closed"))
    bar = page.get_by_test_id("progress-bar")
    expect(bar).to_have_attribute("aria-valuenow", "100", timeout=ANALYSIS_TIMEOUT_MS)
    expect(page.get_by_test_id("scene-card").first).to_be_visible(timeout=30_000)

    # Deleting it from the library removes the row without a reload.
    page.goto("/")
    rows = page.get_by_test_id("video-row")
    before = rows.count()
    row = rows.filter(has_text="polled.mp4")
    page.once("dialog", lambda dialog: dialog.accept())
    row.get_by_test_id("delete-button").click()
    expect(row).to_have_count(0)
    expect(rows).to_have_count(before - 1)
    expect(page.get_by_test_id("library-notice")).to_contain_text("was deleted")


def test_a_file_that_is_not_a_video_shows_the_servers_message(
    context: BrowserContext, tmp_path: Path
) -> None:
    page = context.new_page()
    log_in(page)
    fake = tmp_path / "holiday.mp4"
    fake.write_bytes(b"this is plain text, not a video " * 64)
    page.get_by_test_id("upload-input").set_input_files(fake)
    error = page.get_by_test_id("upload-error")
    expect(error).to_be_visible(timeout=30_000)
    expect(error).to_contain_text("not a video")
    expect(page).to_have_url(re.compile(r"/$"))
    shot(page, "06-upload-error")
