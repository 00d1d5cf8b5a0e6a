"""Vision stages and scene search on ``../shared/media/story/story_dev_01.mp4``.

    DATABASE_URL=postgres://... python -m bench.search_eval

Runs the analysis (probe, shots, keyframes, audio, transcript, faces and the vision stages,
default configuration: MobileNetV2, dlib faces, Tesseract, offline describer, USE sentence
embeddings) with
``analysis_execute``, reports seconds per keyframe of each vision stage on this CPU, then runs
a fixed query set through the same search the API uses and reports precision.

Relevance was judged per truth scene from the story's speech sources (the truth file names
them; the reference texts are in ``truth.json``) and its footage (storyline B is the bikes
clip, whose frames show a street with passing cars). A result counts as relevant when the
detected scene it points to lies mostly inside a relevant truth scene. The truth's frame
numbers drift behind the video by up to ~1.2 s at the end (see ``bench/eval_story.py``);
truth scenes are 3.8 s and longer, so overlap still decides.
Writes the ``vision`` section of ``bench/RESULTS.md``.
"""

from __future__ import annotations

import json
import os
import re
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
MEDIA = Path(os.environ.get("SHARED_MEDIA", ROOT.parent / "shared" / "media"))
VIDEO = MEDIA / "story" / "story_dev_01.mp4"
TRUTH = MEDIA / "story" / "story_dev_01.json"
RESULTS = ROOT / "bench" / "RESULTS.md"
START, END = "<!-- vision:start -->", "<!-- vision:end -->"
FPS = 25
VISION = ["embeddings", "objects", "ocr", "captions", "scene_index"]
# The faces stage as in the default pipeline: the "person" tags, and where the vision stages
# look at footage stored on its side upright.
STAGES = ["probe", "shots", "keyframes", "audio", "transcript", "faces", *VISION]
STREET = {0, 2, 4, 7, 9, 11}  # storyline B: bikes.mp4, a street with passing cars
# Truth scenes holding a bicycle: the bikes clip's parked bicycles (its frames 137 on) and the
# cyclist waiting by the taxi (its frames 78-135, in every storyline B scene: scene 11 too).
BICYCLE = STREET
CHAPLIN = {1, 5, 8, 13}  # storyline C: Chaplin in his hat
SCREEN = {3, 6, 10, 12}  # storyline A: the computer screen filmed sideways
# (query, kind, relevant truth scene indexes)
QUERIES: list[tuple[str, str, set[int]]] = [
    ("fellow Americans", "keyword", {0, 7}),
    ("what your country can do", "keyword", {0, 7}),
    ("reports from the north", "keyword", {2, 9}),
    ("new home in the stars", "keyword", {4, 11}),
    ("John Dashwood", "keyword", {3}),
    ("ill disposed", "keyword", {6, 10}),
    ("amiable woman", "keyword", {12}),
    ("fairest creatures", "keyword", {1}),
    ("tender heir memory", "keyword", {8}),
    ("bright eyes", "keyword", {13}),
    ("Dashwod", "typo", {3}),
    ("Amerikans", "typo", {0, 7}),
    ("fairest creaturs", "typo", {1}),
    ("что ваша страна может сделать", "ru→en", {0, 7}),
    ("новый дом среди звёзд", "ru→en", {4, 11}),
    ("люди покупали", "ru→en", {2, 9}),
    ("эгоистичный и холодный", "ru→en", {10}),
    ("жениться на милой женщине", "ru→en", {12}),
    ("car", "visual", STREET),
    ("машина на улице", "visual ru", STREET),
    # The picture queries of issue 19 (the taxis are in every bikes scene: STREET).
    ("bicycle", "visual", BICYCLE),
    ("велосипед", "visual ru", BICYCLE),
    ("taxi", "visual", STREET),
    ("такси", "visual ru", STREET),
    ("man in a hat", "visual", CHAPLIN),
    ("человек в шляпе", "visual ru", CHAPLIN),
    ("computer screen", "visual", SCREEN),
    ("экран", "visual ru", SCREEN),
]


def setup_django() -> None:
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "videoanalyzer.settings")
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def run_analysis() -> Any:
    from django.contrib.auth import get_user_model

    from analysis.models import Analysis
    from analysis.pipeline.runner import analysis_execute
    from analysis.services import video_create_from_path

    users = get_user_model().objects
    users.filter(username="vision-bench").delete()
    owner = users.create_user(username="vision-bench", password="vision-bench")
    video = video_create_from_path(owner=owner, path=VIDEO)
    analysis = Analysis.objects.create(video=video, parameters={"stages": STAGES})
    started = time.perf_counter()
    done = analysis_execute(analysis_id=analysis.pk)
    if done is None or done.status != "completed":
        raise SystemExit(f"the analysis failed: {done and done.error}")
    return done, time.perf_counter() - started


def truth_spans() -> list[tuple[int, float, float]]:
    truth = json.loads(TRUTH.read_text())
    return [(s["index"], s["start_frame"] / FPS, s["end_frame"] / FPS) for s in truth["scenes"]]


