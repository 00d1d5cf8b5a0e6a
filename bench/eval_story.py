"""Storyline evaluation on every story video: ``python -m bench.eval_story`` (``make eval``).

The videos are the two shared ones (``../shared/media/story``) and our own hard cases built
from ``bench/story_configs`` (``bench.story_videos``): storylines that change place, two in one
place, one narrator for two, Russian, scenes without speech, two and four storylines. Each video
is analysed once by the whole pipeline and kept in the database (``var/`` media): a later run
re-uses it, and re-runs only the stages whose code changed (the storylines stage when the code
that measures scene signals changed, the transcript and what follows it when the speech code did;
``STORY_EVAL_FRESH=1`` re-runs everything, ``STORY_EVAL_REUSE=1`` nothing).
Grouping variants (the true number of storylines given, the automatic number, single
signals, each signal left out, time-only and colour-only baselines) are re-planned from the
stored signals, the way an editor's regroup is.
Scores are the shared ``score.py`` (per-frame adjusted Rand index). Writes the ``story`` section
of ``bench/RESULTS.md``; ``STORY_EVAL_VIDEOS=a,b`` limits the videos (the section is then only
printed).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

from bench.story_videos import MEDIA, ROOT, StoryVideo, all_videos

RESULTS = ROOT / "bench" / "RESULTS.md"
START, END = "<!-- story:start -->", "<!-- story:end -->"
# Code whose change means the stored scene signals are stale: the storylines stage is re-run.
SIGNAL_CODE = ("story/features.py", "story/stages.py", "story/text.py")
# Code whose change means the transcript (and what is built on it) is stale.
SPEECH_CODE = (
    "analysis/pipeline/stages/transcript.py",
    "analysis/pipeline/speech",
    "people/voices.py",
)
SPEECH_STAGES = ("transcript", "speakers", "scene_index", "storylines")
SIGNALS = (
    "characters",
    "speakers",
    "voiceprint",
    "voice",
    "transcript",
    "keywords",
    "dialogue",
    "language",
    "visual",
    "colour",
    "objects",
    "motion",
    "time",
)


def setup_django() -> None:
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "videoanalyzer.settings")
    import django

    django.setup()


def score(result: dict[str, Any], truth: Path) -> dict[str, Any]:
    """The shared scorer on ``result`` (the original result shape)."""
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as handle:
        json.dump(result, handle)
    try:
        out = subprocess.run(
            [sys.executable, str(MEDIA / "score.py"), "story", handle.name, str(truth)],
            check=True,
            capture_output=True,
            text=True,
        )
    finally:
        os.unlink(handle.name)
    return json.loads(out.stdout)


def code_version(paths: tuple[str, ...]) -> str:
    files = sorted(
        f for p in paths for f in ((ROOT / p).rglob("*.py") if (ROOT / p).is_dir() else [ROOT / p])
    )
    text = "".join(f.read_text() for f in files if f.exists())
    return hashlib.sha1(text.encode()).hexdigest()[:12]


def stale_stages(analysis: Any) -> set[str]:
    """Stages to run again because the code their results come from changed."""
    stale: set[str] = set()
    if analysis.metadata.get("eval_speech") != code_version(SPEECH_CODE):
        stale.update(SPEECH_STAGES)
    if analysis.metadata.get("eval_signals") != code_version(SIGNAL_CODE):
        stale.add("storylines")
    return stale


def cached_analysis(owner: Any, video: StoryVideo) -> tuple[Any, float | None]:
    """A completed analysis of ``video`` with current signals; (analysis, pipeline seconds)."""
    from analysis import services
    from analysis.models import Analysis
    from analysis.pipeline.runner import analysis_execute

    sha = hashlib.sha256(video.video.read_bytes()).hexdigest()
    fresh = os.environ.get("STORY_EVAL_FRESH") == "1"
    found = (
        Analysis.objects.filter(video__owner=owner, video__sha256=sha)
        .exclude(status__in=["queued", "running"])  # another eval process may be on it
        .order_by("-created_at")
        .first()
    )
    if found is not None and not fresh:
        reuse = os.environ.get("STORY_EVAL_REUSE") == "1"  # e.g. to score older grouping code
        stale = set() if reuse else stale_stages(found)
        if found.status == "completed" and not stale:
            return found, None
        found.completed_stages = [s for s in found.completed_stages if s not in stale]
        found.status, found.error = "queued", ""  # a failed run resumes after its done stages
        found.save(update_fields=["completed_stages", "status", "error"])
        analysis = found
    else:
        v = services.video_create_from_path(owner=owner, path=video.video)
        analysis = services.analysis_start(video=v, parameters={}, enqueue=False)
    started = time.perf_counter()
    done = analysis_execute(analysis_id=analysis.id)
    seconds = time.perf_counter() - started
    if done is None or done.status != "completed":
        raise SystemExit(f"{video.name}: analysis failed: {done.error if done else 'not run'}")
    versions = {"eval_signals": code_version(SIGNAL_CODE), "eval_speech": code_version(SPEECH_CODE)}
    done.metadata = {**done.metadata, **versions}
    done.save(update_fields=["metadata"])
    return done, seconds


def truth_of(video: StoryVideo) -> dict[str, Any]:
    return json.loads(video.truth.read_text())


def result_of(nodes: list[Any], labels: list[int], fps: float) -> dict[str, Any]:
    """The original result shape for per-node labels (-1: in no storyline)."""
    groups: dict[int, list[dict[str, Any]]] = {}
    for node, label in zip(nodes, labels, strict=True):
        if label >= 0:
            groups.setdefault(label, []).append(
                {
                    "id": f"scene_{node.index + 1}",
                    "start_time": node.start_time,
                    "end_time": node.end_time,
                    "start_frame": round(node.start_time * fps),
                    "end_frame": round(node.end_time * fps),
                }
            )
    return {
        "storylines": [{"id": f"s{k}", "scenes": g} for k, g in sorted(groups.items())],
        "metadata": {"fps": fps},
    }


def plan(
    analysis: Any,
    nodes: list[Any],
    wanted: int | None,
    weights: dict[str, float] | None,
    trust: bool = True,
    continuity: bool = True,
    merge: bool = True,
) -> Any:
    """``plan_grouping`` as the stage runs it (no language model); ``weights``: a custom preset;
    ``trust``: weigh signals by their separation on this video (the default)."""
    from story.constraints import grouping_input
    from story.grouping import plan_grouping
    from story.presets import PRESETS

    inp = grouping_input(analysis, nodes, wanted, None)
    inp.use_llm = False
    inp.trust, inp.continuity, inp.merge = trust, continuity, merge
    if weights is not None:
        PRESETS["_eval"] = weights
        inp.preset = "_eval"
    try:
        return plan_grouping(inp)
    finally:
        PRESETS.pop("_eval", None)


def labels_of(grouping: Any, n: int) -> list[int]:
    labels = [-1] * n
    for s in grouping.storylines:
        for p in s.positions:
            labels[p] = s.order
    return labels


def time_labels(nodes: list[Any], k: int) -> list[int]:
    """Baseline: ``k`` contiguous blocks by k-means on the scenes' middle times."""
    import numpy as np

    from story.cluster import kmeans

    middle = np.array([[(n.start_time + n.end_time) / 2] for n in nodes])
    return [int(x) for x in kmeans(middle / middle.max(), k)]


