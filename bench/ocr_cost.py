"""What the ocr stage costs on the benchmark film, and what it reads there.

    python -m bench.ocr_cost                      # the first 4 minutes of the bench film
    BENCH_OCR_MINUTES=10 python -m bench.ocr_cost # the whole 10-minute film
    python -m bench.ocr_cost labels               # the OCR figures of bench/vision_eval.py

The film is the one ``bench/pipeline_bench.py`` builds (the shared clips looped, 720p, 25 fps),
cut to ``BENCH_OCR_MINUTES``: 4 minutes hold every clip once. Only the stages the ocr stage
needs run (probe, shots, keyframes, ocr), in this process as a worker runs them; the figures
are the ocr stage's CPU seconds (this process and its Tesseract children, from the run's
``stage_cpu_seconds``), its wall seconds, and per scene the text read, written to
``var/bench/ocr_cost_<label>.json`` so that two versions can be compared scene by scene
(``BENCH_OCR_LABEL``, default ``run``).

``labels``: the on-screen text part of ``bench/vision_eval.py`` alone (its labelled scenes, its
frames, its scoring: words read, gibberish), with the CPU seconds of reading each scene's
text (this process and Tesseract's), without the tag and face work around it.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.common import CACHE, load_average, setup_django
from bench.pipeline_bench import build_film

STAGES = ["probe", "shots", "keyframes", "ocr"]


def analyse(minutes: float) -> dict[str, Any]:
    film = build_film(minutes)
    setup_django()
    from django.contrib.auth import get_user_model

    from analysis import services
    from analysis.models import Analysis
    from analysis.pipeline.runner import analysis_execute
    from vision.models import SceneText

    user, _ = get_user_model().objects.get_or_create(username="bench")
    video = services.video_create_from_path(owner=user, path=film)
    # Created as the tests do: analysis_start keeps only the parameters users may set.
    analysis = Analysis.objects.create(video=video, parameters={"stages": STAGES})
    started = time.perf_counter()
    done = analysis_execute(analysis_id=analysis.pk)
    assert done is not None and done.status == "completed", done and done.error
    texts = {
        row.scene.index: row.text
        for row in SceneText.objects.filter(analysis=done).select_related("scene")
    }
    return {
        "film": film.name,
        "wall": time.perf_counter() - started,
        "scenes": done.scenes.count(),
        "ocr_wall": done.metadata.get("stage_seconds", {}).get("ocr"),
        "ocr_cpu": done.metadata.get("stage_cpu_seconds", {}).get("ocr"),
        "texts": {str(k): texts[k] for k in sorted(texts)},
        "load": load_average(),
    }


def labelled() -> None:
    from bench import vision_eval
    from bench.common import require_media
    from vision import ocr

    scenes = vision_eval.load_scenes(require_media())
    with tempfile.TemporaryDirectory() as tmp:
        start = vision_eval.cpu_seconds()
        for scene in scenes:
            bgr = [frame[..., ::-1].copy() for frame in [*scene.frames, *scene.grid]]
            lines = ocr.read_scene(bgr, "rus+eng", Path(tmp))
            scene.words = [line.text.split() for line in lines]
        seconds = vision_eval.cpu_seconds() - start
    words, junk, read = vision_eval.ocr_figures(scenes, old=False)
    for scene in scenes:
        if scene.words or scene.label["text"]:
            print(f"{scene.clip} #{scene.number}: {' / '.join(map(' '.join, scene.words))}")
    print(
        f"{len(scenes)} scenes: words read {words:.3f}, gibberish {junk:.3f} of {read}, "
        f"OCR {seconds:.1f} CPU s ({seconds / len(scenes):.3f} per scene; load {load_average()})"
    )


def main() -> None:
    setup_django()
    if sys.argv[1:] == ["labels"]:
        labelled()
        return
    minutes = float(os.environ.get("BENCH_OCR_MINUTES", "4"))
    label = os.environ.get("BENCH_OCR_LABEL", "run")
    result = analyse(minutes)
    out = CACHE / f"ocr_cost_{label}.json"
    out.write_text(json.dumps(result, indent=1, ensure_ascii=False))
    print(
        f"{result['film']}: {result['scenes']} scenes, ocr stage {result['ocr_cpu']:.1f} CPU s, "
        f"{result['ocr_wall']:.1f} s wall, {len(result['texts'])} scenes with text "
        f"(load {result['load']}); per scene: {out}"
    )


if __name__ == "__main__":
    main()
