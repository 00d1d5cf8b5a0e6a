"""Analysis pipeline: stages registered by name and run in order by ``runner``.

Stages live in the apps of their domain; ``settings.PIPELINE_STAGE_MODULES`` names the modules
that register them and ``settings.ANALYSIS_PIPELINE`` their order.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

from django.conf import settings

from analysis.pipeline.base import STAGES, Stage

DEFAULT_PIPELINE: list[str] = list(settings.ANALYSIS_PIPELINE)


def load_stages() -> None:
    """Import the stage modules so they register; cheap: they import heavy libraries lazily."""
    for module in settings.PIPELINE_STAGE_MODULES:
        import_module(module)


def build_pipeline(names: list[str] | None = None) -> list[Stage[Any]]:
    load_stages()
    return [STAGES[name]() for name in (names or DEFAULT_PIPELINE)]
