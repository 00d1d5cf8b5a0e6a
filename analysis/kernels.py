"""Compile the audio measures' numba kernels into numba's on-disk cache, in one process.

librosa compiles its kernels with ``cache=True`` on first use and writes them beside its own
sources. Processes started together on a fresh install (the worker's processes, the test
suite's workers) each compile and write that cache at the same time, and numba's index can
then name a file another process wrote for another signature: every later process that loads
it dies with a segmentation fault in ``librosa.util.localmax`` (seen here with several
analyses started at once after an install). Compiling them here, before any worker starts
(``make install``, the Docker image), leaves the workers only reading the cache.

Run as ``python -m analysis.kernels``.
"""

from __future__ import annotations

import math
import os
import sys


def compile_kernels() -> None:
    """Run the scene measures once on three seconds of noise: librosa compiles and caches."""
    import numpy as np

    from analysis.pipeline.stages.audio import scene_features
    from analysis.pipeline.stages.common import SceneSpan
    from mediakit.audio import SAMPLE_RATE

    seconds = 3.0
    noise = np.random.default_rng(0).standard_normal(int(seconds * SAMPLE_RATE))
    features = scene_features(
        SceneSpan(0, 0, 0.0, seconds, 0, 0), noise.astype(np.float32) / 10, []
    )
    if not math.isfinite(features.tempo):  # the beat tracker ran through its kernels
        raise RuntimeError("the audio measures gave no tempo on noise")


def main() -> None:
    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "videoanalyzer.settings")
    django.setup()
    compile_kernels()
    print("audio measures: numba kernels compiled and cached", file=sys.stderr)


if __name__ == "__main__":
    main()
