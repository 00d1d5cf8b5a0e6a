"""Shot detection: accuracy on ``../shared/media/shots`` and speed on a 720p concatenation.

    python -m bench.shots            # accuracy + speed, writes the `shots` section of RESULTS.md
    BENCH_REPEAT=3 python -m bench.shots   # best of 3 timings (use on a quiet machine)

Accuracy: every clip of ``truth.json`` (and the spliced clips' own truth files) and the story
videos (``story/story_dev_NN.json``: scene starts and cuts inside scenes) scored with
``score.py``'s ``score_shots`` (±2 frames, a hit anywhere inside a gradual transition); the
variable-frame-rate clip is judged by time (±2 nominal frames), the same greedy matching. Our
default (the shots stage's whole pass with ``SCENE_DETECTOR``) against PySceneDetect's
``detect(path, ContentDetector())`` and ``detect(path, AdaptiveDetector())`` defaults.
``testvideo.mp4``'s truth is marked weak (regression goldens that ignore its fades): shown,
left out of the overall figures.

Speed, wall and CPU seconds (on a shared machine, compare the CPU seconds): the shared clips
scaled to 1280x720 at 25 fps and joined (cached in var/bench/), timed for ``ffmpeg -i F -f null
-``, PyAV decoding alone, PySceneDetect's default and our stage (the network loaded and run
once before, as in a worker that has analysed a video); the default stage also in a new
process with OpenMP's idle threads spinning (its own default) and passive (ours).
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from analysis.conf import setting
from bench.common import (
    CACHE,
    ROOT,
    best_of,
    ffmpeg,
    load_average,
    markdown_table,
    require_media,
    score_module,
    setup_django,
    write_section,
)
from mediakit.threads import prefer_passive_waits

CLIP_ORDER = [
    "bikes.mp4",
    "issue-134-rotate.mp4",
    "goldeneye-vfr-drop3.mp4",
    "spliced_s1_00.mp4",
    "spliced_s1_01.mp4",
    "spliced_s1_02.mp4",
    "cockatoo.mp4",
    "chaplin.mp4",
    "carphone_pristine.mp4",
    "testvideo.mp4",
]
STORY_CLIPS = ["story_dev_01.mp4", "story_dev_02.mp4"]  # every scene start and cut inside
REPEAT = int(os.environ.get("BENCH_REPEAT", "1"))


def our_cuts(path: Path, kind: str | None = None) -> tuple[list[int], list[float], dict[str, Any]]:
    """(cut frames, frame times, facts) from the shots stage's own pass with the settings:
    ``mediakit.shots.find_shots`` with the run's recorder as further consumers."""
    from analysis.pipeline.mediaconf import shots_config
    from analysis.pipeline.stages.shots import facts
    from mediakit.framepass import PassRecorder, PicturePlan
    from mediakit.probe import probe
    from mediakit.shots import find_shots

    info = probe(path)
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        recorder = PassRecorder(workdir, PicturePlan.for_video(info.duration))
        found = find_shots(
            path,
            shots_config({"scene_detector": kind}),
            recorder.consumers,
            fps=info.fps,
            expected_frames=info.frame_count,
            workdir=workdir,
        )
        recorder.save(found.frame_times)
    return [s.start_frame for s in found.shots][1:], found.frame_times, facts(found)


def scenedetect_cuts(path: Path, kind: str) -> list[int]:
    from scenedetect import AdaptiveDetector, ContentDetector, detect

    detector = ContentDetector() if kind == "content" else AdaptiveDetector()
    scenes = detect(str(path), detector)
    return [start.frame_num for start, _end in scenes][1:]


def frame_times(path: Path) -> list[float]:
    from mediakit.decode import iter_frames

    return [frame.time for frame in iter_frames(path)]


def clip_path(media: Path, name: str) -> Path:
    return media / ("story" if name in STORY_CLIPS else "shots") / name


def truth_for(media: Path, name: str) -> tuple[str | None, dict[str, Any]]:
    """(score.py truth argument, the truth entry) for clip ``name``."""
    if name in STORY_CLIPS:
        own = clip_path(media, name).with_suffix(".json")
        return str(own), json.loads(own.read_text())
    entry = json.loads((media / "truth.json").read_text())["shots"][f"shots/{name}"]
    own = media / "shots" / name.replace(".mp4", ".json")
    if own.exists():
        return str(own), entry
    if "cut_times_s" in entry:
        return None, entry
    return f"{media / 'truth.json'}#shots/{name}", entry


def result_json(cuts: list[int], times: list[float], fps: float) -> dict[str, Any]:
    """Our cuts in the original API's result shape (what score.py reads)."""
    starts = [0, *cuts]
    scenes = [
        {"id": i + 1, "start_frame": f, "start_time": round(times[f], 3)}
        for i, f in enumerate(starts)
    ]
    return {"metadata": {"fps": fps}, "storylines": [{"id": 1, "scenes": scenes}]}


