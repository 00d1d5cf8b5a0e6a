"""A feature-length film end to end on the embedded default: ``python -m bench.feature_film``.

The benchmark film of ``bench.pipeline_bench`` (10 minutes, shared clips and speech) is scaled
to ``BENCH_FILM_HEIGHT`` (default 360) lines and concatenated ``BENCH_FILM_COPIES`` times
(default 12: two hours). With neither ``DATABASE_URL`` nor ``REDIS_URL`` set, the analysis runs
on the embedded Postgres in ``VAR_DIR`` (use a fresh one) in this process, like the embedded
worker would. Measured in one run: the decode-only time of the film, the whole default
analysis (wall, CPU, ratio to decode), peak memory, how honest the time-left estimate was along
the way, the timeline page's server time and one export of every storyline.

Prints the figures and writes them as JSON to ``var/bench/feature_film.json``; the summary in
``bench/RESULTS.md`` (section ``pipeline-feature``) is written by hand from that file.
"""

from __future__ import annotations

import json
import os
import resource
import time
from pathlib import Path
from typing import Any

from bench.common import CACHE, ffmpeg, load_average, setup_django
from bench.pipeline_bench import build_film, decode_only, machine_idle_seconds

OUT = CACHE / "feature_film.json"


def build_feature(copies: int, height: int) -> Path:
    """The 10-minute benchmark film scaled to ``height`` lines, concatenated ``copies`` times."""
    target = CACHE / f"film_{copies * 10}min_{height}p.mp4"
    if target.exists():
        return target
    short = build_film(10.0)
    scaled = CACHE / f"film_10min_{height}p.mp4"
    if not scaled.exists():
        ffmpeg(
            "-i",
            str(short),
            "-vf",
            f"scale=-2:{height}",
            "-c:v",
            "libx264",
            "-preset",
            "veryfast",
            "-crf",
            "23",
            "-g",
            "50",
            "-c:a",
            "copy",
            str(scaled),
        )
    listing = CACHE / "feature_list.txt"
    listing.write_text(f"file '{scaled}'\n" * copies)
    partial = target.with_suffix(".part.mp4")
    ffmpeg("-f", "concat", "-safe", "0", "-i", str(listing), "-c", "copy", str(partial))
    partial.rename(target)
    return target


class Watch:
    """Records (elapsed seconds, progress, estimated seconds left, stage) along the run."""

    def __init__(self) -> None:
        self.started = time.perf_counter()
        self.samples: list[tuple[float, float, float | None, str]] = []
        self.last = -1.0

    def __call__(self, analysis: Any) -> None:
        from analysis.progress import eta_seconds

        elapsed = time.perf_counter() - self.started
        if elapsed - self.last < 15.0:
            return
        self.last = elapsed
        eta = eta_seconds(analysis)
        self.samples.append((round(elapsed, 1), analysis.progress, eta, analysis.current_stage))
        print(f"{elapsed:7.0f}s {analysis.progress:6.1%} eta {eta} {analysis.message[:70]}")


def analyse(film: Path) -> tuple[Any, dict[str, Any]]:
    from django.contrib.auth import get_user_model

    from analysis import services
    from analysis.pipeline.runner import analysis_execute
    from videoanalyzer.database import database_prepare

    database_prepare()
    user, _ = get_user_model().objects.get_or_create(username="bench")
    video = services.video_create_from_path(owner=user, path=film)
    analysis = services.analysis_start(video=video, parameters={}, enqueue=False)
    watch, idle = Watch(), machine_idle_seconds()
    done = analysis_execute(analysis_id=analysis.pk, listener=watch)
    wall = time.perf_counter() - watch.started
    assert done is not None and done.status == "completed", done and done.error
    return done, {
        "wall": round(wall, 1),
        "machine_idle": round(machine_idle_seconds() - idle, 1),
        "stages": done.metadata.get("stage_seconds", {}),
        "cpu": done.metadata.get("stage_cpu_seconds", {}),
        "usage": done.metadata.get("usage", {}),
        "scenes": done.scenes.count(),
        "storylines": done.storylines.count(),
        "duration": video.duration,
        "peak_mb_after_analysis": round(peak_mb(), 1),
        "eta_samples": watch.samples,
        "eta_error": eta_errors(watch.samples, wall),
    }


def eta_errors(samples: list[tuple[float, float, float | None, str]], wall: float) -> list[Any]:
    """At each tenth of the run: (elapsed, estimated left, actually left)."""
    out, mark = [], 0.1
    for elapsed, _progress, eta, _stage in samples:
        if eta is not None and elapsed >= mark * wall:
            out.append((elapsed, eta, round(wall - elapsed, 1)))
            mark += 0.1
    return out


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def timeline_seconds(analysis: Any) -> dict[str, float]:
    """Server time of the timeline page and of the analysis's result JSON, as its owner."""
    from django.test import Client

    client = Client()
    client.force_login(analysis.video.owner)
    timings = {}
    for name, url in (
        ("timeline_page", f"/analyses/{analysis.pk}/timeline/"),
        ("result_json", f"/api/analyses/{analysis.pk}"),
    ):
        started = time.perf_counter()
        response = client.get(url, HTTP_HOST="127.0.0.1")
        timings[name] = round(time.perf_counter() - started, 3)
        assert response.status_code == 200, (url, response.status_code)
    return timings


def export(analysis: Any) -> dict[str, Any]:
    """Every storyline exported (MP4 smart cut, EDL, OTIO, subtitles)."""
    from exports.services.directory import export_to_directory, parse_formats

    directory = CACHE / "feature_export"
    started = time.perf_counter()
    manifest = export_to_directory(
        analysis=analysis, directory=directory, formats=parse_formats("mp4,edl,otio,srt")
    )
    return {
        "seconds": round(time.perf_counter() - started, 1),
        "files": len(manifest.get("files", [])),
        "bytes": sum(p.stat().st_size for p in directory.rglob("*") if p.is_file()),
    }


def main() -> None:
    copies = int(os.environ.get("BENCH_FILM_COPIES", "12"))
    height = int(os.environ.get("BENCH_FILM_HEIGHT", "360"))
    film = build_feature(copies, height)
    setup_django()
    figures: dict[str, Any] = {"film": film.name, "decode": decode_only(film)}
    print("decode only:", figures["decode"], flush=True)
    done, figures["analysis"] = analyse(film)
    figures["ratio"] = round(figures["analysis"]["wall"] / figures["decode"]["wall"], 2)
    OUT.write_text(json.dumps(figures, indent=1))
    figures["timeline"] = timeline_seconds(done)
    OUT.write_text(json.dumps(figures, indent=1))
    figures["export"] = export(done)
    figures["peak_mb"] = round(peak_mb(), 1)
    figures["children_peak_mb"] = round(
        resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024, 1
    )
    figures["load_average"] = load_average()
    OUT.write_text(json.dumps(figures, indent=1))
    print(json.dumps({k: v for k, v in figures.items() if k != "analysis"}, indent=1))


if __name__ == "__main__":
    main()
