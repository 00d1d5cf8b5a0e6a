"""The default storyline runs on every story video, fast: ``python -m bench.story_quick``.

For trying a grouping change: the analyses ``bench.eval_story`` stored are read once and their
grouping inputs kept in ``var/story_eval/inputs.pkl`` (``STORY_QUICK_RELOAD=1`` reads them
again), then the default grouping with the true number of storylines and with the automatic
number is planned for every video and scored per frame the way the shared ``score.py`` scores
(adjusted Rand index). Nothing is written to ``bench/RESULTS.md``: ``make eval`` does that.
With ``STORY_EVAL_EXTRA=1`` (when loading) the extra videos of ``story_configs/extra`` are read
too; their mean is printed apart from the main videos'.
"""

from __future__ import annotations

import os
import pickle
import sys
from typing import Any

from bench.eval_story import labels_of, setup_django, truth_of
from bench.story_videos import BUILD, EXTRA, all_videos

CACHE = BUILD / "inputs.pkl"


def load_inputs() -> dict[str, tuple[Any, Any, dict[str, Any]]]:
    """Video name -> (nodes, external signals, truth), from the database or the cache."""
    if CACHE.exists() and os.environ.get("STORY_QUICK_RELOAD") != "1":
        with CACHE.open("rb") as handle:
            cached: dict[str, tuple[Any, Any, dict[str, Any]]] = pickle.load(handle)
        return cached
    setup_django()
    from analysis.models import Analysis
    from story.constraints import scene_nodes
    from story.external import load_external

    out = {}
    for video in all_videos():
        import hashlib

        sha = hashlib.sha256(video.video.read_bytes()).hexdigest()
        analysis = (
            Analysis.objects.filter(video__sha256=sha, status="completed")
            .order_by("-created_at")
            .first()
        )
        if analysis is None:
            print(f"{video.name}: no completed analysis (run make eval first)", file=sys.stderr)
            continue
        out[video.name] = (scene_nodes(analysis), load_external(analysis), truth_of(video))
    if len(out) == len(all_videos()):  # kept only when every video is there
        with CACHE.open("wb") as handle:
            pickle.dump(out, handle)
    return out


def frame_ari(nodes: list[Any], labels: list[int], truth: dict[str, Any]) -> float:
    """Per-frame adjusted Rand index, as the shared ``score.py`` computes it."""
    from math import comb

    fps = float(truth.get("fps", 25))
    true: list[Any] = [None] * truth["frames"]
    for scene in truth["scenes"]:
        true[scene["start_frame"] : scene["end_frame"]] = [scene["storyline"]] * (
            scene["end_frame"] - scene["start_frame"]
        )
    pred: list[Any] = ["none"] * len(true)
    for node, label in zip(nodes, labels, strict=True):
        if label >= 0:
            a, b = round(node.start_time * fps), round(node.end_time * fps)
            pred[max(0, a) : min(len(true), b)] = [label] * (min(len(true), b) - max(0, a))
    from collections import Counter

    pairs, sa, sb = Counter(zip(true, pred, strict=True)), Counter(true), Counter(pred)
    index = sum(comb(v, 2) for v in pairs.values())
    ea, eb = sum(comb(v, 2) for v in sa.values()), sum(comb(v, 2) for v in sb.values())
    expected = ea * eb / comb(len(true), 2)
    top = (ea + eb) / 2
    return (index - expected) / (top - expected) if top != expected else 1.0


def run(name: str, data: tuple[Any, Any, dict[str, Any]], wanted: int | None) -> Any:
    from story.grouping import GroupingInput, plan_grouping

    nodes, ext, _truth = data
    inp = GroupingInput(nodes=nodes, ext=ext, wanted=wanted, use_llm=False)
    return plan_grouping(inp)


def main() -> None:
    setup_django()
    inputs = load_inputs()
    extra = {p.stem for p in EXTRA.glob("*.json")}
    means: dict[str, list[float]] = {"given": [], "auto": [], "extra given": [], "extra auto": []}
    for name, data in inputs.items():
        nodes, _ext, truth = data
        cells = []
        for mode, wanted in (("given", len(truth["storylines"])), ("auto", None)):
            plan = run(name, data, wanted)
            score = frame_ari(nodes, labels_of(plan, len(nodes)), truth)
            means[f"extra {mode}" if name in extra else mode].append(score)
            cells.append(f"{mode} {score:.3f} ({plan.metadata['num_storylines']})")
            if mode == "given":
                names = [s.name for s in plan.storylines if s.positions]
        print(f"{name:14s} " + "  ".join(cells) + f"  names {names}", flush=True)
    print(" ".join(f"mean {m} {sum(v) / len(v):.3f}" for m, v in means.items() if v))


if __name__ == "__main__":
    main()