def ceiling_labels(nodes: list[Any], truth: dict[str, Any], fps: float) -> list[int]:
    """Each detected scene labelled with the true storyline covering most of its frames."""
    frame = {
        f: s["storyline"] for s in truth["scenes"] for f in range(s["start_frame"], s["end_frame"])
    }
    keys = sorted(truth["storylines"])
    out = []
    for n in nodes:
        votes = Counter(
            frame.get(f) for f in range(round(n.start_time * fps), round(n.end_time * fps))
        )
        best = votes.most_common(1)[0][0]
        out.append(keys.index(best) if best in keys else -1)
    return out


def default_weights() -> dict[str, float]:
    from story.presets import PRESETS

    return dict(PRESETS["film"])


def evaluate(video: StoryVideo, analysis: Any) -> dict[str, Any]:
    """Every run on one video: {run name: (ARI, storylines found)} plus names and facts."""
    from story.constraints import scene_nodes

    truth = truth_of(video)
    fps = float(truth.get("fps", 25))
    k = len(truth["storylines"])
    nodes = scene_nodes(analysis)
    runs: dict[str, tuple[float, int]] = {}

    def add(name: str, labels: list[int]) -> None:
        runs[name] = (
            score(result_of(nodes, labels, fps), video.truth)["ari"],
            len(set(labels) - {-1}),
        )

    started = time.perf_counter()
    given = plan(analysis, nodes, k, None)
    grouping_s = time.perf_counter() - started
    auto = plan(analysis, nodes, None, None)
    add("default, k given", labels_of(given, len(nodes)))
    add("default, automatic k", labels_of(auto, len(nodes)))
    add(
        "default without voice merges, automatic k",
        labels_of(plan(analysis, nodes, None, None, merge=False), len(nodes)),
    )
    add(
        "default without signal trust, k given",
        labels_of(plan(analysis, nodes, k, None, False), len(nodes)),
    )
    place_2 = {**default_weights(), "visual": 2.0, "colour": 2.0}  # the look weighed as before
    add(
        "default with place at 2.0 (before), k given",
        labels_of(plan(analysis, nodes, k, place_2), len(nodes)),
    )
    add(
        "default with place at 2.0 (before), automatic k",
        labels_of(plan(analysis, nodes, None, place_2), len(nodes)),
    )
    new = ("voiceprint", "language", "dialogue")
    before = {s: w for s, w in place_2.items() if s not in new}
    add(
        "before issue 18 (no voice prints, language, continuity, trust, merges), k given",
        labels_of(plan(analysis, nodes, k, before, False, False, False), len(nodes)),
    )
    add(
        "before issue 18, automatic k",
        labels_of(plan(analysis, nodes, None, before, False, False, False), len(nodes)),
    )
    add("baseline: time only", time_labels(nodes, k))
    colour = {"colour": 1.0}
    add(
        "baseline: colour only",
        labels_of(plan(analysis, nodes, k, colour, False, False, False), len(nodes)),
    )
    add("ceiling: detected scenes, true labels", ceiling_labels(nodes, truth, fps))
    base = default_weights()
    for signal in given.metadata["signals"]:
        add(f"only {signal}", labels_of(plan(analysis, nodes, k, {signal: 1.0}), len(nodes)))
        without = {s: w for s, w in base.items() if s != signal}
        add(f"without {signal}", labels_of(plan(analysis, nodes, k, without), len(nodes)))
    return {
        "runs": runs,
        "review": review_quality(nodes, truth, given, fps),
        "names": names_table(video, truth, nodes, given, fps),
        "meta": given.metadata,
        "auto_meta": auto.metadata,
        "scenes": len(nodes),
        "grouping_s": grouping_s,
    }


