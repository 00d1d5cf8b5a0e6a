"""What the people stages share."""

from __future__ import annotations

from typing import Any

from analysis.models import Analysis


def record(analysis: Analysis, key: str, facts: dict[str, Any]) -> None:
    """Keep what the stage did in the analysis's metadata (the runner saves it after persist)."""
    analysis.metadata = {**(analysis.metadata or {}), key: facts}
