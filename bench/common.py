"""Helpers shared by the benchmarks: the shared media, Django, timing, memory, RESULTS.md."""

from __future__ import annotations

import importlib.util
import os
import resource
import subprocess
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from types import ModuleType
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
MEDIA = Path(os.environ.get("SHARED_MEDIA", ROOT.parent / "shared" / "media"))
RESULTS = ROOT / "bench" / "RESULTS.md"
CACHE = ROOT / "var" / "bench"


def require_media() -> Path:
    """The shared media folder, or a clear exit when this machine has none."""
    if not (MEDIA / "truth.json").exists():
        raise SystemExit(f"No shared media at {MEDIA} (set SHARED_MEDIA): nothing to measure.")
    return MEDIA


def score_module() -> ModuleType:
    """``../shared/media/score.py`` imported as a module, so figures match everyone's."""
    spec = importlib.util.spec_from_file_location("shared_score", require_media() / "score.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def setup_django() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "videoanalyzer.settings")
    import django

    django.setup()


def load_average() -> str:
    return ", ".join(f"{x:.1f}" for x in os.getloadavg())


def peak_rss_mb() -> float:
    """Peak resident memory of this process so far, in MB (Linux reports kB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def current_rss_mb() -> float:
    import psutil

    return psutil.Process().memory_info().rss / 1024**2


@contextmanager
def timer() -> Iterator[dict[str, float]]:
    """``with timer() as t: ...`` then ``t["seconds"]``."""
    result: dict[str, float] = {}
    start = time.perf_counter()
    try:
        yield result
    finally:
        result["seconds"] = time.perf_counter() - start


def best_of(runs: int, fn: Callable[[], Any]) -> tuple[float, Any]:
    """The fastest of ``runs`` calls (seconds) and the last result: less noise from neighbours."""
    best, value = float("inf"), None
    for _ in range(runs):
        with timer() as t:
            value = fn()
        best = min(best, t["seconds"])
    return best, value


def ffmpeg(*args: str) -> None:
    subprocess.run(["ffmpeg", "-y", "-hide_banner", "-loglevel", "error", *args], check=True)


def markdown_table(header: list[str], rows: list[list[Any]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]
    return "\n".join(lines)


def write_section(topic: str, body: str) -> None:
    """Replace the ``topic`` section of RESULTS.md (between its markers), or append it."""
    start, end = f"<!-- {topic}:start -->", f"<!-- {topic}:end -->"
    text = RESULTS.read_text() if RESULTS.exists() else "# Benchmark results\n"
    block = f"{start}\n{body.strip()}\n{end}"
    if start in text and end in text:
        head, rest = text.split(start, 1)
        text = head + block + rest.split(end, 1)[1]
    else:
        text = text.rstrip() + "\n\n" + block + "\n"
    RESULTS.write_text(text)