def review_quality(nodes: list[Any], truth: dict[str, Any], grouping: Any, fps: float) -> str:
    """Flagged scenes vs wrongly placed ones (a scene is wrong when its storyline's majority
    true storyline is not its own)."""
    true = ceiling_labels(nodes, truth, fps)
    wrong = set()
    for s in grouping.storylines:
        votes = Counter(true[p] for p in s.positions)
        if votes:
            majority = votes.most_common(1)[0][0]
            wrong |= {p for p in s.positions if true[p] != majority}
    flagged = {i for i, c in enumerate(grouping.scenes) if c and c["needs_review"]}
    return f"{len(flagged)} flagged, {len(wrong)} wrong, {len(flagged & wrong)} wrong flagged"


def speed(scenes: int = 1500, k: int = 5, given: bool = True) -> tuple[float, float]:
    """Wall-clock and CPU seconds of one grouping of ``scenes`` synthetic scenes with every
    kind of signal (on a loaded machine the CPU seconds are the fairer figure: the grouping
    runs on one thread, so on an idle core its wall-clock time is its CPU time)."""
    import numpy as np

    from story.external import ExternalSignals
    from story.graph import SceneNode
    from story.grouping import GroupingInput, plan_grouping

    rng = np.random.default_rng(0)
    story = rng.integers(0, k, scenes)
    centres = {
        name: rng.normal(0, 1, (k, size))
        for name, size in (("c", 144), ("v", 19), ("t", 512), ("p", 256))
    }

    def vec(name: str, i: int) -> list[float]:
        return (centres[name][story[i]] + rng.normal(0, 0.8, centres[name].shape[1])).tolist()

    nodes = [
        SceneNode(
            i + 1,
            i,
            4.0 * i,
            4.0 * i + 4,
            {
                "colour": vec("c", i),
                "voice": vec("v", i),
                "text_vector": vec("t", i),
                "words": [f"w{story[i]}_{j}" for j in rng.integers(0, 5, 4)],
                "language": "en",
                "motion": float(rng.random()),
                "continues": bool(rng.random() < 0.3),
            },
        )
        for i in range(scenes)
    ]
    ext = ExternalSignals(voiceprints={n.pk: vec("p", n.index) for n in nodes})
    started, cpu = time.perf_counter(), time.process_time()
    plan_grouping(GroupingInput(nodes=nodes, ext=ext, wanted=k if given else None, use_llm=False))
    return time.perf_counter() - started, time.process_time() - cpu