def truth_scene(start: float, end: float, spans: list[tuple[int, float, float]]) -> int:
    """The truth scene overlapping [start, end) the most."""
    return max(spans, key=lambda s: min(end, s[2]) - max(start, s[1]))[0]


def stage_timings(analysis: Any) -> list[dict[str, Any]]:
    scenes = analysis.scenes.count()
    seconds = analysis.metadata.get("stage_seconds", {})
    return [
        {
            "stage": name,
            "seconds": seconds.get(name, 0.0),
            "per_keyframe": seconds.get(name, 0.0) / scenes,
        }
        for name in VISION
    ]


def evaluate(analysis: Any) -> list[dict[str, Any]]:
    from vision.search import search_scenes

    spans, rows = truth_spans(), []
    for query, kind, relevant in QUERIES:
        started = time.perf_counter()
        results = search_scenes([analysis], query, limit=10)["results"]
        seconds = time.perf_counter() - started
        hits = [truth_scene(r["start_time"], r["end_time"], spans) in relevant for r in results]
        first = next((i for i, hit in enumerate(hits) if hit), None)
        r = len(relevant)
        found = {truth_scene(x["start_time"], x["end_time"], spans) for x in results}
        rows.append(
            {
                "query": query,
                "kind": kind,
                "relevant": r,
                "returned": len(results),
                "p1": float(hits[:1] == [True]),
                "p3": sum(hits[:3]) / 3,
                "rprec": sum(hits[:r]) / r,
                "rr": 0.0 if first is None else 1 / (first + 1),
                "recall": len(found & relevant) / r,
                "top": results[0]["snippet"][:50] if results else "",
                "ms": seconds * 1000,
            }
        )
    return rows


def table(rows: list[dict[str, Any]], columns: list[str]) -> str:
    def cell(value: Any) -> str:
        return f"{value:.3f}" if isinstance(value, float) else str(value).replace("|", "/")

    head = "| " + " | ".join(columns) + " |\n|" + "---|" * len(columns) + "\n"
    return head + "\n".join("| " + " | ".join(cell(r[c]) for c in columns) + " |" for r in rows)


def write_section(text: str) -> None:
    current = RESULTS.read_text() if RESULTS.exists() else "# Benchmark results\n"
    block = f"{START}\n{text.strip()}\n{END}"
    if START in current and END in current:
        current = re.sub(
            re.escape(START) + ".*?" + re.escape(END), lambda _m: block, current, flags=re.S
        )
    else:
        current = current.rstrip() + "\n\n" + block + "\n"
    RESULTS.write_text(current)


def report(
    analysis: Any, total: float, timings: list[dict[str, Any]], rows: list[dict[str, Any]]
) -> str:
    scenes = analysis.scenes.count()
    keys = ("p1", "p3", "rprec", "rr", "recall", "ms")
    mean = {k: sum(r[k] for r in rows) / len(rows) for k in keys}
    by_kind: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        by_kind.setdefault(row["kind"], []).append(row)
    kinds = [
        {
            "kind": kind,
            "queries": len(group),
            **{
                k: sum(r[k] for r in group) / len(group)
                for k in ("p1", "p3", "rprec", "rr", "recall")
            },
        }
        for kind, group in by_kind.items()
    ]
    return "\n\n".join(
        [
            "## vision (captions, objects, on-screen text, scene index, search), CPU, 2 cores",
            f"`python -m bench.search_eval` on `story/story_dev_01.mp4` (84 s, 640x360, {scenes} "
            f"detected scenes = keyframes), default configuration (MobileNetV2 embeddings and "
            f"ImageNet classes, Tesseract rus+eng, offline describer, USE multilingual sentence "
            f"embeddings). Whole analysis (probe … transcript + vision stages): {total:.1f} s.",
            table(timings, ["stage", "seconds", "per_keyframe"]),
            f"Search: {len(rows)} queries judged against the truth scenes; P@1, P@3, R-precision "
            f"(precision at the number of relevant truth scenes) and reciprocal rank. Means: "
            f"P@1 {mean['p1']:.3f}, P@3 {mean['p3']:.3f}, R-precision {mean['rprec']:.3f}, "
            f"MRR {mean['rr']:.3f}, recall in the first 10 {mean['recall']:.3f}, "
            f"{mean['ms']:.0f} ms per query.",
            table(kinds, ["kind", "queries", "p1", "p3", "rprec", "rr", "recall"]),
            table(
                rows,
                [
                    *("query", "kind", "relevant", "returned"),
                    *("p1", "p3", "rprec", "rr", "recall", "top"),
                ],
            ),
        ]
    )


def main() -> None:
    if not VIDEO.exists():
        raise SystemExit(f"{VIDEO} is missing (the shared media folder is not here)")
    setup_django()
    analysis, total = run_analysis()
    timings = stage_timings(analysis)
    rows = evaluate(analysis)
    text = report(analysis, total, timings, rows)
    print(text)
    write_section(text)


if __name__ == "__main__":
    main()
