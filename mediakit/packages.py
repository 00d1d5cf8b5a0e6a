"""Files that pip packages carry (model weights), found without importing the package."""

from __future__ import annotations

import importlib.util
from pathlib import Path


def package_dir(package: str, subdir: str) -> Path | None:
    """``<installed package>/<subdir>`` without importing the package, or None."""
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(next(iter(spec.submodule_search_locations))) / subdir
    return path if path.is_dir() else None
