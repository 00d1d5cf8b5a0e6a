"""Storyline cuts of the 10-minute 720p bench film: smart cut vs stream copy vs full re-encode.

    python -m bench.exports_bench

The film is the pipeline benchmark's (``bench.pipeline_bench.build_film``: shared clips at
1280x720, 25 fps, a keyframe every 2 s, AAC sound). Its scenes are cut at pseudo-random times
(seeded; 0.3x to 1.7x of 5 s, as ``frontend.seeding`` makes them) and dealt into three
interleaving storylines, so every span starts and ends between keyframes. Each storyline is cut
three ways with ``mediakit``, the three one after the other for each storyline, so the ratios
compare runs under the same load. The figures are wall-clock seconds and CPU seconds (user +
system of the ffmpeg/ffprobe processes and this one: on a shared machine the steadier measure),
and the frames from outside the storyline in each cut (smart and full re-encode: the cut's frame
count minus the storyline's; copy: its widening to keyframes).

The floor of a smart cut is what it must re-encode: the frames of each span before its first
keyframe (all of a span with no keyframe inside) and the B-frames after the last I/P frame of
its end. ``encoded share`` is that part of the storyline; at the full re-encode's speed it alone
costs ``share x full re-encode``.
"""

from __future__ import annotations

import random
import resource
import subprocess
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench.common import load_average, markdown_table, write_section
from bench.pipeline_bench import build_film

MINUTES = 10.0
SCENE_SECONDS = 5.0
# A second, separate row set: storylines intercut scene by scene as a film does (a film scene
# is a run of shots; consecutive shots of one storyline are one span), 9 to 51 s each.
FILM_SCENE_SECONDS = 30.0
STORYLINES = 3
FPS = 25
COUNT_FRAMES = ["ffprobe", "-v", "error", "-select_streams", "v:0", "-count_packets"]
COUNT_FRAMES += ["-show_entries", "stream=nb_read_packets", "-of", "csv=p=0"]


def storylines(
    duration: float, seed: int = 16, scene_seconds: float = SCENE_SECONDS
) -> list[list[tuple[float, float]]]:
    """Scenes of 0.3x to 1.7x ``scene_seconds`` (cut on frames), dealt round-robin-ish."""
    rng = random.Random(seed)
    bounds, at = [0.0], 0.0
    while at < duration - 2 * scene_seconds:
        at += round(scene_seconds * rng.uniform(0.3, 1.7) * FPS) / FPS
        bounds.append(at)
    bounds.append(duration)
    lines: list[list[tuple[float, float]]] = [[] for _ in range(STORYLINES)]
    for i in range(len(bounds) - 1):
        owner = i % STORYLINES if rng.random() < 0.7 else rng.randrange(STORYLINES)
        lines[owner].append((bounds[i], bounds[i + 1]))
    return lines


