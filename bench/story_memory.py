"""Memory of the storylines grouping as the number of scenes grows (issue 23).

    python -m bench.story_memory [SCENES ...]     # default 1000 2000 2892 4000

The grouping (``story.grouping.plan_grouping``, default settings, automatic number of
storylines, no language model) builds an n x n similarity matrix per signal, so its memory
grows with the square of the scenes: on the 2-hour film (2,892 scenes) it was the largest
part of the resumed attempt's peak. The scenes here are synthetic, every signal present (a
film with speech, faces and pictures in every scene: the worst case), their values random;
the figure is the process's resident memory sampled every 10 ms during the grouping, above
what it held before. Nothing is written to ``bench/RESULTS.md``.
"""

from __future__ import annotations

import random
import sys
import threading
import time
from typing import Any

from bench.common import current_rss_mb, load_average, setup_django

WORDS = [f"w{i}" for i in range(3000)]


def synthetic(n: int, seed: int = 0) -> tuple[list[Any], Any]:
    """``n`` scenes with every signal the grouping reads, and the other apps' signals."""
    import numpy as np

    from story.external import ExternalSignals
    from story.graph import SceneNode

    rng, pick = np.random.default_rng(seed), random.Random(seed)
    nodes, ext, start = [], ExternalSignals(), 0.0
    for i in range(n):
        length = float(rng.uniform(0.6, 5.0))
        features = {
            "colour": rng.random(144).round(3).tolist(),
            "motion": float(rng.random()),
            "voice": rng.normal(size=19).round(3).tolist(),
            "loudness_change": 1.0,
            "text": " ".join(pick.sample(WORDS, 8)) + ".",
            "text_vector": rng.normal(size=512).astype(np.float32).tolist(),
            "words": pick.sample(WORDS, 5),
            "language": pick.choice(["en", "ru"]),
            "continues": bool(rng.random() < 0.3),
        }
        nodes.append(SceneNode(i + 1, i, start, start + length, features))
        start += length
        ext.characters[i + 1] = {pick.randrange(20)}
        ext.speakers[i + 1] = [f"S{pick.randrange(8)}"]
        ext.voiceprints[i + 1] = rng.normal(size=256).tolist()
        ext.vision[i + 1] = {
            "embedding": rng.normal(size=1280).astype(np.float32),
            "objects": pick.sample(WORDS[:200], 3),
            "ocr": "",
            "caption": "",
        }
    return nodes, ext


def measure(n: int) -> dict[str, float]:
    """Resident memory before and at the peak of one grouping of ``n`` scenes, its CPU."""
    from story.grouping import GroupingInput, plan_grouping

    nodes, ext = synthetic(n)
    before = current_rss_mb()
    peak, done = [before], threading.Event()

    def sample() -> None:
        while not done.is_set():
            peak[0] = max(peak[0], current_rss_mb())
            time.sleep(0.01)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    cpu = time.process_time()
    try:
        plan_grouping(GroupingInput(nodes, ext, use_llm=False))
    finally:
        done.set()
        sampler.join()
    return {"before": before, "peak": peak[0], "cpu": time.process_time() - cpu}


def main() -> None:
    setup_django()
    sizes = [int(a) for a in sys.argv[1:]] or [1000, 2000, 2892, 4000]
    print(f"load average {load_average()}")
    for n in sizes:
        got = measure(n)
        grown = got["peak"] - got["before"]
        print(
            f"{n} scenes: +{grown:.0f} MB over {got['before']:.0f} MB "
            f"({grown * 2**20 / n**2:.0f} bytes per pair of scenes), {got['cpu']:.1f} CPU s",
            flush=True,
        )


if __name__ == "__main__":
    main()
