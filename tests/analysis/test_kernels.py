"""``python -m analysis.kernels`` (run by ``make install`` and the Docker image) fills numba's
cache with the audio measures' kernels in one process, so workers started together later only
read it (several processes writing it at once left an index naming the wrong files, and a
segmentation fault in every later analysis's audio stage)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def compile_into(cache: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "NUMBA_CACHE_DIR": str(cache)}
    return subprocess.run(
        [sys.executable, "-m", "analysis.kernels"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )


def index_files(cache: Path) -> dict[str, int]:
    return {str(p.relative_to(cache)): p.stat().st_mtime_ns for p in cache.rglob("*.nbi")}


@pytest.mark.slow
def test_the_kernels_are_compiled_once_and_then_only_read(tmp_path: Path) -> None:
    first = compile_into(tmp_path)
    assert first.returncode == 0, first.stderr
    compiled = index_files(tmp_path)
    # The beat tracker's local maxima, where the crash was, and the measures' other kernels.
    assert any("_localmax" in name for name in compiled)
    assert any("beat" in name for name in compiled)
    second = compile_into(tmp_path)
    assert second.returncode == 0, second.stderr
    assert index_files(tmp_path) == compiled  # nothing compiled or written again
