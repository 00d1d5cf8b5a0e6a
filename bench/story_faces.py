"""Character appearances on ``../shared/media/story/story_dev_01.mp4``: found, and linked?

    DATABASE_URL=postgres://... python -m bench.story_faces

Runs the people part of the pipeline (probe, shots, keyframes, faces; default configuration)
on the story video and places every face appearance in the truth scene (``story_dev_01.json``)
holding its frame. Which truth scenes should show a face comes from the footage they are cut
from: every scene cut from ``chaplin.mp4`` shows Chaplin; other footage counts when one of its
source shots overlaps a shot hand-labelled ``faces: true`` in ``bench/vision_labels.json``.

Figures: recall of character appearances (truth face scenes with at least one face found),
faces found in scenes labelled face-free, and whether one character id links Chaplin's scenes
(the character found in most of them, and in how many).
Writes the ``story-faces`` section of ``bench/RESULTS.md``.
"""

from __future__ import annotations

import json
import subprocess
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

from bench.common import (
    ROOT,
    load_average,
    markdown_table,
    require_media,
    setup_django,
    write_section,
)

LABELS = ROOT / "bench" / "vision_labels.json"
STAGES = ["probe", "shots", "keyframes", "faces"]
CHAPLIN = "chaplin.mp4"
FPS = 25  # story_dev_01's frame rate (its truth file says so too)


def face_seconds(scene: dict[str, Any], labels: dict[str, Any]) -> float:
    """Seconds of the truth scene cut from shots hand-labelled as showing a face."""
    total = 0.0
    for source, first, last in scene["shots"]:
        clip = labels.get(Path(source).name)
        if clip is None:
            continue
        start, end = first / clip["fps"], last / clip["fps"]
        for shot in clip["shots"]:
            if shot["faces"]:
                total += max(0.0, min(end, shot["span"][1]) - max(start, shot["span"][0]))
    return total


def footage(scene: dict[str, Any]) -> str:
    return ", ".join(sorted({Path(source).name for source, _a, _b in scene["shots"]}))


def run_analysis(video: Path) -> tuple[list[tuple[float, int]], dict[str, Any]]:
    """(frame time, character id) of every face appearance, and the analysis metadata."""
    from django.contrib.auth import get_user_model
    from django.core.management import call_command
    from django.test import override_settings

    from analysis import services
    from analysis.models import Analysis
    from analysis.pipeline.runner import analysis_execute
    from people.models import FaceAppearance

    call_command("migrate", verbosity=0)
    with (
        tempfile.TemporaryDirectory() as tmp,
        override_settings(
            MEDIA_ROOT=Path(tmp) / "media", VAR_DIR=Path(tmp) / "var", RESULTS_DIR=Path(tmp) / "res"
        ),
    ):
        owner, _ = get_user_model().objects.get_or_create(username="bench-story-faces")
        try:
            record = services.video_create_from_path(owner=owner, path=video)
            analysis = Analysis.objects.create(video=record, parameters={"stages": STAGES})
            done = analysis_execute(analysis_id=analysis.id)
            if done is None or done.status != "completed":
                raise SystemExit(f"analysis failed: {done.error if done else 'not run'}")
            hits = FaceAppearance.objects.filter(character__analysis=done)
            return [(h.frame_time, h.character_id) for h in hits], dict(done.metadata)
        finally:
            owner.delete()  # cascades to the video and analysis made here


def commit() -> str:
    out = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True
    )
    return out.stdout.strip() or "unknown"


def main() -> None:
    setup_django()
    media = require_media()
    video = media / "story" / "story_dev_01.mp4"
    truth = json.loads((media / "story" / "story_dev_01.json").read_text())
    labels = json.loads(LABELS.read_text(encoding="utf-8"))["clips"]
    fps = truth["fps"]
    started, cpu = time.perf_counter(), time.process_time()
    hits, metadata = run_analysis(video)
    wall, cpu = time.perf_counter() - started, time.process_time() - cpu
    per_scene: dict[int, Counter[int]] = {s["index"]: Counter() for s in truth["scenes"]}
    for frame_time, character in hits:
        frame = frame_time * fps
        for s in truth["scenes"]:
            if s["start_frame"] <= frame < s["end_frame"]:
                per_scene[s["index"]][character] += 1
    text = report(truth["scenes"], labels, per_scene, metadata, wall, cpu)
    write_section("story-faces", text)
    print(text)


