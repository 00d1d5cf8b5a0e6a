"""The pages work under their strict Content-Security-Policy: no violation in a real Chromium.

Every page a user sees is opened (login, library, analysis, timeline); a listener installed
before any page script records ``securitypolicyviolation`` events, and the pages' own scripts
must have run (the timeline reports itself ready). The other browser tests run with
``bypass_csp`` (Playwright's ``wait_for_function`` evaluates strings); this one does not.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import BrowserContext, Page

from tests.e2e_server import E2EStack
from tests.frontend.test_browser import browser, log_in, stack  # noqa: F401  (fixtures)
from tests.frontend.test_timeline_browser import analysis_id, clip  # noqa: F401  (fixtures)

pytestmark = pytest.mark.browser

VIOLATIONS = """
window.__violations = [];
document.addEventListener('securitypolicyviolation', (e) => {
  window.__violations.push(`${e.violatedDirective} ${e.blockedURI} ${e.sourceFile}`);
});
"""


@pytest.fixture
def context(browser: Any, stack: E2EStack) -> Iterator[BrowserContext]:  # noqa: F811
    ctx = browser.new_context(base_url=stack.base_url, viewport={"width": 1280, "height": 900})
    ctx.set_default_timeout(20_000)
    ctx.add_init_script(VIOLATIONS)
    yield ctx
    ctx.close()


def violations(page: Page) -> list[str]:
    return list(page.evaluate("window.__violations"))


def test_the_pages_run_under_the_policy_without_violations(
    context: BrowserContext,
    analysis_id: str,  # noqa: F811
) -> None:
    page = context.new_page()
    console: list[str] = []
    page.on("console", lambda m: console.append(m.text) if m.type == "error" else None)
    response = page.goto("/login/")
    assert response is not None
    policy = response.headers["content-security-policy"]
    assert "script-src 'self'" in policy and "unsafe-inline" not in policy
    log_in(page)
    assert violations(page) == []
    page.goto(f"/analyses/{analysis_id}/")
    page.wait_for_load_state("networkidle")
    assert violations(page) == []
    page.goto(f"/analyses/{analysis_id}/timeline/")
    # Polled with evaluate: wait_for_function evals a string, which the policy forbids.
    deadline = time.monotonic() + 30
    while page.evaluate("document.body.dataset.timeline") != "ready":
        assert time.monotonic() < deadline, "the timeline never became ready"
        page.wait_for_timeout(200)
    assert violations(page) == []
    assert not [c for c in console if "Content Security Policy" in c], console
