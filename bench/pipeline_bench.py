"""The whole analysis of a 10-minute 720p video with the default models: seconds and memory.

    python -m bench.pipeline_bench            # default pipeline and models
    BENCH_PIPELINE_MINUTES=2 python -m bench.pipeline_bench   # a shorter film

The film is built once from the shared clips (scaled to 1280x720, 25 fps) with the shared
speech recordings as its sound track, and cached in var/bench/. The analysis runs in this
process like a worker would (models loaded once), so peak memory is the worker's.
"""

from __future__ import annotations

import os
import resource
import time
from pathlib import Path
from typing import Any

from bench.common import (
    CACHE,
    ffmpeg,
    load_average,
    markdown_table,
    require_media,
    setup_django,
    write_section,
)

TARGET_SECONDS = 120.0
TARGET_MEMORY_MB = 4096.0


def build_film(minutes: float) -> Path:
    """Shared clips looped into a 720p film of ``minutes``, with the shared speech as sound."""
    media = require_media()
    target = CACHE / f"film_{minutes:g}min_720p.mp4"
    if target.exists():
        return target
    CACHE.mkdir(parents=True, exist_ok=True)
    clips = [*sorted((media / "shots").glob("*.mp4")), media / "story" / "story_dev_01.mp4"]
    speech = [*sorted((media / "speech").glob("*.wav")), media / "speech" / "jfk.flac"]
    picture = _concat_list(CACHE / "film_picture.txt", clips)
    sound = _concat_list(CACHE / "film_sound.txt", speech)
    seconds = str(minutes * 60)
    ffmpeg(
        "-stream_loop",
        "-1",
        "-f",
        "concat",
        "-safe",
        "0",
        "-i",
        str(picture),
        "-stream_loop",
        "-1",
        "-f",
        "concat",
        "-safe",
        "0",
        "-i",
        str(sound),
        "-t",
        seconds,
        "-map",
        "0:v",
        "-map",
        "1:a",
        "-vf",
        "scale=1280:720:force_original_aspect_ratio=decrease,"
        "pad=1280:720:(ow-iw)/2:(oh-ih)/2,fps=25,format=yuv420p",
        "-c:v",
        "libx264",
        "-preset",
        "veryfast",
        "-crf",
        "23",
        "-g",
        "50",
        "-c:a",
        "aac",
        "-ac",
        "1",
        "-ar",
        "16000",
        str(target),
    )
    return target


def _concat_list(path: Path, files: list[Path]) -> Path:
    # Each input is re-encoded to one format first: concat needs matching streams.
    normalised = []
    for source in files:
        out = CACHE / f"norm_{source.stem}{'.wav' if path.stem.endswith('sound') else '.mp4'}"
        if not out.exists():
            if out.suffix == ".wav":
                ffmpeg("-i", str(source), "-ac", "1", "-ar", "16000", str(out))
            else:
                ffmpeg(
                    "-i",
                    str(source),
                    "-an",
                    "-vf",
                    "scale=1280:720:force_original_aspect_ratio=decrease,"
                    "pad=1280:720:(ow-iw)/2:(oh-ih)/2,fps=25,format=yuv420p",
                    "-c:v",
                    "libx264",
                    "-preset",
                    "veryfast",
                    str(out),
                )
        normalised.append(out)
    path.write_text("".join(f"file '{p}'\n" for p in normalised))
    return path


def analyse(film: Path) -> dict[str, Any]:
    setup_django()
    from django.contrib.auth import get_user_model

    from analysis import services
    from analysis.pipeline.runner import analysis_execute

    user, _ = get_user_model().objects.get_or_create(username="bench")
    video = services.video_create_from_path(owner=user, path=film)
    analysis = services.analysis_start(video=video, parameters={}, enqueue=False)
    started = time.perf_counter()
    done = analysis_execute(analysis_id=analysis.pk)
    wall = time.perf_counter() - started
    assert done is not None and done.status == "completed", done and done.error
    return {
        "wall": wall,
        "stages": done.metadata.get("stage_seconds", {}),
        "scenes": done.scenes.count(),
        "duration": video.duration,
        "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "children_peak_mb": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024,
    }


def report(result: dict[str, Any], film: Path) -> str:
    rows = [[name, f"{seconds:.1f}"] for name, seconds in result["stages"].items()]
    rows.append(["**total (wall)**", f"**{result['wall']:.1f}**"])
    verdict_time = "met" if result["wall"] <= TARGET_SECONDS else "missed"
    verdict_mem = "met" if result["peak_mb"] <= TARGET_MEMORY_MB else "missed"
    return "\n".join(
        [
            "## pipeline",
            "",
            f"`python -m bench.pipeline_bench`: the default pipeline on `{film.name}` "
            f"({result['duration']:.0f} s, 1280x720, 25 fps, speech track), one worker process, "
            f"2 CPU cores, no GPU; load average at the end {load_average()}.",
            "",
            markdown_table(["stage", "seconds"], rows),
            "",
            f"- Scenes found: {result['scenes']}.",
            f"- Peak memory of the worker: {result['peak_mb']:.0f} MB "
            f"(largest child process, e.g. ffmpeg: {result['children_peak_mb']:.0f} MB).",
            f"- Target 10 min in ≤ {TARGET_SECONDS:.0f} s: **{verdict_time}**; "
            f"peak memory < 4 GB: **{verdict_mem}**.",
        ]
    )


def main() -> None:
    minutes = float(os.environ.get("BENCH_PIPELINE_MINUTES", "10"))
    film = build_film(minutes)
    result = analyse(film)
    body = report(result, film)
    print(body)
    write_section("pipeline", body)


if __name__ == "__main__":
    main()