def report(
    scenes: list[dict[str, Any]],
    labels: dict[str, Any],
    per_scene: dict[int, Counter[int]],
    metadata: dict[str, Any],
    wall: float,
    cpu: float,
) -> str:
    seconds = {s["index"]: face_seconds(s, labels) for s in scenes}
    wanted = [i for i, sec in seconds.items() if sec > 0]
    chaplin = [s["index"] for s in scenes if CHAPLIN in footage(s)]
    others = [i for i in wanted if i not in chaplin]
    others_found = [i for i in others if per_scene[i]]
    free = [s["index"] for s in scenes if s["index"] not in wanted]
    found = [i for i in wanted if per_scene[i]]
    chaplin_found = [i for i in chaplin if per_scene[i]]
    false_scenes = [i for i in free if per_scene[i]]
    # The character linking Chaplin's scenes: the id present in most of them.
    presence = Counter(c for i in chaplin for c in per_scene[i])
    best, linked = presence.most_common(1)[0] if presence else (None, 0)
    ids = sorted({c for i in chaplin for c in per_scene[i]})
    names = {c: f"c{n}" for n, c in enumerate(sorted({c for x in per_scene.values() for c in x}))}
    rows = [
        [
            s["index"],
            footage(s),
            f"{seconds[s['index']]:.1f} of {(s['end_frame'] - s['start_frame']) / FPS:.1f}",
            sum(per_scene[s["index"]].values()),
            ", ".join(f"{names[c]} x{n}" for c, n in sorted(per_scene[s["index"]].items())),
        ]
        for s in scenes
    ]
    faces_meta = metadata.get("faces", {})
    summary = markdown_table(
        ["figure", "value"],
        [
            [
                "character-appearance recall (truth face scenes with a face)",
                f"{len(found)}/{len(wanted)} = {len(found) / max(1, len(wanted)):.3f}",
            ],
            ["Chaplin scenes with a face", f"{len(chaplin_found)}/{len(chaplin)}"],
            [
                "other scenes with a face-labelled source shot, with a face",
                f"{len(others_found)}/{len(others)}",
            ],
            [
                "one character id across Chaplin's scenes",
                f"{names[best] if best is not None else '-'} in {linked}/{len(chaplin)}; "
                f"{len(ids)} distinct ids in them",
            ],
            ["face-free scenes with a face (false)", f"{len(false_scenes)}/{len(free)}"],
            ["characters in the video", len(names)],
            [
                "frames looked at / searched whole / anchors held by a track",
                f"{faces_meta.get('frames', '?')} / {faces_meta.get('searched', '?')} / "
                f"{faces_meta.get('held', '?')}",
            ],
            ["scenes whose faces were found sideways", faces_meta.get("turned_scenes", "-")],
            ["appearances (tracks)", faces_meta.get("faces", "?")],
            [
                "faces stage CPU s (incl. loading dlib)",
                metadata.get("stage_cpu_seconds", {}).get("faces", "?"),
            ],
        ],
    )
    return "\n\n".join(
        [
            "### story_dev_01: character appearances (faces stage)",
            f"`python -m bench.story_faces` on commit {commit()}: probe, shots, keyframes, faces "
            "with the default configuration (dlib HOG on the anchor frames, faces followed over "
            "the pass's pictures of each scene, sideways search of scenes without upright "
            "faces) on "
            "`story_dev_01.mp4`; each face appearance placed in the truth scene holding its "
            "frame. Face scenes: the scenes cut from source shots hand-labelled `faces: true` in "
            "`bench/vision_labels.json`: all 4 cut from `chaplin.mp4` (Chaplin throughout), and "
            "scenes holding a short cut of the goldeneye office people (end of "
            "`issue-134-rotate.mp4`) or of the bikes clip's passer-by by the taxi (small, "
            "moving); the 'face-shot s' column says how much of each scene that is. "
            "Character names c0.. are this run's ids in order."
            f" Run took {wall:.0f} s wall, {cpu:.0f} s CPU of this process, load average "
            f"{load_average()} at the end (2 cores shared: wall time is rough).",
            summary,
            markdown_table(
                ["truth scene", "footage", "face-shot s of scene s", "faces", "characters"], rows
            ),
        ]
    )


if __name__ == "__main__":
    main()
