"""Every page in headless Chromium: the API tokens page by hand, and an accessibility check of
each page with axe-core (0 serious or critical violations). Run with ``-m browser``."""

from __future__ import annotations

import os
import re
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import BrowserContext, Page, expect

from tests.axe import assert_accessible, describe, serious_violations
from tests.e2e_server import USERNAME, E2EStack
from tests.fixtures_timeline import (
    ColourClip,
    make_colour_clip,
    seed_colour_analysis,
)
from tests.frontend.test_browser import browser, log_in, shot, stack  # noqa: F401  (fixtures)

pytestmark = pytest.mark.browser

JOB_SETUP = """
from django.contrib.auth.models import User
from describe import services
from describe.models import DescribeJob, DescriptionResult, JobStatus
owner = User.objects.get(username={user!r})
client, _ = services.client_create(owner=owner, name="broadcaster")
job = DescribeJob.objects.create(client=client, url="https://example.org/film.mp4",
    language="en", status=JobStatus.PROCESSED, progress=1.0, message="Done")
DescriptionResult.objects.create(job=job, index=0, scene=0, timestamp=0.5, end=2.0,
    text="A red room.", frame_time=0.6)
User.objects.create_user("ops", password={password!r}, is_staff=True)
print(job.id)
"""


@pytest.fixture(scope="module", autouse=True)
def offline_describer() -> Iterator[None]:
    """The stack's worker describes with the offline describer (set before the stack starts)."""
    before = os.environ.get("DESCRIBE_DESCRIBER")
    os.environ["DESCRIBE_DESCRIBER"] = "fallback"
    yield
    if before is None:
        os.environ.pop("DESCRIBE_DESCRIBER", None)
    else:
        os.environ["DESCRIBE_DESCRIBER"] = before


@pytest.fixture(scope="module")
def clip(tmp_path_factory: pytest.TempPathFactory) -> ColourClip:
    return make_colour_clip(tmp_path_factory.mktemp("pages") / "Колор.mp4", size="320x180")


@pytest.fixture(scope="module")
def analysis_id(stack: E2EStack, clip: ColourClip) -> str:  # noqa: F811
    return seed_colour_analysis(stack, clip, "--insights")


@pytest.fixture(scope="module")
def job_id(stack: E2EStack) -> str:  # noqa: F811
    from tests.e2e_server import PASSWORD

    code = JOB_SETUP.format(user=USERNAME, password=PASSWORD)
    return stack.manage("shell", "-c", code).strip().splitlines()[-1]


@pytest.fixture
def context(browser: Any, stack: E2EStack) -> Iterator[BrowserContext]:  # noqa: F811
    # bypass_csp: axe-core is injected as an inline script, which the pages' CSP refuses.
    ctx = browser.new_context(
        base_url=stack.base_url, viewport={"width": 1280, "height": 900}, bypass_csp=True
    )
    ctx.set_default_timeout(20_000)
    yield ctx
    ctx.close()


