"""The whole analysis of a 10-minute 720p video with the default models against decoding it.

One run measures the decode floor of the film (every frame decoded, nothing else), then the
whole default analysis: wall and CPU seconds per stage, the ratio to the decode floor, the
cores' idle time and peak memory.

    python -m bench.pipeline_bench            # default pipeline and models
    BENCH_PIPELINE_MINUTES=2 python -m bench.pipeline_bench   # a shorter film
    ANALYSIS_LANES=false python -m bench.pipeline_bench       # every stage on one thread

With the lanes off the figures go to the ``pipeline-lanes-off`` section, so the two runs can be
read side by side; each run also leaves its figures in var/bench/pipeline_lanes_{on,off}.json.

The film is built once from the shared clips (scaled to 1280x720, 25 fps) with the shared
speech recordings as its sound track, and cached in var/bench/. The analysis runs in this
process like a worker would (models loaded once), so peak memory is the worker's.
"""

from __future__ import annotations

import json
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

TARGET_RATIO = 4.0  # whole analysis / decode only, measured in one run
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


def decode_only(film: Path) -> dict[str, float]:
    """The decode floor: every video frame decoded with PyAV's threads, nothing else done."""
    import av

    from analysis.pipeline.usage import cpu_seconds

    started, cpu = time.perf_counter(), cpu_seconds()
    with av.open(str(film)) as container:
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        frames = sum(1 for _ in container.decode(stream))
    return {
        "wall": time.perf_counter() - started,
        "cpu": cpu_seconds() - cpu,
        "frames": float(frames),
    }


def machine_idle_seconds() -> float:
    """Idle seconds of all the machine's cores since boot (/proc/stat: idle + iowait)."""
    fields = Path("/proc/stat").read_text().splitlines()[0].split()[1:]
    return (int(fields[3]) + int(fields[4])) / os.sysconf("SC_CLK_TCK")


def analyse(film: Path) -> dict[str, Any]:
    setup_django()
    from django.contrib.auth import get_user_model

    from analysis import services
    from analysis.pipeline.runner import analysis_execute, lanes_allowed

    user, _ = get_user_model().objects.get_or_create(username="bench")
    video = services.video_create_from_path(owner=user, path=film)
    analysis = services.analysis_start(video=video, parameters={}, enqueue=False)
    load_start = load_average()
    started, idle = time.perf_counter(), machine_idle_seconds()
    done = analysis_execute(analysis_id=analysis.pk)
    wall = time.perf_counter() - started
    assert done is not None and done.status == "completed", done and done.error
    return {
        "wall": wall,
        "lanes": lanes_allowed(),
        "load_start": load_start,
        "network_frames": done.metadata.get("network_frames"),
        "machine_idle": machine_idle_seconds() - idle,
        "stages": done.metadata.get("stage_seconds", {}),
        "cpu": done.metadata.get("stage_cpu_seconds", {}),
        "usage": done.metadata.get("usage", {}),
        "scenes": done.scenes.count(),
        "duration": video.duration,
        "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "children_peak_mb": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024,
    }


def stage_rows(result: dict[str, Any]) -> list[list[str]]:
    """Stages in the order they ran, with wall and CPU seconds, and the totals."""
    from analysis.pipeline import DEFAULT_PIPELINE

    order = {name: number for number, name in enumerate(DEFAULT_PIPELINE)}
    rows = [
        [name, f"{seconds:.1f}", f"{result['cpu'].get(name, 0.0):.1f}"]
        for name, seconds in sorted(result["stages"].items(), key=lambda i: order.get(i[0], 99))
    ]
    usage = result["usage"]
    rows.append(["**run (wall)**", f"**{result['wall']:.1f}**", f"**{usage['cpu_seconds']:.1f}**"])
    return rows


def report(result: dict[str, Any], decode: dict[str, float], film: Path) -> str:
    lanes = "on" if result["lanes"] else "off (`ANALYSIS_LANES=false`)"
    ratio = result["wall"] / decode["wall"]
    usage = result["usage"]
    verdict_time = "met" if ratio <= TARGET_RATIO else "missed"
    verdict_mem = "met" if result["peak_mb"] <= TARGET_MEMORY_MB else "missed"
    return "\n".join(
        [
            "## pipeline" + ("" if result["lanes"] else ": lanes off"),
            "",
            f"`python -m bench.pipeline_bench`: the default pipeline on `{film.name}` "
            f"({result['duration']:.0f} s, 1280x720, 25 fps, speech track), one worker process, "
            f"{usage['cores']} CPU cores shared with other work, no GPU, lanes {lanes}; load "
            f"average at the start {result['load_start']}, at the end {load_average()}. "
            "Wall times on a loaded machine are rough; the ratio and "
            "the CPU seconds, measured in the same run, are the figures to compare.",
            "",
            f"- Decode only (PyAV, threaded, {decode['frames']:.0f} frames): "
            f"**{decode['wall']:.1f} s** wall, {decode['cpu']:.1f} CPU s.",
            f"- Whole default analysis: **{result['wall']:.1f} s** wall, "
            f"{usage['cpu_seconds']:.1f} CPU s: **{ratio:.1f}x the decode-only time** "
            f"({usage['cpu_seconds'] / decode['cpu']:.1f}x its CPU seconds) "
            f"(target ≤ {TARGET_RATIO:.0f}x: **{verdict_time}**).",
            f"- Cores' idle time during the analysis: {usage['idle_core_seconds']:.1f} core-s "
            f"left unused by the run ({usage['cores']} x wall - CPU); the whole machine's cores "
            f"were idle {result['machine_idle']:.1f} core-s (other processes ran too).",
            f"- Peak memory of the worker: {result['peak_mb']:.0f} MB "
            f"(largest child process, e.g. ffmpeg: {result['children_peak_mb']:.0f} MB); "
            f"< 4 GB: **{verdict_mem}**.",
            f"- Scenes found: {result['scenes']}; frames given to TransNetV2: "
            f"{result['network_frames']} of {decode['frames']:.0f}.",
            "",
            "Per stage, in pipeline order (CPU seconds of stages that ran at the same "
            "time are the run's CPU seconds shared equally among them, see "
            "`analysis/pipeline/usage.py`):",
            "",
            markdown_table(["stage", "wall s", "CPU s"], stage_rows(result)),
        ]
    )


def main() -> None:
    minutes = float(os.environ.get("BENCH_PIPELINE_MINUTES", "10"))
    film = build_film(minutes)
    setup_django()
    decode = decode_only(film)
    result = analyse(film)
    body = report(result, decode, film)
    print(body)
    mode = "on" if result["lanes"] else "off"
    (CACHE / f"pipeline_lanes_{mode}.json").write_text(
        json.dumps({"decode": decode, "result": result, "load_end": load_average()}, indent=1)
    )
    write_section("pipeline" if result["lanes"] else "pipeline-lanes-off", body)


if __name__ == "__main__":
    main()
