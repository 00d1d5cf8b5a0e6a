"""The one convention for per-app settings.

Each app lists its settings with their defaults in ``<app>/conf.py`` as ``DEFAULTS`` and reads
them through an :class:`AppSettings` made from that table (``setting = AppSettings(DEFAULTS)``).
A value is looked up at the moment of use, so ``override_settings`` in tests and a changed
environment both take effect: a Django setting of the same name wins, then the environment
variable of that name (converted to the type of the default), then the default. Every variable
is also listed in ``.env.example``.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
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
    return raw.strip()


class AppSettings:
    """Reads an app's settings: Django setting, else environment, else ``defaults[name]``."""

    def __init__(self, defaults: Mapping[str, Any]) -> None:
        self.defaults = defaults

    def __call__(self, name: str) -> Any:
        from django.conf import settings

        default = self.defaults[name]  # a KeyError names a setting the app never declared
        if hasattr(settings, name):
            return getattr(settings, name)
        raw = os.environ.get(name)
        if raw is None or (raw.strip() == "" and not isinstance(default, str)):
            return default  # an empty text setting stays empty: "no OCR languages", say
        return typed_from_env(raw, default)

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(self.defaults)
