"""Accessibility checks in the browser tests with axe-core (from npm, see package.json).

``make install`` runs ``npm ci``; when the tests are run another way and ``node_modules`` is
missing, the first check installs it the same way (npm is required, as Chromium is).
"""

from __future__ import annotations

import shutil
import subprocess
from typing import Any

from playwright.sync_api import Page

from tests.e2e_server import PROJECT_DIR

AXE_PATH = PROJECT_DIR / "node_modules" / "axe-core" / "axe.min.js"
FAILING_IMPACTS = {"serious", "critical"}


def ensure_axe() -> str:
    """The path of axe.min.js, running ``npm ci`` first if it is not installed yet."""
    if not AXE_PATH.exists():
        npm = shutil.which("npm")
        if npm is None:
            raise RuntimeError("npm is needed for the accessibility checks (apt-get install npm)")
        subprocess.run(
            [npm, "ci", "--no-audit", "--no-fund", "--loglevel=error"],
            cwd=PROJECT_DIR,
            check=True,
            timeout=600,
        )
    return str(AXE_PATH)


def serious_violations(page: Page) -> list[dict[str, Any]]:
    """axe-core's serious and critical violations on the page as it is now."""
    if not page.evaluate("typeof window.axe === 'object'"):
        page.add_script_tag(path=ensure_axe())
    result: dict[str, Any] = page.evaluate(
        "async () => await window.axe.run(document, {resultTypes: ['violations']})"
    )
    return [v for v in result["violations"] if v.get("impact") in FAILING_IMPACTS]


def describe(violations: list[dict[str, Any]]) -> str:
    lines = []
    for violation in violations:
        targets = [", ".join(node["target"]) for node in violation["nodes"][:4]]
        lines.append(f"{violation['id']} ({violation['impact']}): {violation['help']} at {targets}")
    return "\n".join(lines)


def assert_accessible(page: Page, name: str) -> None:
    violations = serious_violations(page)
    assert not violations, f"{name}: axe-core found\n{describe(violations)}"
