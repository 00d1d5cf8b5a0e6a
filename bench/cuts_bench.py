"""Cut review: what a partial re-run costs next to re-running its stages for every scene, and
where it puts the scenes it touched. ``python -m bench.cuts_bench`` (needs ``DATABASE_URL``
migrated, and ``../shared/media``).

On each shared story video, an analysis is seeded with the true scenes and storylines (no model
runs), then the re-run stages (``cuts.rescene.RESCENE_STAGES``) run for every scene to store
real signals (twice: the second, warm, run is the figure). Then, in each of the longest true
scenes, a cut goes into its middle; the two halves are re-run (CPU seconds of the run,
``metadata["rescene_usage"]``) and we note whether both halves land in the storyline the scene
had; then the cut is undone (another re-run).
Writes the ``cuts`` section of ``bench/RESULTS.md``.
"""

from __future__ import annotations

import json
import statistics
from pathlib import Path
from typing import Any

from bench.common import load_average, markdown_table, require_media, setup_django, write_section

SPLITS = 6  # scenes split per video (the longest ones)


def seed(path: Path, truth: dict[str, Any]) -> Any:
    from django.contrib.auth import get_user_model

    from frontend.seeding import seed_analysis

    fps = float(truth["fps"])
    scenes = truth["scenes"]
    names = sorted({s["storyline"] for s in scenes})
    user, _ = get_user_model().objects.get_or_create(username="cuts-bench")
    return seed_analysis(
        owner=user,
        video_path=path,
        cuts=[s["start_frame"] / fps for s in scenes[1:]],
        storylines=len(names),
        assignment=[names.index(s["storyline"]) for s in scenes],
        names=names,
        thumbnails=False,
    )


def run_all(analysis: Any) -> dict[str, Any]:
    """The re-run stages for every scene (what a cut edit would cost without the scope)."""
    from analysis.models import Analysis, AnalysisStatus
    from analysis.pipeline import build_pipeline
    from analysis.pipeline.runner import analysis_execute
    from cuts.rescene import RESCENE_STAGES

    names = [s.name for s in build_pipeline(None)]
    Analysis.objects.filter(pk=analysis.pk).update(
        status=AnalysisStatus.QUEUED,
        completed_stages=[n for n in names if n not in RESCENE_STAGES],
        progress=0.0,
    )
    done = analysis_execute(analysis_id=analysis.pk)
    assert done is not None and done.status == AnalysisStatus.COMPLETED, done and done.error
    return dict(done.metadata["usage"])


def rerun(analysis: Any) -> dict[str, Any]:
    from analysis.pipeline.runner import analysis_execute

    done = analysis_execute(analysis_id=analysis.pk)
    assert done is not None and done.status == "completed", done and done.error
    return dict(done.metadata["rescene_usage"])


def storyline_of(pk: int) -> int | None:
    from story.models import StorylineScene

    return StorylineScene.objects.filter(scene_id=pk).values_list("storyline_id", flat=True).first()


def measure_video(path: Path) -> dict[str, Any]:
    from cuts import services

    truth = json.loads(path.with_suffix(".json").read_text())
    analysis = seed(path, truth)
    run_all(analysis)  # stores the signals, and loads the models into this process
    full = run_all(analysis)
    longest = sorted(analysis.scenes.all(), key=lambda s: -s.duration)[:SPLITS]
    edits, undos, kept = [], [], 0
    for scene in sorted(longest, key=lambda s: s.index):
        scene.refresh_from_db()
        before = storyline_of(scene.pk)
        edit = services.add_cut(
            analysis=analysis, user=None, time=(scene.start_time + scene.end_time) / 2
        )
        edits.append(rerun(analysis))
        kept += all(storyline_of(pk) == before for pk in edit.scene_ids)
        services.undo_cut(analysis=analysis, user=None)
        undos.append(rerun(analysis))
    return {
        "video": path.name,
        "scenes": analysis.scenes.count(),
        "full": full,
        "edits": edits,
        "undos": undos,
        "kept": kept,
        "splits": len(edits),
    }


def report(results: list[dict[str, Any]]) -> str:
    rows = []
    for r in results:
        cpu = statistics.median(u["cpu_seconds"] for u in r["edits"])
        wall = statistics.median(u["wall_seconds"] for u in r["edits"])
        undo = statistics.median(u["cpu_seconds"] for u in r["undos"])
        rows.append(
            [
                r["video"],
                r["scenes"],
                f"{r['full']['cpu_seconds']:.1f} / {r['full']['wall_seconds']:.1f}",
                f"{cpu:.1f} / {wall:.1f}",
                f"{undo:.1f}",
                f"{r['kept']} of {r['splits']}",
            ]
        )
    table = markdown_table(
        [
            "video",
            "scenes",
            "all scenes: CPU-s / wall-s",
            "a cut (2 scenes): median CPU-s / wall-s",
            "its undo: CPU-s",
            "halves kept in the scene's storyline",
        ],
        rows,
    )
    return (
        "## cuts (issue 21)\n\n"
        "`python -m bench.cuts_bench`: a cut in the middle of each of the longest true scenes of "
        "the shared story videos, the two halves re-run (the stages of "
        "`cuts.rescene.RESCENE_STAGES`), then undone; beside it the same stages for every "
        "scene. In-process, one worker, models loaded before (by a first run for every scene); "
        f"2 shared cores (load {load_average()}), so wall-clock figures are "
        "rough: compare the CPU seconds.\n\n" + table + "\n\n"
        "A partial re-run decodes the pictures of the touched scenes only (seeking to them), "
        "and finds their faces again. What it still pays for the whole video: the audio track "
        "is decoded and its speech found again (the audio stage)."
    )


def main() -> None:
    media = require_media()
    setup_django()
    results = [measure_video(p) for p in sorted((media / "story").glob("story_dev_*.mp4"))]
    body = report(results)
    print(body)
    write_section("cuts", body)


if __name__ == "__main__":
    main()
