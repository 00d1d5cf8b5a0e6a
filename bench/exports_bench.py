"""Storyline cuts of the 10-minute 720p bench film: smart cut vs stream copy vs full re-encode.

    python -m bench.exports_bench

The film is the pipeline benchmark's (``bench.pipeline_bench.build_film``: shared clips at
1280x720, 25 fps, a keyframe every 2 s, AAC sound). Its scenes are cut at pseudo-random times
(seeded; 0.3x to 1.7x of 5 s, as ``frontend.seeding`` makes them) and dealt into three
interleaving storylines, so every span starts and ends between keyframes. Each storyline is cut
three ways with ``mediakit``; the figures are seconds (one run each: the machine is shared, the
load is written next to them) and the frames from outside the storyline in each cut (smart and
full re-encode: the cut's frame count minus the storyline's; copy: its widening to keyframes).
"""

from __future__ import annotations

import random
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.common import load_average, markdown_table, write_section
from bench.pipeline_bench import build_film

MINUTES = 10.0
SCENE_SECONDS = 5.0
STORYLINES = 3
FPS = 25
COUNT_FRAMES = ["ffprobe", "-v", "error", "-select_streams", "v:0", "-count_packets"]
COUNT_FRAMES += ["-show_entries", "stream=nb_read_packets", "-of", "csv=p=0"]


def storylines(duration: float, seed: int = 16) -> list[list[tuple[float, float]]]:
    """Scenes of 0.3x to 1.7x ``SCENE_SECONDS`` (cut on frames), dealt round-robin-ish."""
    rng = random.Random(seed)
    bounds, at = [0.0], 0.0
    while at < duration - 2 * SCENE_SECONDS:
        at += round(SCENE_SECONDS * rng.uniform(0.3, 1.7) * FPS) / FPS
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


def cut_three_ways(film: Path, spans: list[Any], workdir: Path) -> dict[str, Any]:
    from mediakit import cutting, smartcut

    wanted = sum(round(s.end * FPS) - round(s.start * FPS) for s in spans)
    row: dict[str, Any] = {"scenes": len(spans), "seconds": wanted / FPS}

    def quiet(fraction: float, message: str) -> None:
        pass

    runs = {
        "smart": lambda out, d: smartcut.smart_cut(film, spans, out, d, quiet, has_audio=True),
        "copy": lambda out, d: cutting.cut_copy(film, spans, out, d, quiet),
        "exact": lambda out, d: cutting.cut_exact(
            film, spans, out, d, quiet, has_audio=True, encoder="libx264"
        ),
    }
    for name, run in runs.items():
        folder = Path(tempfile.mkdtemp(dir=workdir))
        out = folder / "cut.mp4"
        began = time.perf_counter()
        result = run(out, folder)
        row[f"{name}_s"] = time.perf_counter() - began
        row[f"{name}_outside"] = frames(out) - wanted
        if name == "smart":
            row["copied_s"] = sum(p.count for p in result.pieces if p.copy) / FPS
    return row


def report(rows: list[dict[str, Any]], film: Path) -> str:
    header = ["storyline", "scenes", "length s", "smart s", "copy s", "full re-encode s"]
    header += ["smart / copy", "re-encode / smart", "outside frames smart / copy / full"]
    table = []
    for n, r in enumerate(rows, start=1):
        table.append(
            [
                n,
                r["scenes"],
                f"{r['seconds']:.1f}",
                f"{r['smart_s']:.1f} ({r['copied_s']:.0f} s copied)",
                f"{r['copy_s']:.1f}",
                f"{r['exact_s']:.1f}",
                f"{r['smart_s'] / r['copy_s']:.1f}x",
                f"{r['exact_s'] / r['smart_s']:.1f}x",
                f"{r['smart_outside']} / {r['copy_outside']} / {r['exact_outside']}",
            ]
        )
    smart = sum(r["smart_s"] for r in rows)
    copy = sum(r["copy_s"] for r in rows)
    exact = sum(r["exact_s"] for r in rows)
    within = "met" if smart <= 2 * copy else "NOT met"
    faster = "met" if exact >= 5 * smart else "NOT met"
    return "\n".join(
        [
            "## Exports: smart cut vs stream copy vs full re-encode",
            "",
            f"`python -m bench.exports_bench` on `{film.name}` (10 min, 1280x720, 25 fps, "
            f"keyframe every 2 s); three storylines of pseudo-random scenes; load {load_average()}"
            " (a machine shared by other jobs).",
            "",
            markdown_table(header, table),
            "",
            f"- Totals: smart {smart:.1f} s, copy {copy:.1f} s, full re-encode {exact:.1f} s.",
            f"- Smart cut within 2x of stream copy: **{within}** ({smart / copy:.1f}x); at least"
            f" 5x faster than a full re-encode: **{faster}** ({exact / smart:.1f}x).",
            "- Frames from outside the storyline: smart and full re-encode hold exactly the "
            "storyline's frames (0); stream copy widens every span to keyframes.",
        ]
    )


def main() -> None:
    from mediakit.cutting import Span, merge_spans, probe_duration

    film = build_film(MINUTES)
    duration = probe_duration(film)
    workdir = Path(tempfile.mkdtemp(prefix="exports-bench-"))
    rows = []
    for scenes in storylines(duration):
        spans = merge_spans([Span(a, b) for a, b in scenes])
        rows.append(cut_three_ways(film, spans, workdir))
        print(rows[-1], flush=True)
    body = report(rows, film)
    print(body)
    write_section("exports", body)


if __name__ == "__main__":
    main()
