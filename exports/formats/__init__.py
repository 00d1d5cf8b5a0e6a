"""The export formats, one small class per module, found by name.

To add a format, add one module here with one ``ExportFormat`` subclass decorated with
``@register``: the service, ``GET /api/export-formats`` and the timeline's menu read this
registry, and the job's ``kind`` is a plain string, so no migration is needed.
"""

from __future__ import annotations

import importlib
import pkgutil

from exports.formats.base import ANALYSIS, STORYLINE, ExportFormat

_REGISTRY: dict[str, ExportFormat] = {}


def register(cls: type[ExportFormat]) -> type[ExportFormat]:
    """Class decorator: make ``cls`` an export format under ``cls.name``."""
    if cls.name in _REGISTRY:
        raise ValueError(f"two export formats are called {cls.name!r}")
    _REGISTRY[cls.name] = cls()
    return cls


def get_format(name: str) -> ExportFormat | None:
    _discover()
    return _REGISTRY.get(name)


def all_formats() -> list[ExportFormat]:
    """Every format, in menu order."""
    _discover()
    return sorted(_REGISTRY.values(), key=lambda f: (f.order, f.name))


def formats_for(scope: str) -> list[ExportFormat]:
    return [f for f in all_formats() if scope in f.scopes]


_discovered = False


def _discover() -> None:
    """Import every module of this package once, so each registers its format."""
    global _discovered
    if _discovered:
        return
    _discovered = True
    for module in pkgutil.iter_modules(__path__):
        if module.name not in ("base",) and not module.name.startswith("_"):
            importlib.import_module(f"{__name__}.{module.name}")


__all__ = [
    "ANALYSIS",
    "STORYLINE",
    "ExportFormat",
    "all_formats",
    "formats_for",
    "get_format",
    "register",
]