def api_status(base_url: str, key: str, path: str = "/api/videos") -> int:
    request = urllib.request.Request(
        f"{base_url}{path}", headers={"Authorization": f"Bearer {key}"}
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return int(response.status)
    except urllib.error.HTTPError as error:
        return int(error.code)


def test_create_copy_and_revoke_an_api_token(
    context: BrowserContext,
    stack: E2EStack,  # noqa: F811
) -> None:
    page = context.new_page()
    log_in(page)
    page.get_by_test_id("nav-tokens").click()
    expect(page).to_have_url(re.compile(r"/settings/tokens/$"))
    expect(page.get_by_test_id("tokens-empty")).to_be_visible()
    page.get_by_test_id("token-name").fill("nightly export")
    page.get_by_test_id("token-create").click()
    key = page.get_by_test_id("new-token-key").input_value()
    assert len(key) >= 40
    expect(page.get_by_test_id("token-row-name")).to_have_text(["nightly export"])
    # The key works for the API, from outside the browser's session.
    assert api_status(stack.base_url, key) == 200
    shot(page, "tokens-01-created")
    assert_accessible(page, "API tokens page with a new token")
    # Shown once.
    page.reload()
    expect(page.get_by_test_id("new-token-key")).to_have_count(0)
    assert key not in page.content()
    # Revoke, after confirming.
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_test_id("token-revoke").click()
    expect(page.get_by_test_id("tokens-notice")).to_contain_text("“nightly export” revoked")
    expect(page.get_by_test_id("token-row")).to_have_count(0)
    # Each web process remembers a checked token for TOKEN_CACHE_SECONDS (5 by default).
    deadline = time.monotonic() + 15
    while api_status(stack.base_url, key) != 401:
        assert time.monotonic() < deadline, "the revoked token still works"
        time.sleep(0.5)


def client_status(base_url: str, key: str) -> int:
    """What ``/process`` answers a description client asking for a job that is not there:
    404 once its token is accepted, 401 when it is not."""
    return api_status(base_url, key, f"/process/{uuid.uuid4()}")


def test_staff_manage_description_clients_tokens_and_secrets(
    context: BrowserContext,
    stack: E2EStack,  # noqa: F811
    job_id: str,
) -> None:
    from tests.e2e_server import PASSWORD

    page = context.new_page()
    page.goto("/login/?next=/staff/describe-clients/")
    page.get_by_test_id("login-username").fill("ops")
    page.get_by_test_id("login-password").fill(PASSWORD)
    page.get_by_test_id("login-submit").click()
    page.get_by_test_id("client-name").fill("newsroom")
    page.get_by_test_id("client-create").click()
    token = page.get_by_test_id("client-token").input_value()
    secret = page.get_by_test_id("client-secret").input_value()
    assert len(token) >= 40 and len(secret) >= 40
    assert client_status(stack.base_url, token) == 404
    shot(page, "clients-01-created")
    # Shown once: the list keeps the token's first characters only.
    page.reload()
    expect(page.get_by_test_id("client-token")).to_have_count(0)
    assert token not in page.content() and secret not in page.content()
    row = page.get_by_test_id("client-row").filter(has_text="newsroom")
    expect(row).to_contain_text(f"{token[:8]}…")

    # A new token replaces the old one at once; a new secret is shown once too.
    row.get_by_test_id("client-rotate-token").click()
    new_token = page.get_by_test_id("client-token").input_value()
    assert new_token != token
    assert client_status(stack.base_url, token) == 401
    assert client_status(stack.base_url, new_token) == 404
    row = page.get_by_test_id("client-row").filter(has_text="newsroom")
    row.get_by_test_id("client-rotate-secret").click()
    new_secret = page.get_by_test_id("client-secret").input_value()
    assert len(new_secret) >= 40 and new_secret != secret
    # Turned off, the client's token no longer opens /process.
    row = page.get_by_test_id("client-row").filter(has_text="newsroom")
    row.get_by_test_id("client-deactivate").click()
    row = page.get_by_test_id("client-row").filter(has_text="newsroom")
    expect(row.get_by_test_id("client-state")).to_have_text("Off")
    assert client_status(stack.base_url, new_token) == 401


def pages_to_check(analysis_id: str, job_id: str) -> list[tuple[str, str]]:
    return [
        ("library", "/"),
        ("analysis page", f"/analyses/{analysis_id}/"),
        ("timeline", f"/analyses/{analysis_id}/timeline/"),
        ("API tokens", "/settings/tokens/"),
        ("audio description job", f"/process/{job_id}/view"),
        ("not found", "/no-such-page/"),
    ]


def settle(page: Page) -> None:
    if page.url.endswith("/timeline/"):
        page.wait_for_function("document.body.dataset.timeline === 'ready'")
    page.wait_for_load_state("networkidle")


def test_every_page_has_no_serious_accessibility_problems(
    browser: Any,  # noqa: F811
    stack: E2EStack,  # noqa: F811
    analysis_id: str,
    job_id: str,
) -> None:
    checked, found = [], []
    for viewport in ({"width": 1440, "height": 900}, {"width": 390, "height": 844}):
        ctx = browser.new_context(base_url=stack.base_url, viewport=viewport, bypass_csp=True)
        try:
            page = ctx.new_page()
            page.goto("/login/")
            assert_accessible(page, f"login at {viewport['width']}")
            icon = page.locator("link[rel=icon]").get_attribute("href") or ""
            served = page.request.get(icon)
            assert served.status == 200 and "svg" in served.headers["content-type"]
            assert page.request.get("/favicon.ico").url.endswith(".svg")
            log_in(page)
            for name, path in pages_to_check(analysis_id, job_id):
                page.goto(path)
                settle(page)
                violations = serious_violations(page)
                if violations:
                    found.append(f"{name} at {viewport['width']}:\n{describe(violations)}")
                checked.append(name)
        finally:
            ctx.close()
    # Staff only: the clients of the description service.
    from tests.e2e_server import PASSWORD

    for viewport in ({"width": 1440, "height": 900}, {"width": 390, "height": 844}):
        ctx = browser.new_context(base_url=stack.base_url, viewport=viewport, bypass_csp=True)
        try:
            page = ctx.new_page()
            page.goto("/login/?next=/staff/describe-clients/")
            page.get_by_test_id("login-username").fill("ops")
            page.get_by_test_id("login-password").fill(PASSWORD)
            page.get_by_test_id("login-submit").click()
            broadcaster = page.get_by_test_id("client-row-name").filter(has_text="broadcaster")
            expect(broadcaster).to_have_count(1)  # (other tests of this module add clients)
            violations = serious_violations(page)
            if violations:
                found.append(f"description clients at {viewport['width']}:\n{describe(violations)}")
            checked.append("description clients")
        finally:
            ctx.close()
    assert len(checked) == 14
    assert not found, "\n".join(found)


def player_time(page: Page) -> float:
    return float(page.evaluate("document.querySelector('[data-testid=video-player]').currentTime"))


def visible_cards(page: Page) -> int:
    return int(
        page.evaluate(
            "() => [...document.querySelectorAll('[data-testid=scene-card]')]"
            ".filter((card) => card.offsetParent !== null).length"
        )
    )


def test_insights_jump_to_appearances_and_filter_the_scenes(
    context: BrowserContext, analysis_id: str, clip: ColourClip
) -> None:
    page = context.new_page()
    log_in(page)
    page.goto(f"/analyses/{analysis_id}/")
    expect(page.get_by_test_id("scene-card")).to_have_count(6)
    people = page.get_by_test_id("insight-person")
    expect(people).to_have_count(2)
    anna = people.filter(has_text="Anna")
    expect(anna).to_contain_text("3.0 s on screen · 3 scenes")
    expect(anna.get_by_test_id("appearance")).to_have_count(3)
    speakers = page.get_by_test_id("insight-speaker")
    expect(speakers).to_have_count(2)
    expect(speakers.first.get_by_test_id("speaker-time")).to_contain_text("%")
    shot(page, "insights-01")

    # Anna's second appearance is in scene 3: clicking it jumps there.
    starts = [0.0, *clip.cuts]
    anna.get_by_test_id("appearance").nth(1).click()
    page.wait_for_function(
        "(t) => { const now = document.querySelector('[data-testid=video-player]').currentTime;"
        " return now > t - 0.05 && now < t + 0.8; }",  # it plays from there
        arg=starts[2] + 0.1,
    )
    # On-screen text lists its scenes: "EXIT" in scenes 2 and 6.
    exit_text = page.get_by_test_id("insight-text").filter(has_text="EXIT")
    expect(exit_text.get_by_test_id("text-scene")).to_have_text(["Scene 2", "Scene 6"])
    exit_text.get_by_test_id("text-scene").nth(1).click()
    page.wait_for_function(
        "(t) => { const now = document.querySelector('[data-testid=video-player]').currentTime;"
        " return now > t - 0.05 && now < t + 0.8; }",  # it plays from there
        arg=starts[5],
    )

    # Filters narrow the scene list; two filters show the scenes having both.
    page.get_by_test_id("insights-tags").get_by_role("button", name="beach · 2").click()
    expect(page.get_by_test_id("filter-text")).to_have_text("2 of 6 scenes with beach")
    assert visible_cards(page) == 2
    anna.get_by_role("button", name="Anna", exact=True).click()
    expect(page.get_by_test_id("filter-text")).to_have_text("1 of 6 scenes with beach and Anna")
    assert visible_cards(page) == 1
    expect(page.locator("[data-testid=scene-card]:visible")).to_have_attribute(
        "data-scene-id", "scene_3"
    )
    shot(page, "insights-02-filtered")
    page.get_by_test_id("filter-clear").click()
    expect(page.get_by_test_id("filter-status")).to_be_hidden()
    assert visible_cards(page) == 6


def test_library_thumbnails_and_a_search_kept_in_the_address(
    context: BrowserContext, analysis_id: str
) -> None:
    page = context.new_page()
    log_in(page)
    row = page.get_by_test_id("video-row").filter(has_text="Колор.mp4")
    thumb = row.get_by_test_id("video-thumb")
    expect(thumb).to_be_visible()
    page.wait_for_function(
        "(img) => img.complete && img.naturalWidth > 0", arg=thumb.element_handle()
    )
    # A search goes into the address; a reload (or a shared link) runs it again.
    page.goto(f"/analyses/{analysis_id}/")
    page.get_by_test_id("search-input").fill("fox home")
    page.get_by_test_id("search-button").click()
    expect(page).to_have_url(re.compile(r"\?q=fox\+home&scope=analysis$"))
    status = page.get_by_test_id("search-status")
    expect(status).not_to_have_text(re.compile(r"^$|Searching"))
    first = status.text_content()
    page.reload()
    expect(page.get_by_test_id("search-input")).to_have_value("fox home")
    expect(status).to_have_text(first or "")
    page.go_back()
    expect(page).to_have_url(re.compile(r"/analyses/[0-9a-f-]{36}/$"))


# Records what the page asks the browser to say, with the video's time then (headless Chromium
# has no voices), and ends each utterance at once.
SPEECH_RECORDER = """
window.__spoken = [];
class FakeUtterance { constructor(text) { this.text = text; } }
if (!window.SpeechSynthesisUtterance) window.SpeechSynthesisUtterance = FakeUtterance;
const fakeSynth = {
  speak(utterance) {
    const video = document.querySelector('[data-testid=describe-player]');
    window.__spoken.push({ text: utterance.text, time: video ? video.currentTime : -1 });
    setTimeout(() => utterance.onend && utterance.onend(), 10);
  },
  cancel() {},
};
Object.defineProperty(window, 'speechSynthesis', { value: fakeSynth, configurable: true });
"""


def test_audio_description_from_the_library(
    context: BrowserContext, analysis_id: str, tmp_path: Any
) -> None:
    page = context.new_page()
    page.add_init_script(SPEECH_RECORDER)
    log_in(page)
    row = page.get_by_test_id("video-row").filter(has_text="Колор.mp4")
    row.get_by_test_id("describe-button").click()
    expect(page.get_by_test_id("describe-dialog")).to_be_visible()
    # No subtitles attached: only the pauses of the speech can be used.
    expect(page.locator("#describe-pauses option[value=subtitles]")).to_be_disabled()
    assert_accessible(page, "audio description dialog")
    page.get_by_test_id("describe-language").select_option("en")
    page.get_by_test_id("describe-start").click()
    page.wait_for_url(re.compile(r"/process/[0-9a-f-]{36}/view$"))
    page.evaluate("window.__marker = 'still-the-same-page'")
    expect(page.get_by_test_id("job-video")).to_have_text("Колор.mp4")
    # The page follows the job by itself to the end, without a reload.
    expect(page.get_by_test_id("describe-status")).to_have_text("processed", timeout=180_000)
    assert page.evaluate("window.__marker") == "still-the-same-page"
    items = page.get_by_test_id("describe-item")
    expect(items.first).to_be_visible()
    count = items.count()
    shot(page, "describe-01-done")
    assert_accessible(page, "audio description job")

    # The WebVTT download has one cue per description.
    with page.expect_download() as info:
        page.get_by_test_id("download-vtt").click()
    vtt = info.value.path().read_text(encoding="utf-8")
    assert vtt.startswith("WEBVTT") and vtt.count("-->") == count

    # Watching: the library file plays and each description is said when its time comes.
    player = page.get_by_test_id("describe-player")
    assert "/media/" in (player.get_attribute("src") or "")
    page.locator("#describe-hold").click()  # a real click: the page may now start playback
    page.evaluate("document.querySelector('[data-testid=describe-player]').play()")
    page.wait_for_function("window.__spoken.length > 0", timeout=30_000)
    first = page.evaluate("window.__spoken[0]")
    starts = page.evaluate(
        "() => [...document.querySelector('[data-testid=describe-player]').textTracks[0].cues]"
        ".map((cue) => [cue.startTime, cue.endTime, cue.getCueAsHTML().textContent])"
    )
    assert any(
        text == first["text"] and start - 0.3 <= first["time"] <= end for start, end, text in starts
    ), (first, starts)
