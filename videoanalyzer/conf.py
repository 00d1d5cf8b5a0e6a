"""Reading an app setting from the environment, typed like its default."""

from __future__ import annotations

from typing import Any

TRUE_WORDS = {"1", "true", "yes", "on"}


def typed_from_env(raw: str, default: Any) -> Any:
    """``raw`` (an environment string) converted to the type of ``default``."""
    if isinstance(default, bool):
        return raw.strip().lower() in TRUE_WORDS
    if isinstance(default, int):
        return int(raw)
    if isinstance(default, float):
        return float(raw)
    return raw