def frames(path: Path) -> int:
    out = subprocess.run(
        [*COUNT_FRAMES, str(path)],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return int(out.strip())


def cpu_seconds() -> float:
    """CPU seconds of this process and of its finished child processes (ffmpeg, ffprobe)."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def cut_three_ways(film: Path, scenes: list[Any], workdir: Path) -> dict[str, Any]:
    from mediakit import cutting, smartcut

    spans = cutting.merge_spans(scenes)
    wanted = sum(round(s.end * FPS) - round(s.start * FPS) for s in spans)
    row: dict[str, Any] = {"scenes": len(scenes), "spans": len(spans), "seconds": wanted / FPS}

    def quiet(fraction: float, message: str) -> None:
        pass

    runs: dict[str, Callable[[Path, Path], Any]] = {
        "smart": lambda out, d: smartcut.smart_cut(film, spans, out, d, quiet, has_audio=True),
        "copy": lambda out, d: cutting.cut_copy(film, spans, out, d, quiet),
        "exact": lambda out, d: cutting.cut_exact(
            film, spans, out, d, quiet, has_audio=True, encoder="libx264"
        ),
    }
    for name, run in runs.items():
        folder = Path(tempfile.mkdtemp(dir=workdir))
        out = folder / "cut.mp4"
        began, cpu = time.perf_counter(), cpu_seconds()
        result = run(out, folder)
        row[f"{name}_s"] = time.perf_counter() - began
        row[f"{name}_cpu"] = cpu_seconds() - cpu
        row[f"{name}_outside"] = frames(out) - wanted
        if name == "smart":
            row["encoded_s"] = result.frames(copy=False) / FPS
            row["pieces"] = len(result.pieces)
    return row


def report(rows: list[dict[str, Any]], title: str) -> list[str]:
    header = ["storyline", "scenes (spans)", "length s", "encoded share", "smart s (CPU s)"]
    header += ["copy s (CPU s)", "full re-encode s (CPU s)", "smart / copy"]
    header += ["re-encode / smart", "outside frames smart / copy / full", "smart pieces"]
    table = []
    for n, r in enumerate(rows, start=1):
        table.append(
            [
                n,
                f"{r['scenes']} ({r['spans']})",
                f"{r['seconds']:.1f}",
                f"{r['encoded_s'] / r['seconds']:.0%} ({r['encoded_s']:.0f} s)",
                f"{r['smart_s']:.1f} ({r['smart_cpu']:.1f})",
                f"{r['copy_s']:.1f} ({r['copy_cpu']:.1f})",
                f"{r['exact_s']:.1f} ({r['exact_cpu']:.1f})",
                f"{r['smart_s'] / r['copy_s']:.1f}x",
                f"{r['exact_s'] / r['smart_s']:.1f}x",
                f"{r['smart_outside']} / {r['copy_outside']} / {r['exact_outside']}",
                r["pieces"],
            ]
        )
    total = {k: sum(r[k] for r in rows) for k in rows[0] if k.endswith(("_s", "_cpu"))}
    share = total["encoded_s"] / sum(r["seconds"] for r in rows)
    within = "met" if total["smart_s"] <= 2 * total["copy_s"] else "NOT met"
    faster = "met" if total["exact_s"] >= 5 * total["smart_s"] else "NOT met"
    return [
        f"### {title}",
        "",
        markdown_table(header, table),
        "",
        f"- Totals: smart {total['smart_s']:.1f} s ({total['smart_cpu']:.1f} CPU s), copy "
        f"{total['copy_s']:.1f} s ({total['copy_cpu']:.1f} CPU s), full re-encode "
        f"{total['exact_s']:.1f} s ({total['exact_cpu']:.1f} CPU s).",
        f"- Smart cut within 2x of stream copy: **{within}** "
        f"({total['smart_s'] / total['copy_s']:.1f}x wall, "
        f"{total['smart_cpu'] / total['copy_cpu']:.1f}x CPU); at least 5x faster than a full "
        f"re-encode: **{faster}** ({total['exact_s'] / total['smart_s']:.1f}x wall, "
        f"{total['exact_cpu'] / total['smart_cpu']:.1f}x CPU).",
        f"- Floor: {share:.0%} of the storylines' frames must be re-encoded (from each "
        "span's first frame to its first keyframe, and the B-frames after the last I/P "
        "frame of its end); at the full re-encode's speed that alone is "
        f"{share * total['exact_s']:.1f} s, {share * total['exact_cpu']:.1f} CPU s "
        f"({share * total['exact_cpu'] / total['copy_cpu']:.0f}x the stream copy's CPU).",
        "- Frames from outside the storyline: smart and full re-encode hold exactly the "
        "storyline's frames (0); stream copy widens every span to keyframes.",
        "",
    ]


ROW_SETS = {
    f"Montage: scenes of 1.5-8.5 s (mean {SCENE_SECONDS:g} s), the issue's bench": SCENE_SECONDS,
    f"Film scenes: 9-51 s (mean {FILM_SCENE_SECONDS:g} s), a second, separate row set": (
        FILM_SCENE_SECONDS
    ),
}


def main() -> None:
    from mediakit.cutting import Span, probe_duration

    film = build_film(MINUTES)
    duration = probe_duration(film)
    workdir = Path(tempfile.mkdtemp(prefix="exports-bench-"))
    lines = [
        "## Exports: smart cut vs stream copy vs full re-encode",
        "",
        f"`python -m bench.exports_bench` on `{film.name}` (10 min, 1280x720, 25 fps, "
        "keyframe every 2 s or at scene changes, B-frames, AAC 16 kHz mono); three storylines "
        "of pseudo-random scenes, each cut the three ways one after the other (so the ratios "
        "compare runs under the same load).",
        "",
    ]
    for title, seconds in ROW_SETS.items():
        rows = []
        for scenes in storylines(duration, scene_seconds=seconds):
            rows.append(cut_three_ways(film, [Span(a, b) for a, b in scenes], workdir))
            print(rows[-1], flush=True)
        lines += report(rows, title)
    lines.append(
        f"Load at the end {load_average()} on 2 cores shared with other jobs: wall-clock "
        "figures are rough, CPU seconds steadier."
    )
    body = "\n".join(lines)
    print(body)
    write_section("exports", body)


if __name__ == "__main__":
    main()