SPEED_RUNS = 3


def speed_report(runs: int = SPEED_RUNS) -> str:
    """``runs`` groupings of 1,500 synthetic scenes: CPU and wall-clock seconds of each, with
    the machine's load average before and after (other jobs share the 2 cores)."""
    import statistics

    before = os.getloadavg()
    speed(300)  # imports and first calls out of the measurement
    lines = []
    for given, mode in ((True, "k given"), (False, "automatic k")):
        timings = [speed(given=given) for _ in range(runs)]
        cpu = statistics.median(c for _w, c in timings)
        wall = statistics.median(w for w, _c in timings)
        each = ", ".join(f"{c:.2f} CPU-s / {w:.1f} s" for w, c in timings)
        lines.append(
            f"- {mode}: median **{cpu:.2f} CPU-seconds** (one thread: the time on an idle "
            f"core), median {wall:.1f} s wall-clock on the shared machine ({each})"
        )
    after = os.getloadavg()
    return (
        f"Grouping 1,500 synthetic scenes (5 storylines, every signal), {runs} runs each; load "
        f"average {before[0]:.1f} before, {after[0]:.1f} after, on {os.cpu_count()} cores:\n\n"
        + "\n".join(lines)
    )


def names_table(
    video: StoryVideo, truth: dict[str, Any], nodes: list[Any], grouping: Any, fps: float
):
    """(name given, the true storyline most of its frames belong to, that storyline's story)."""
    keys = sorted(truth["storylines"])
    true = ceiling_labels(nodes, truth, fps)
    rows = []
    for s in grouping.storylines:
        if not s.positions:
            continue
        frames: Counter[int] = Counter()
        for p in s.positions:
            frames[true[p]] += nodes[p].end_time - nodes[p].start_time
        label = keys[frames.most_common(1)[0][0]] if frames.most_common(1)[0][0] >= 0 else "?"
        rows.append([s.name, label, video.storylines.get(label, "")])
    return rows


def table(rows: list[list[Any]], head: list[str]) -> str:
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def write_section(body: str) -> None:
    text = RESULTS.read_text() if RESULTS.exists() else "# Benchmark results\n"
    section = f"{START}\n{body}\n{END}"
    if START in text:
        text = re.sub(
            re.escape(START) + r".*?" + re.escape(END), lambda _m: section, text, flags=re.S
        )
    else:
        text = text.rstrip() + "\n\n" + section + "\n"
    RESULTS.write_text(text)


