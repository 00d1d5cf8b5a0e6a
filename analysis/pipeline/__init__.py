"""Analysis pipeline: stages registered by name and run in order by ``runner``."""

from __future__ import annotations

from typing import Any

from analysis.pipeline.base import STAGES, Stage

DEFAULT_PIPELINE = ["probe", "shots", "keyframes", "audio", "transcript", "storylines"]


def load_stages() -> None:
    """Import the stage modules so they register; cheap: they import heavy libraries lazily."""
    from analysis.pipeline import stages  # noqa: F401


def build_pipeline(names: list[str] | None = None) -> list[Stage[Any]]:
    load_stages()
    return [STAGES[name]() for name in (names or DEFAULT_PIPELINE)]