def score_by_time(cut_times: list[float], truth: list[float], fps: float) -> dict[str, Any]:
    """score.py's greedy one-to-one matching, on seconds (±2 nominal frames)."""
    tol = 2 / fps
    used: set[float] = set()
    tp = 0
    for t in truth:
        near = [p for p in cut_times if abs(p - t) <= tol and p not in used]
        if near:
            used.add(min(near, key=lambda p: abs(p - t)))
            tp += 1
    prec = tp / len(cut_times) if cut_times else (1.0 if not truth else 0.0)
    rec = tp / len(truth) if truth else 1.0
    f1 = 2 * prec * rec / (prec + rec) if prec + rec else 0.0
    return {
        "tp": tp,
        "pred": len(cut_times),
        "truth": len(truth),
        "precision": round(prec, 3),
        "recall": round(rec, 3),
        "f1": round(f1, 3),
    }


def score_clip(media: Path, name: str, cuts: list[int], times: list[float]) -> dict[str, Any]:
    score = score_module()
    truth_arg, entry = truth_for(media, name)
    fps = len(times) / max(times[-1], 1e-6) if len(times) > 1 else 25.0
    if truth_arg is None:
        return score_by_time([times[c] for c in cuts], entry["cut_times_s"], fps)
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as handle:
        json.dump(result_json(cuts, times, fps), handle)
    try:
        return score.score_shots(handle.name, truth_arg)
    finally:
        os.unlink(handle.name)


def prf(tp: int, pred: int, truth: int) -> tuple[float, float, float]:
    p = tp / pred if pred else 1.0
    r = tp / truth if truth else 1.0
    return p, r, (2 * p * r / (p + r) if p + r else 0.0)


def accuracy(media: Path) -> tuple[str, dict[str, float]]:
    methods = ["ours", "content", "adaptive"]
    rows, totals = [], {m: [0, 0, 0] for m in methods}
    for name in [*CLIP_ORDER, *STORY_CLIPS]:
        path = clip_path(media, name)
        times = frame_times(path)
        found = {"ours": our_cuts(path)[0]}
        found["content"] = scenedetect_cuts(path, "content")
        found["adaptive"] = scenedetect_cuts(path, "adaptive")
        _arg, entry = truth_for(media, name)
        row: list[Any] = [name + (" (weak truth)" if entry.get("weak") else "")]
        for method in methods:
            s = score_clip(media, name, found[method], times)
            row.append(f"{s['precision']:.2f} / {s['recall']:.2f} / **{s['f1']:.2f}**")
            if not entry.get("weak"):
                for k, key in enumerate(("tp", "pred", "truth")):
                    totals[method][k] += s[key]
        row.append(", ".join(map(str, found["ours"])) or "none")
        rows.append(row)
        print(" | ".join(map(str, row)), flush=True)
    overall: dict[str, float] = {}
    last: list[Any] = ["**overall** (all but weak)"]
    for method in methods:
        p, r, f = prf(*totals[method])
        overall[method] = f
        last.append(f"{p:.3f} / {r:.3f} / **{f:.3f}**")
    rows.append([*last, ""])
    header = ["clip", "ours P / R / F1", "ContentDetector()", "AdaptiveDetector()", "our cuts"]
    return markdown_table(header, rows), overall


def concat_clip(media: Path) -> Path:
    """The shared clips at 1280x720, 25 fps, joined into one file (made once)."""
    target = CACHE / "shots_720p.mp4"
    if target.exists():
        return target
    CACHE.mkdir(parents=True, exist_ok=True)
    names = [n for n in CLIP_ORDER if (media / "shots" / n).exists()]
    inputs = [arg for n in names for arg in ("-i", str(media / "shots" / n))]
    scale = "".join(
        f"[{i}:v]scale=1280:720,setsar=1,fps=25,format=yuv420p[v{i}];" for i in range(len(names))
    )
    joined = "".join(f"[v{i}]" for i in range(len(names)))
    graph = f"{scale}{joined}concat=n={len(names)}:v=1:a=0[v]"
    ffmpeg(
        *inputs,
        "-filter_complex",
        graph,
        "-map",
        "[v]",
        "-c:v",
        "libx264",
        "-preset",
        "veryfast",
        "-crf",
        "20",
        str(target),
    )
    return target


def pyav_decode(path: Path) -> int:
    import av

    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        return sum(1 for _ in container.decode(stream))


def cpu_seconds() -> float:
    """CPU time of this process's threads and of its finished children."""
    own, children = (
        resource.getrusage(resource.RUSAGE_SELF),
        resource.getrusage(resource.RUSAGE_CHILDREN),
    )
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


# The default detector's pass in a fresh worker-like process, with torch loaded either before
# the wait policy is chosen (OpenMP's own default: idle threads spin) or after (passive).
CHILD = """
import json, sys, time
if sys.argv[2] == "spin":
    import torch  # the OpenMP runtime is loaded with the environment as it was
from bench.common import setup_django
setup_django()
from analysis.pipeline.mediaconf import transnet_config
from bench.shots import cpu_seconds, our_cuts
from mediakit.transnet.infer import warm_up
from pathlib import Path
warm_up(transnet_config())
cpu, wall = cpu_seconds(), time.perf_counter()
cuts, _times, facts = our_cuts(Path(sys.argv[1]), "combined")
print(json.dumps({"cpu": cpu_seconds() - cpu, "wall": time.perf_counter() - wall,
                  "cuts": cuts, "network_frames": facts["network_frames"]}))
"""