def report(
    videos: list[StoryVideo], results: dict[str, dict[str, Any]], pipeline_s: dict[str, Any]
) -> str:
    names = [v.name for v in videos]
    first = [r for r in results[names[0]]["runs"]]
    order = first + sorted({r for n in names for r in results[n]["runs"]} - set(first))
    rows = []
    for run in order:
        cells = [results[n]["runs"].get(run) for n in names]
        scores = [c[0] for c in cells if c]
        mean = f"{sum(scores) / len(scores):.3f}" if len(scores) == len(names) else "-"
        shown = [f"{c[0]:.3f} ({c[1]})" if c else "-" for c in cells]
        bold = run.startswith("default")
        rows.append([f"**{run}**" if bold else run, *shown, f"**{mean}**" if bold else mean])
    lines = [
        "## story",
        "",
        "`python -m bench.eval_story` (`make eval`): every story video, 2 CPU cores, no GPU, no "
        "language model; default settings (preset chosen automatically). Per-frame adjusted Rand "
        "index by the shared `score.py`, storylines found in brackets. `k given`: the true number "
        "of storylines asked for; `automatic k`: none asked. `only X` / `without X`: the graph of "
        "one signal / of every signal but X (k given). Videos other than `story_dev_*` are built "
        "by `bench/story_videos.py` from `bench/story_configs/` with the shared `make_story.py`.",
        "",
        table(rows, ["run", *names, "mean"]),
        "",
        "| video | what makes it hard | scenes (truth / detected) | pipeline s | grouping s |",
        "|---|---|---|---|---|",
    ]
    for v in videos:
        r = results[v.name]
        p = pipeline_s.get(v.name)
        lines.append(
            f"| {v.name} | {v.about} | {len(truth_of(v)['scenes'])} / {r['scenes']} | "
            f"{f'{p:.1f}' if p else 'cached'} | {r['grouping_s']:.2f} |"
        )
    lines += ["", "Review list (k given): scenes flagged for review vs scenes placed wrongly:", ""]
    lines += [f"- {v.name}: {results[v.name]['review']}" for v in videos]
    lines += [
        "",
        "Storyline names (k given) beside the storyline most of their frames belong to:",
        "",
    ]
    name_rows = [[v.name, *row] for v in videos for row in results[v.name]["names"]]
    lines.append(table(name_rows, ["video", "name given", "truth", "what the truth storyline is"]))
    lines.append("")
    for v in videos:
        meta, auto = results[v.name]["meta"], results[v.name]["auto_meta"]
        crit = auto.get("criterion", {})
        lines.append(
            f"- {v.name}: preset {meta.get('preset')}; trust "
            f"{ {n: t['trust'] for n, t in meta.get('trust', {}).items()} }; weights "
            f"{meta.get('weights')}; automatic "
            f"k {auto.get('num_storylines')} by {crit.get('method')} "
            f"{crit.get('scores') or crit.get('silhouettes')}, then "
            f"{len(crit.get('merged', []))} merge(s) of groups one voice runs through"
        )
    return "\n".join(lines)


def main() -> None:
    only = [s for s in os.environ.get("STORY_EVAL_VIDEOS", "").split(",") if s]
    videos = all_videos(only or None)
    setup_django()
    from django.contrib.auth import get_user_model
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    owner, _ = get_user_model().objects.get_or_create(username="bench-story")
    results, pipeline_s = {}, {}
    for video in videos:
        analysis, seconds = cached_analysis(owner, video)
        pipeline_s[video.name] = seconds
        results[video.name] = evaluate(video, analysis)
        print(
            video.name,
            {k: v for k, v in results[video.name]["runs"].items() if "default" in k},
            flush=True,
        )
    body = report(videos, results, pipeline_s) + "\n\n" + speed_report()
    if not only:
        write_section(body)
    print(body)


if __name__ == "__main__":
    main()