def combined_in_child(path: Path, waits: str) -> dict[str, Any]:
    """Our default stage's pass in a new process; ``waits``: "spin" or "passive"."""
    env = {k: v for k, v in os.environ.items() if k != "OMP_WAIT_POLICY"}
    done = subprocess.run(
        [sys.executable, "-c", CHILD, str(path), waits],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
        text=True,
    )
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def speed(media: Path) -> str:
    path = concat_clip(media)
    frames = pyav_decode(path)
    timings: list[tuple[str, float, float, str]] = []

    def add(label: str, fn: Any, note: str = "") -> None:
        cpu = cpu_seconds()
        seconds, _ = best_of(REPEAT, fn)
        timings.append((label, seconds, (cpu_seconds() - cpu) / REPEAT, note))
        print(f"{label}: {frames / seconds:.0f} frames/s", flush=True)

    null = ["ffmpeg", "-hide_banner", "-loglevel", "error", "-i", str(path), "-f", "null", "-"]
    add("`ffmpeg -i F -f null -` (decode floor)", lambda: subprocess.run(null, check=True))
    add("PyAV decode only, threaded (decode floor)", lambda: pyav_decode(path))
    add("PySceneDetect `detect(F, ContentDetector())`", lambda: scenedetect_cuts(path, "content"))
    facts: dict[str, Any] = {}

    def ours(kind: str) -> None:
        facts[kind] = our_cuts(path, kind)[2]

    # Models are loaded once per worker: time the work, not the first load.
    from analysis.pipeline.mediaconf import transnet_config
    from mediakit.transnet.infer import warm_up

    warm_up(transnet_config())
    for kind in ("content", "combined", "transnetv2"):
        add(f"our shots stage, `{kind}`", lambda kind=kind: ours(kind))
    cuts = {}
    for waits in ("spin", "passive"):
        child = combined_in_child(path, waits)
        cuts[waits] = child["cuts"]
        label = f"our shots stage, `combined`, new process, OpenMP threads {waits}"
        note = f"network saw {child['network_frames']} frames"
        timings.append((label, child["wall"], child["cpu"], note))
    same = "the same cuts" if cuts["spin"] == cuts["passive"] else "**different cuts**"
    floor, floor_cpu = timings[1][1], timings[1][2]
    rows = []
    for label, seconds, cpu, note in timings:
        kind = label.split("`")[-2] if label.startswith("our") else ""
        net = facts.get(kind, {}).get("network_frames")
        extra = note or (f"network saw {net} frames" if net else "")
        rows.append(
            [
                label,
                f"{frames / seconds:.0f}",
                f"{seconds:.2f}",
                f"{seconds / floor:.2f}x",
                f"{cpu:.2f}",
                f"{cpu / floor_cpu:.2f}x",
                extra,
            ]
        )
    header = ["what", "frames/s", "wall s", "vs PyAV floor", "CPU s", "CPU vs floor", "notes"]
    ratio = next(seconds for label, seconds, *_ in timings if "`combined`" in label) / floor
    verdict = f"{'**met**' if ratio <= 1.5 else '**missed**'} ({ratio:.2f}x wall)"
    return (
        f"{frames} frames, 1280x720\n\n{markdown_table(header, rows)}\n\n"
        f"Target, the default (`combined`) within 1.5x of the PyAV floor: {verdict}. "
        f"Waiting OpenMP threads spinning or passive: {same}."
    )


def main() -> None:
    media = require_media()
    prefer_passive_waits()  # as the worker does, before anything loads torch
    setup_django()

    started_load = load_average()
    print(f"load average {started_load}", flush=True)
    table, overall = accuracy(media)
    speed_table = speed(media)
    body = f"""## shots

`python -m bench.shots` (`BENCH_REPEAT=3` for best-of-3 timings). Machine: {os.cpu_count()} CPU
cores, no GPU; load average at the start {started_load}, at the end {load_average()}
(timings are best-of-{REPEAT}; on this shared machine the wall times move a lot from run to
run, the CPU seconds much less). Our default:
`SCENE_DETECTOR={setting("SCENE_DETECTOR")}`, `MIN_SCENE_SECONDS={setting("MIN_SCENE_SECONDS")}`.

### Accuracy: precision / recall / F1 (score.py, ±2 frames; goldeneye by time)

The shot clips and the two story videos (every scene start and every cut inside a scene).

{table}

Overall F1: ours {overall["ours"]:.3f}, ContentDetector {overall["content"]:.3f},
AdaptiveDetector {overall["adaptive"]:.3f}.

### Speed on the shared clips joined at 720p

{speed_table}
"""
    write_section("shots", body)
    print(body)


if __name__ == "__main__":
    main()
